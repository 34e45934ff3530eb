// Robustness: malformed input and vanishing clients never take the server down.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants as h2, connect as h2connect } from "node:http2";
import { connect as netConnect } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type Channel,
  connect,
  createClient,
  type GrpcServer,
  isGrpcError,
  Status,
} from "../../src/index.js";
import { prefix, rawRequest, rawStatus } from "../helpers/raw-http2.js";
import { startTestServer, TestService, type TestStats } from "../helpers/test-service.js";

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

describe("server robustness", () => {
  let server: GrpcServer;
  let port: number;
  let stats: TestStats;
  let channel: Channel;
  let client: ReturnType<typeof createClient<typeof TestService>>;

  const stillServes = async (): Promise<void> => {
    expect((await client.echo(Buffer.from("alive"))).toString()).toBe("alive");
  };

  beforeAll(async () => {
    ({ server, port, stats } = await startTestServer());
    channel = connect(`127.0.0.1:${port}`);
    client = createClient(TestService, channel);
  });
  afterAll(async () => {
    await channel.close();
    await server.close({ graceMs: 100 });
  });

  it("malformed length prefix (reserved flag bits) gives INTERNAL", async () => {
    const r = await rawRequest(port, [Buffer.concat([prefix(3, 0x80), Buffer.from("abc")])]);
    expect(rawStatus(r)).toBe(Status.INTERNAL);
    await stillServes();
  });

  it("truncated frame (stream ends inside a message) gives INTERNAL", async () => {
    const r = await rawRequest(port, [prefix(100), Buffer.alloc(10)]);
    expect(rawStatus(r)).toBe(Status.INTERNAL);
    const shortPrefix = await rawRequest(port, [Buffer.from([0, 0, 0])]);
    expect(rawStatus(shortPrefix)).toBe(Status.INTERNAL);
    await stillServes();
  });

  it("oversized frame is refused from its prefix, before any payload is buffered", async () => {
    // Declares 1 GiB and sends only 1 KiB: the answer must come without waiting for the rest.
    const r = await rawRequest(port, [prefix(1 << 30), Buffer.alloc(1024)], {}, { endStream: false });
    expect(rawStatus(r)).toBe(Status.RESOURCE_EXHAUSTED);
    await stillServes();
  });

  it("garbage gRPC bodies: every one gets a status or a reset, and the server keeps serving", async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => rawRequest(port, [randomBytes(1 + ((i * 37) % 300))])),
    );
    for (const r of outcomes) {
      const status = rawStatus(r);
      expect(status !== undefined || r.rstCode > 0).toBe(true);
    }
    await stillServes();
  });

  it("garbage that is not HTTP/2 at all closes that connection only", async () => {
    await new Promise<void>((resolve) => {
      const socket = netConnect(port, "127.0.0.1", () => socket.write(randomBytes(4096)));
      socket.on("error", () => {});
      socket.resume(); // read the server's GOAWAY and FIN
      socket.on("close", () => resolve());
    });
    await stillServes();
  });

  it("a client that vanishes mid-stream (socket destroyed) aborts the handler; others are unaffected", async () => {
    // Own the TCP socket so that it can be cut without any HTTP/2 goodbye (no GOAWAY, no RST_STREAM).
    const socket = netConnect(port, "127.0.0.1");
    socket.on("error", () => {});
    const session = h2connect(`http://127.0.0.1:${port}`, { createConnection: () => socket });
    session.on("error", () => {});
    const req = session.request({
      ":method": "POST",
      ":path": "/test.Test/Infinite",
      "content-type": "application/grpc",
    });
    req.on("error", () => {});
    const body = json({ id: "vanish" });
    req.end(Buffer.concat([prefix(body.length), body]));
    await new Promise<void>((resolve) => req.once("data", () => resolve()));
    socket.destroy();
    await vi.waitFor(() => expect(stats.events).toContain(`infinite:vanish:returned:${Status.CANCELLED}`));
    await stillServes();
  });

  it("slow reader slows the writer: server production stops while the client does not read", async () => {
    const slow = connect(`127.0.0.1:${port}`, { maxBufferedResponses: 16 });
    try {
      const call = createClient(TestService, slow).infinite(json({ id: "slow", size: 1024 }));
      const it = call[Symbol.asyncIterator]();
      await it.next();
      // Wait until production stalls (flow-control windows and buffers full).
      let last = -1;
      const deadline = Date.now() + 10_000;
      while (stats.produced !== last && Date.now() < deadline) {
        last = stats.produced;
        await new Promise((r) => setTimeout(r, 200));
      }
      const plateau = stats.produced;
      await new Promise((r) => setTimeout(r, 300));
      expect(stats.produced).toBe(plateau);
      // Bounded: about the HTTP/2 windows (1 MiB stream) plus our buffers, not unbounded.
      expect(plateau * 1029).toBeLessThan(8 * 1024 * 1024);
      // The producer is parked in drain(); the cancel must release it (waits also end on close).
      call.cancel();
      await vi.waitFor(() => expect(stats.events).toContain(`infinite:slow:returned:${Status.CANCELLED}`));
    } finally {
      await slow.close();
    }
  });

  it("inbound backpressure: a handler that does not read blocks the client's sends", async () => {
    const call = client.hold();
    let sent = 0;
    const chunk = Buffer.alloc(16 * 1024);
    let blocked = false;
    for (let i = 0; i < 2000; i++) {
      sent += chunk.length;
      if (!call.send(chunk)) {
        const drained = await Promise.race([
          call.drain().then(() => true),
          new Promise((r) => setTimeout(() => r(false), 300)),
        ]);
        if (!drained) {
          blocked = true;
          break;
        }
      }
    }
    expect(blocked).toBe(true);
    expect(sent).toBeLessThan(32 * 1024 * 1024);
    call.cancel();
    await vi.waitFor(() => expect(stats.events).toContain("hold:returned"));
  });

  it("a ping flood gets GOAWAY(ENHANCE_YOUR_CALM)", async () => {
    const session = h2connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    const goaway = new Promise<number>((resolve) => session.once("goaway", (code) => resolve(code)));
    await new Promise<void>((resolve) => session.once("connect", () => resolve()));
    // node allows 10 outstanding PINGs per session; send them in rounds until the server objects.
    let stop = false;
    void goaway.then(() => {
      stop = true;
    });
    for (let round = 0; round < 20 && !stop; round++) {
      await Promise.all(Array.from({ length: 5 }, () => new Promise((r) => session.ping(r))));
    }
    expect(await goaway).toBe(h2.NGHTTP2_ENHANCE_YOUR_CALM);
    session.destroy();
    await stillServes();
  });

  it("memory returns to baseline after a storm of abandoned streams (child process with --expose-gc)", async () => {
    const script = fileURLToPath(new URL("../interop/abandon-storm.mjs", import.meta.url));
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["--expose-gc", script], { timeout: 90_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const result = JSON.parse(out) as {
      baseline: number;
      after: number;
      activeCalls: number;
      abandoned: number;
    };
    expect(result.abandoned).toBeGreaterThanOrEqual(2000);
    expect(result.activeCalls).toBe(0);
    // Generous tolerance: the point is that nothing per stream is retained.
    expect(result.after - result.baseline).toBeLessThan(8 * 1024 * 1024);
  }, 120_000);

  it("client side: a server that vanishes mid-call gives UNAVAILABLE, and the channel reconnects", async () => {
    const { server: doomed, port: doomedPort } = await startTestServer();
    const ch = connect(`127.0.0.1:${doomedPort}`);
    try {
      const c = createClient(TestService, ch);
      expect((await c.echo(Buffer.from("1"))).toString()).toBe("1");
      const pending = c.sleep(json({ ms: 10_000, id: "doomed" })).catch((e) => e);
      await new Promise((r) => setTimeout(r, 50));
      await doomed.close({ graceMs: 0 });
      const err = await pending;
      expect(isGrpcError(err)).toBe(true);
      expect([Status.UNAVAILABLE, Status.CANCELLED]).toContain(err.code);
      const down = await c.echo(Buffer.from("2")).catch((e) => e);
      expect(isGrpcError(down, Status.UNAVAILABLE)).toBe(true);
      // A server back on the same port: the next call opens a new connection.
      const { server: revived } = await startTestServer({}, doomedPort);
      try {
        expect((await c.echo(Buffer.from("3"))).toString()).toBe("3");
      } finally {
        await revived.close({ graceMs: 100 });
      }
    } finally {
      await ch.close();
    }
  });
});
