/**
 * Two `liftbridge` processes in one cluster: A bootstraps (seed) and runs embedded NATS (or uses
 * Debian's nats-server), B points `--nats-servers` at the same NATS and joins. Metadata writes through B are forwarded to A; publishes
 * through B (the server that does not lead the partition) are acked and stored on A.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { freePort } from "@liftbridge/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ApiClient, apiClient, readAll, type ServerProcess, startServer, unary } from "./helpers.js";

interface Md {
  brokers: { id: string; port: number }[];
  streamMetadata: { name: string; partitions: Map<number, { leader: string }> }[];
}

/** Publishes `values` on one PublishAsync stream; resolves with the acks' offsets in order. */
function publishAsync(client: ApiClient, stream: string, values: string[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const call = client.PublishAsync() as grpc.ClientDuplexStream<object, Record<string, unknown>>;
    const offsets: number[] = [];
    call.on("data", (r: { ack?: { offset: number | string }; asyncError?: { message: string } }) => {
      if (r.asyncError) reject(new Error(r.asyncError.message));
      else offsets.push(Number(r.ack!.offset));
      if (offsets.length === values.length) {
        call.end();
        resolve(offsets);
      }
    });
    call.on("error", reject);
    for (const [i, v] of values.entries()) {
      call.write({ stream, value: Buffer.from(v), correlationId: String(i), ackPolicy: 0 });
    }
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port (10 s at most). */
async function waitForPort(port: number): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, "127.0.0.1");
      sock.once("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("liftbridge cluster of two processes", () => {
  let dir: string;
  let procs: ServerProcess[] = [];
  const clients: ApiClient[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "lb-cluster-"));
    procs = [];
  });
  let nats: ChildProcess | undefined;
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const p of procs) if (p.proc.exitCode === null) p.proc.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.exited));
    nats?.kill("SIGTERM");
    nats = undefined;
    await rm(dir, { recursive: true, force: true });
  });
  const start = async (args: string[]) => {
    const p = await startServer(["-p", "0", ...args]);
    procs.push(p);
    return p;
  };
  const client = (port: number) => {
    const c = apiClient(port);
    clients.push(c);
    return c;
  };

  it.each(["A's embedded NATS", "Debian's nats-server"])(
    "B joins A over %s; PublishAsync and Publish through B land on A; B restarts",
    async (which) => {
      let natsArgs: string[] = ["--embedded-nats-port", "0"];
      if (which.startsWith("Debian")) {
        const port = await freePort();
        nats = spawn("/usr/sbin/nats-server", ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
        natsArgs = ["-n", `nats://127.0.0.1:${port}`];
        await waitForPort(port);
      }
      const a = await start([
        "--raft-bootstrap-seed",
        "--server-id",
        "a",
        "-d",
        path.join(dir, "a"),
        ...natsArgs,
      ]);
      const bArgs = ["--server-id", "b", "-d", path.join(dir, "b"), "-n", a.natsUrl];
      let b = await start(bArgs);
      const ca = client(a.port);
      let cb = client(b.port);
      const brokersOf = async (c: ApiClient) =>
        (await unary<Md>(c, "FetchMetadata", {})).brokers.map((x) => `${x.id}:${x.port}`).sort();
      expect(await brokersOf(cb)).toEqual([`a:${a.port}`, `b:${b.port}`]);
      expect(await brokersOf(ca)).toEqual([`a:${a.port}`, `b:${b.port}`]);

      // Created through B (forwarded to the controller A); placed on A, the first of two idle servers.
      await unary(cb, "CreateStream", { name: "events", subject: "events" });
      const md = await unary<Md>(cb, "FetchMetadata", { streams: ["events"] });
      expect(md.streamMetadata[0]!.partitions.get(0)!.leader).toBe("a");

      // B does not lead the partition: its publishes go over NATS to A, and A's acks come back.
      expect(await publishAsync(cb, "events", ["e0", "e1", "e2"])).toEqual([0, 1, 2]);
      const ack = await unary<{ ack: { offset: number } }>(cb, "Publish", {
        stream: "events",
        value: Buffer.from("e3"),
        ackPolicy: 0,
      });
      expect(Number(ack.ack.offset)).toBe(3);
      expect(await readAll(ca, "events")).toEqual(["e0", "e1", "e2", "e3"]);
      // Subscribing on B: not the leader.
      const err = await readAll(cb, "events").catch((e: unknown) => (e as Error).message);
      expect(err).toContain(`${grpc.status.FAILED_PRECONDITION} Server not partition leader`);

      // B restarts from its own state (no bootstrap flag, no join needed) and keeps working.
      b.proc.kill("SIGTERM");
      expect(await b.exited).toBe(0);
      b = await start(bArgs);
      cb = client(b.port);
      await unary(cb, "CreateStream", { name: "more", subject: "more" });
      expect(await publishAsync(cb, "events", ["e4"])).toEqual([4]);
      expect(await readAll(ca, "events")).toEqual(["e0", "e1", "e2", "e3", "e4"]);
      expect(await brokersOf(ca)).toEqual([`a:${a.port}`, `b:${b.port}`]);
      for (const p of [b, a]) {
        p.proc.kill("SIGTERM");
        expect(await p.exited).toBe(0);
      }
    },
  );

  it("two servers founded together with --raft-bootstrap-peers elect one controller", async () => {
    const a = await start([
      "--server-id",
      "a",
      "--raft-bootstrap-peers",
      "b",
      "-d",
      path.join(dir, "a"),
      "--embedded-nats-port",
      "0",
    ]);
    const b = await start([
      "--server-id",
      "b",
      "--raft-bootstrap-peers",
      "a",
      "-d",
      path.join(dir, "b"),
      "-n",
      a.natsUrl,
    ]);
    const ca = client(a.port);
    const cb = client(b.port);
    // Metadata writes wait (up to their deadline) for the election; then either server serves them.
    await unary(cb, "CreateStream", { name: "x", subject: "x" });
    await unary(ca, "CreateStream", { name: "y", subject: "y" });
    const md = await unary<Md>(ca, "FetchMetadata", {});
    expect(md.brokers.map((x) => x.id).sort()).toEqual(["a", "b"]);
    expect(md.streamMetadata.map((s) => s.name).sort()).toEqual(["x", "y"]);
    // Placement spread the two streams over the two servers.
    expect(md.streamMetadata.map((s) => s.partitions.get(0)!.leader).sort()).toEqual(["a", "b"]);
    for (const p of [b, a]) {
      p.proc.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    }
  });
});
