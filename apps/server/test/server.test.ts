import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { AckPolicy, newMessage, unmarshalAck } from "@liftbridge/api";
import { freePort } from "@liftbridge/testkit";
import { connect } from "nats";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { apiClient, CLI, logLines, readAll, type ServerProcess, startServer, unary } from "./helpers.js";

/** True when nothing listens on 127.0.0.1:port (and so, very likely, on 0.0.0.0:port). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "0.0.0.0", () => s.close(() => resolve(true)));
  });
}

function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? null), stdout, stderr }),
    );
  });
}

describe("liftbridge CLI", () => {
  let dir: string;
  let servers: ServerProcess[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "lb-server-"));
    servers = [];
  });
  afterEach(async () => {
    for (const s of servers) if (s.proc.exitCode === null) s.proc.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });
  /** Writes liftbridge.conf: data dir, any port, bootstrap seed, then `lines`; returns its path. */
  const writeConf = async (...lines: string[]): Promise<string> => {
    const file = path.join(dir, "liftbridge.conf");
    const base = [
      `data.dir: ${JSON.stringify(path.join(dir, "data"))}`,
      "port: 0",
      "clustering.raft.bootstrap.seed: true",
    ];
    await writeFile(file, [...base, ...lines].join("\n"));
    return file;
  };
  const start = async (extra: string[] = []) => {
    const s = await startServer([
      "--raft-bootstrap-seed",
      "-d",
      dir,
      "-p",
      "0",
      "--embedded-nats-port",
      "0",
      ...extra,
    ]);
    servers.push(s);
    return s;
  };

  it("starts with embedded NATS, stops on SIGTERM/SIGINT with exit 0, keeps its id and data", async () => {
    const a = await start();
    const client = apiClient(a.port);
    await unary(client, "CreateStream", { name: "s", subject: "s" });
    // With -p 0 the advertised port is the bound one (clients dial what metadata says).
    const md = await unary<{ brokers: { id: string; port: number }[] }>(client, "FetchMetadata", {});
    expect(md.brokers).toEqual([expect.objectContaining({ id: a.serverId, port: a.port })]);
    const nc = await connect({ servers: a.natsUrl });
    for (let i = 0; i < 10; i++) nc.publish("s", Buffer.from(`plain-${i}`));
    await nc.flush();
    await nc.close();
    await unary(client, "Publish", { stream: "s", value: Buffer.from("grpc") });
    client.close();
    a.proc.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    expect((await readFile(path.join(dir, "server-id"), "utf8")).trim()).toBe(a.serverId);
    const b = await start();
    expect(b.serverId).toBe(a.serverId);
    const c2 = apiClient(b.port);
    expect(await readAll(c2, "s")).toEqual([...Array.from({ length: 10 }, (_, i) => `plain-${i}`), "grpc"]);
    c2.close();
    b.proc.kill("SIGINT");
    expect(await b.exited).toBe(0);
  });

  it("runs on an external NATS server (-n), Debian's nats-server", async () => {
    const port = await freePort();
    const nats = spawn("/usr/sbin/nats-server", ["-a", "127.0.0.1", "-p", String(port)], {
      stdio: "ignore",
    });
    try {
      const url = `nats://127.0.0.1:${port}`;
      let nc: Awaited<ReturnType<typeof connect>> | undefined;
      for (let i = 0; i < 100 && nc === undefined; i++) {
        nc = await connect({ servers: url }).catch(() => undefined);
        if (nc === undefined) await new Promise((r) => setTimeout(r, 50));
      }
      const a = await startServer(["--raft-bootstrap-seed", "-d", dir, "-p", "0", "-n", url]);
      servers.push(a);
      expect(a.natsUrl).toBe(url);
      const client = apiClient(a.port);
      await unary(client, "CreateStream", { name: "ext", subject: "ext" });
      nc!.publish("ext", Buffer.from("from nats"));
      await nc!.flush();
      await unary(client, "Publish", { stream: "ext", value: Buffer.from("from grpc") });
      expect(await readAll(client, "ext")).toEqual(["from nats", "from grpc"]);
      client.close();
      await nc!.close();
      a.proc.kill("SIGTERM");
      expect(await a.exited).toBe(0);
    } finally {
      nats.kill("SIGTERM");
    }
  });

  it("a config file's streams.sync: always and nats.embedded.port take effect", async () => {
    const natsPort = await freePort();
    const file = await writeConf("streams {", "  sync: always", "}", `nats { embedded.port: ${natsPort} }`);
    const a = await startServer(["-c", file]);
    servers.push(a);
    expect(a.natsUrl).toBe(`nats://127.0.0.1:${natsPort}`);
    expect(logLines(a.output, "commit-log sync policy")).toEqual([
      expect.objectContaining({ sync: "always", dataDir: path.join(dir, "data") }),
    ]);
    const nc = await connect({ servers: `127.0.0.1:${natsPort}` });
    await nc.close();
    a.proc.kill("SIGTERM");
    expect(await a.exited).toBe(0);
  });

  it("activity.stream.* config keys reach the broker: __activity is created and published to", async () => {
    const file = await writeConf(
      "nats.embedded.port: 0",
      "activity.stream.enabled: true",
      "activity.stream.publish.timeout: 7s",
      "activity.stream.publish.ack.policy: leader",
    );
    const a = await startServer(["-c", file]);
    servers.push(a);
    const client = apiClient(a.port);
    try {
      await unary(client, "CreateStream", { name: "a", subject: "a" });
      const deadline = Date.now() + 20_000;
      let names: string[] = [];
      while (Date.now() < deadline) {
        const md = await unary<{ streamMetadata: { name: string }[] }>(client, "FetchMetadata", {});
        names = md.streamMetadata.map((s) => s.name).sort();
        if (names.includes("__activity")) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(names).toEqual(["__activity", "a"]);
      expect(logLines(a.output, "activity dispatcher started")).toEqual([
        expect.objectContaining({ ackPolicy: "leader", timeoutMs: 7000 }),
      ]);
    } finally {
      client.close();
    }
    a.proc.kill("SIGTERM");
    expect(await a.exited).toBe(0);
  });

  it("a port in --embedded-nats-config is used unless nats.embedded.port is set explicitly", async () => {
    const [filePort, flagPort] = [await freePort(), await freePort()];
    const nc = path.join(dir, "nats.conf");
    await writeFile(nc, `host: 127.0.0.1\nport: ${filePort}\n`);
    const base = ["--raft-bootstrap-seed", "-d", dir, "-p", "0", "--nc", nc];
    const a = await startServer(base);
    servers.push(a);
    expect(a.natsUrl).toBe(`nats://127.0.0.1:${filePort}`);
    a.proc.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    const b = await startServer([...base, "--embedded-nats-port", String(flagPort)]);
    servers.push(b);
    expect(b.natsUrl).toBe(`nats://127.0.0.1:${flagPort}`);
    b.proc.kill("SIGTERM");
    expect(await b.exited).toBe(0);
  });

  it("the main command alone (`--raft-bootstrap-seed`) runs on a fresh HOME/TMPDIR", async () => {
    // Same machine as other test suites: use the default ports 9292/4222 when they are free (the
    // common case), else move them with LIFTBRIDGE_* variables (the data-dir default is still tested).
    const defaults = (await portIsFree(9292)) && (await portIsFree(4222));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: dir,
      TMPDIR: dir,
      ...(defaults ? {} : { LIFTBRIDGE_PORT: "0", LIFTBRIDGE_NATS_EMBEDDED_PORT: "0" }),
    };
    const a = await startServer(["--raft-bootstrap-seed"], { env, cwd: dir });
    servers.push(a);
    if (defaults) {
      expect(a.port).toBe(9292);
      expect(a.natsUrl).toBe("nats://127.0.0.1:4222");
    }
    const dataDir = path.join(dir, "liftbridge", "liftbridge-default");
    expect(logLines(a.output, "commit-log sync policy")).toEqual([
      expect.objectContaining({ dataDir, sync: "none" }),
    ]);
    expect(
      logLines(
        a.output,
        "no data.dir configured: using the default under the temp dir (may be cleared on reboot); set --data-dir for durable storage",
      ),
    ).toHaveLength(1);
    const client = apiClient(a.port);
    await unary(client, "CreateStream", { name: "main", subject: "main" });
    await unary(client, "Publish", { stream: "main", value: Buffer.from("hello") });
    expect(await readAll(client, "main")).toEqual(["hello"]);
    client.close();
    a.proc.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    expect((await readFile(path.join(dataDir, "server-id"), "utf8")).trim()).toBe(a.serverId);
  });

  it("--print-config exits 0, masks secrets and shows the defaults of the main command", async () => {
    const r = await runCli(["--raft-bootstrap-seed", "--print-config"], {
      PATH: process.env.PATH,
      HOME: dir,
      TMPDIR: dir,
      LIFTBRIDGE_NATS_PASSWORD: "hunter2",
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).not.toContain("hunter2");
    expect(r.stdout).toMatch(/^nats\.password: "\*+" {2}# from env LIFTBRIDGE_NATS_PASSWORD$/m);
    expect(r.stdout).toMatch(/^port: 9292$/m);
    expect(r.stdout).toMatch(/^nats\.embedded\.port: 4222$/m);
    expect(r.stdout).toMatch(/^streams\.sync: "none"$/m);
    expect(r.stdout).toContain(
      `data.dir: ${JSON.stringify(path.join(dir, "liftbridge", "liftbridge-default"))}`,
    );
  });

  it("rejects bad flags with exit 2", async () => {
    await expect(startServer(["--nope"])).rejects.toThrow(/exited with 2/);
  });

  it("SIGKILL under publish load with sync always: every acked message survives", async () => {
    const a = await start(["--sync", "always"]);
    const client = apiClient(a.port);
    await unary(client, "CreateStream", { name: "crash", subject: "crash" });
    client.close();
    const nc = await connect({ servers: a.natsUrl, noAsyncTraces: true });
    const acked = new Set<string>();
    const inbox = "crash.acks";
    let inflight = 0;
    let sent = 0;
    let killed = false;
    nc.subscribe(inbox, {
      callback: (_e, m) => {
        const ack = unmarshalAck(m.data);
        acked.add(ack.correlationId);
        inflight--;
      },
    });
    // Publish with a window of 200 unacked messages until 2000 acks, then SIGKILL mid-stream.
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        if (killed) return;
        while (inflight < 200) {
          const id = `m${sent++}`;
          nc.publish(
            "crash",
            newMessage(Buffer.from(id), { ackInbox: inbox, correlationId: id, ackPolicy: AckPolicy.LEADER }),
          );
          inflight++;
        }
        if (acked.size >= 2000) {
          killed = true;
          a.proc.kill("SIGKILL");
          resolve();
          return;
        }
        setTimeout(pump, 1);
      };
      pump();
    });
    await a.exited;
    const ackedAtKill = new Set(acked);
    await nc.close().catch(() => {});
    const b = await start(["--sync", "always"]);
    const c2 = apiClient(b.port);
    const stored = await readAll(c2, "crash");
    c2.close();
    const storedSet = new Set(stored);
    const lost = [...ackedAtKill].filter((id) => !storedSet.has(id));
    expect(lost).toEqual([]);
    expect(ackedAtKill.size).toBeGreaterThanOrEqual(2000);
    // Stored messages are a prefix of what was sent, in order, without duplicates.
    expect(stored).toEqual(Array.from({ length: stored.length }, (_, i) => `m${i}`));
  });
});
