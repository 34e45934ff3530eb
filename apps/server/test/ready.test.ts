// Issue #7: the "liftbridge server listening" line (readiness) and a CreateStream answer come only
// once every partition this server leads is subscribed at the NATS server, so the first plain NATS
// publish after either is stored. With -p 0 the advertised port is the bound one.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { type DelayProxy, freePort, startDelayProxy } from "@liftbridge/testkit";
import { connect, type NatsConnection } from "nats";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { apiClient, readAll, type ServerProcess, startServer, unary } from "./helpers.js";

// Required: CI installs Debian's nats-server (in /usr/sbin); a missing binary fails, never skips.
const NATS_BIN = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";

async function connectWhenUp(url: string): Promise<NatsConnection> {
  const end = Date.now() + 20_000;
  for (;;) {
    const nc = await connect({ servers: url }).catch(() => undefined);
    if (nc !== undefined) return nc;
    if (Date.now() > end) throw new Error(`no NATS server at ${url}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Streams recovered at every restart: one partition subject each, two on a 2-partition stream. */
const STREAMS = [
  { name: "a", subject: "ra", partitions: 1 },
  { name: "b", subject: "rb", partitions: 2 },
];
const SUBJECTS: [stream: string, partition: number, subject: string][] = [
  ["a", 0, "ra"],
  ["b", 0, "rb"],
  ["b", 1, "rb.1"],
];
const RESTARTS = 3;

interface Case {
  /** Server flags selecting NATS; `publisherUrl` is where plain publishers connect. */
  natsArgs: string[];
  publisherUrl: string;
  /**
   * Whether the NATS server outlives the Liftbridge server, so one publisher connection serves the
   * whole test. Embedded NATS restarts with it: a fresh publisher connects after each ready line.
   */
  externalNats: boolean;
  close(): Promise<void>;
}

async function embeddedCase(): Promise<Case> {
  const natsPort = await freePort();
  return {
    natsArgs: ["--embedded-nats-port", String(natsPort)],
    publisherUrl: `nats://127.0.0.1:${natsPort}`,
    externalNats: false,
    close: async () => {},
  };
}

/** Debian's nats-server; the server reaches it through a link delaying its traffic by 30 ms. */
async function debianBehindSlowLinkCase(): Promise<Case> {
  const port = await freePort();
  const proc: ChildProcess = spawn(NATS_BIN, ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  const url = `nats://127.0.0.1:${port}`;
  await (await connectWhenUp(url)).close();
  const proxy: DelayProxy = await startDelayProxy(port, 30);
  return {
    natsArgs: ["-n", `nats://127.0.0.1:${proxy.port}`],
    publisherUrl: url,
    externalNats: true,
    close: async () => {
      await proxy.close();
      proc.kill("SIGTERM");
      await new Promise((r) => (proc.exitCode !== null ? r(undefined) : proc.once("exit", r)));
    },
  };
}

describe.each([
  ["embedded NATS", embeddedCase],
  ["Debian's nats-server behind a 30 ms link", debianBehindSlowLinkCase],
])("readiness on %s", (_name, makeCase) => {
  let dir: string;
  let c: Case;
  let servers: ServerProcess[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "lb-ready-"));
    c = await makeCase();
    servers = [];
  });
  afterEach(async () => {
    for (const s of servers) if (s.proc.exitCode === null) s.proc.kill("SIGKILL");
    await c.close();
    await rm(dir, { recursive: true, force: true });
  });
  const start = async () => {
    const s = await startServer(["--raft-bootstrap-seed", "-d", dir, "-p", "0", ...c.natsArgs]);
    servers.push(s);
    return s;
  };
  const stop = async (s: ServerProcess) => {
    s.proc.kill("SIGTERM");
    expect(await s.exited).toBe(0);
  };

  it("the first plain NATS publishes after CreateStream and after each restart's ready line are stored", async () => {
    const shared = c.externalNats ? await connectWhenUp(c.publisherUrl) : undefined;
    let fresh: NatsConnection | undefined;
    /** The publisher for the server that just reported ready. */
    const publisher = async () => {
      if (shared !== undefined) return shared;
      await fresh?.close();
      fresh = await connect({ servers: c.publisherUrl });
      return fresh;
    };
    try {
      let s = await start();
      let nc = await publisher();
      let client = apiClient(s.port);
      // -p 0: metadata advertises the bound port (clients dial what metadata says).
      const md = await unary<{ brokers: { id: string; port: number }[] }>(client, "FetchMetadata", {});
      expect(md.brokers).toEqual([expect.objectContaining({ id: s.serverId, port: s.port })]);
      for (const st of STREAMS) {
        await unary(client, "CreateStream", st);
        for (const [stream, p, subject] of SUBJECTS)
          if (stream === st.name) nc.publish(subject, Buffer.from(`${stream}${p}-created`));
      }
      await nc.flush();
      client.close();
      await stop(s);
      for (let r = 0; r < RESTARTS; r++) {
        s = await start();
        nc = await publisher();
        // Right after the ready line: one publish per recovered partition, from another connection.
        for (const [, , subject] of SUBJECTS) nc.publish(subject, Buffer.from(`restart-${r}`));
        await nc.flush();
        client = apiClient(s.port);
        const again = await unary<{ brokers: { port: number }[] }>(client, "FetchMetadata", {});
        expect(again.brokers.map((b) => b.port)).toEqual([s.port]);
        client.close();
        await stop(s);
      }
      s = await start();
      client = apiClient(s.port);
      const restarts = Array.from({ length: RESTARTS }, (_, r) => `restart-${r}`);
      expect(await readAll(client, "a")).toEqual(["a0-created", ...restarts]);
      const partition = (p: number) =>
        new Promise<string[]>((resolve, reject) => {
          const values: string[] = [];
          let first = true;
          const call = client.Subscribe({ stream: "b", partition: p, startPosition: 2, stopPosition: 2 });
          call.on("data", (m: { value: Uint8Array }) => {
            if (first) first = false;
            else values.push(Buffer.from(m.value).toString());
          });
          call.on("error", () => {});
          call.on("status", (st: { code: number; details: string }) =>
            st.code === 8 ? resolve(values) : reject(new Error(`${st.code} ${st.details}`)),
          );
        });
      expect(await partition(0)).toEqual(["b0-created", ...restarts]);
      expect(await partition(1)).toEqual(["b1-created", ...restarts]);
      client.close();
      await stop(s);
    } finally {
      await shared?.close();
      await fresh?.close();
    }
  });
});
