import net from "node:net";
import bcrypt from "bcryptjs";
import { connect, ErrorCode, headers, type NatsConnection, type NatsError, type Subscription } from "nats";
import { afterEach, describe, expect, it, vi } from "vitest";
import { launchers, type TestServer, type TestServerOptions } from "./servers.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Collects `n` messages (or fewer at the deadline) from a subscription. */
async function collect(sub: Subscription, n: number, deadlineMs = 5000): Promise<string[]> {
  const out: string[] = [];
  const timer = setTimeout(() => sub.unsubscribe(), deadlineMs);
  for await (const m of sub) {
    out.push(`${m.subject}:${dec.decode(m.data)}`);
    if (out.length === n) break;
  }
  clearTimeout(timer);
  return out;
}

/** Opens a raw TCP connection and records everything the server sends. */
function rawClient(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  let data = "";
  let bytes = 0;
  let closed = false;
  socket.on("data", (d: Buffer) => {
    data += d.toString("latin1");
    bytes += d.length;
  });
  socket.on("error", () => {});
  socket.on("close", () => {
    closed = true;
  });
  return {
    socket,
    get data() {
      return data;
    },
    get bytes() {
      return bytes;
    },
    get closed() {
      return closed;
    },
    send: (s: string) => socket.write(s),
  };
}

describe.each(launchers)("conformance with the nats client: $name", (launcher) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  async function server(opts?: TestServerOptions): Promise<TestServer> {
    const s = await launcher.start(opts);
    cleanups.push(() => s.stop());
    return s;
  }
  async function client(s: TestServer, extra: Parameters<typeof connect>[0] = {}): Promise<NatsConnection> {
    const nc = await connect({ servers: s.url, noAsyncTraces: true, ...extra });
    cleanups.push(() => nc.close());
    return nc;
  }

  it("pub/sub delivers in order", async () => {
    const s = await server();
    const nc = await client(s);
    const sub = nc.subscribe("orders.new");
    const got = collect(sub, 10);
    for (let i = 0; i < 10; i++) nc.publish("orders.new", enc.encode(String(i)));
    expect(await got).toEqual(Array.from({ length: 10 }, (_, i) => `orders.new:${i}`));
  });

  it("delivers payloads of every size intact, in order", async () => {
    const s = await server();
    const nc = await client(s);
    const sizes = [
      0, 1, 127, 128, 1023, 1024, 16_383, 16_384, 16_385, 65_535, 65_536, 65_537, 300_000, 1_048_000,
    ];
    const payloads: Uint8Array[] = [];
    for (let rep = 0; rep < 20; rep++) {
      for (const size of sizes) {
        const p = new Uint8Array(size);
        for (let i = 0; i < size; i++) p[i] = (i * 31 + payloads.length * 7) & 0xff;
        payloads.push(p);
      }
    }
    const sub = nc.subscribe("sizes");
    let k = 0;
    const done = (async () => {
      for await (const m of sub) {
        expect(Buffer.from(m.data).equals(Buffer.from(payloads[k] as Uint8Array))).toBe(true);
        if (++k === payloads.length) break;
      }
    })();
    const pub = await client(s);
    for (const p of payloads) pub.publish("sizes", p);
    await pub.flush();
    await done;
    expect(k).toBe(payloads.length);
  });

  it("routes wildcards * and >", async () => {
    const s = await server();
    const nc = await client(s);
    const star = nc.subscribe("a.*");
    const gt = nc.subscribe("a.>");
    const lit = nc.subscribe("a.b.c");
    const gotStar = collect(star, 1);
    const gotGt = collect(gt, 2);
    const gotLit = collect(lit, 1);
    nc.publish("a.b", enc.encode("1"));
    nc.publish("a.b.c", enc.encode("2"));
    nc.publish("x.y", enc.encode("3"));
    expect(await gotStar).toEqual(["a.b:1"]);
    expect(await gotGt).toEqual(["a.b:1", "a.b.c:2"]);
    expect(await gotLit).toEqual(["a.b.c:2"]);
  });

  it("gives each message to one member of a queue group", async () => {
    const s = await server();
    const nc = await client(s);
    const counts = [0, 0, 0];
    const members = counts.map((_, i) =>
      nc.subscribe("work", { queue: "workers", callback: () => counts[i]!++ }),
    );
    let plain = 0;
    nc.subscribe("work", { callback: () => plain++ });
    for (let i = 0; i < 300; i++) nc.publish("work", enc.encode("job"));
    await nc.flush();
    await vi.waitFor(() => expect(plain).toBe(300), { timeout: 5000 });
    await vi.waitFor(() => expect(counts.reduce((a, b) => a + b, 0)).toBe(300), { timeout: 5000 });
    for (const c of counts) expect(c).toBeGreaterThan(0);
    expect(members).toHaveLength(3);
  });

  it("does request/reply", async () => {
    const s = await server();
    const nc = await client(s);
    nc.subscribe("echo", { callback: (_e, m) => m.respond(enc.encode(`re:${dec.decode(m.data)}`)) });
    const r = await nc.request("echo", enc.encode("hi"), { timeout: 5000 });
    expect(dec.decode(r.data)).toBe("re:hi");
  });

  it("carries headers", async () => {
    const s = await server();
    const nc = await client(s);
    const sub = nc.subscribe("h");
    const h = headers();
    h.set("X-Trace", "abc");
    h.append("X-Multi", "1");
    h.append("X-Multi", "2");
    nc.publish("h", enc.encode("body"), { headers: h });
    for await (const m of sub) {
      expect(dec.decode(m.data)).toBe("body");
      expect(m.headers?.get("X-Trace")).toBe("abc");
      expect(m.headers?.values("X-Multi")).toEqual(["1", "2"]);
      break;
    }
  });

  it("answers requests without subscribers with no responders (503)", async () => {
    const s = await server();
    const nc = await client(s);
    const err = await nc
      .request("nobody.home", enc.encode("x"), { timeout: 5000 })
      .catch((e: NatsError) => e);
    expect((err as NatsError).code).toBe(ErrorCode.NoResponders);
  });

  it("unsubscribes after N messages", async () => {
    const s = await server();
    const nc = await client(s);
    const sub = nc.subscribe("n", { max: 3 });
    const later = nc.subscribe("n");
    later.unsubscribe(2);
    for (let i = 0; i < 5; i++) nc.publish("n", enc.encode(String(i)));
    expect(await collect(sub, 5, 3000)).toEqual(["n:0", "n:1", "n:2"]);
    expect(await collect(later, 5, 3000)).toEqual(["n:0", "n:1"]);
    await nc.flush();
  });

  it("drains a connection after delivering what was in flight", async () => {
    const s = await server();
    const nc = await client(s);
    const pub = await client(s);
    let n = 0;
    nc.subscribe("d", { callback: () => n++ });
    await nc.flush();
    for (let i = 0; i < 100; i++) pub.publish("d", enc.encode("x"));
    await pub.flush();
    await nc.drain();
    expect(n).toBe(100);
    expect(nc.isClosed()).toBe(true);
  });

  it("flushes (PING/PONG round trip) and honours echo=false", async () => {
    const s = await server();
    const nc = await client(s, { noEcho: true });
    const other = await client(s);
    let own = 0;
    nc.subscribe("e", { callback: () => own++ });
    const got = collect(other.subscribe("e"), 1);
    await nc.flush();
    await other.flush();
    nc.publish("e", enc.encode("1"));
    await nc.flush();
    expect(await got).toEqual(["e:1"]);
    expect(own).toBe(0);
    expect(await nc.rtt()).toBeGreaterThanOrEqual(0);
  });

  it("rejects payloads above max_payload", async () => {
    const s = await server({ maxPayload: 1024 });
    const nc = await client(s);
    expect(nc.info?.max_payload).toBe(1024);
    expect(() => nc.publish("big", new Uint8Array(2000))).toThrow(/MAX_PAYLOAD|payload/i);
    // The server enforces it too, for clients that do not check.
    const raw = rawClient(s.port);
    raw.send('CONNECT {"verbose":false}\r\nPUB big 2000\r\n');
    await vi.waitFor(() => expect(raw.closed).toBe(true), { timeout: 5000 });
    expect(raw.data).toContain("-ERR 'Maximum Payload Violation'\r\n");
  });

  it.each([
    ["token", { token: "s3cret" }, { token: "s3cret" }, { token: "wrong" }],
    [
      "user/password",
      { user: "alice", password: "pw1" },
      { user: "alice", pass: "pw1" },
      { user: "alice", pass: "nope" },
    ],
    [
      "bcrypt users",
      { users: [{ user: "bob", password: bcrypt.hashSync("pw2", 4) }] },
      { user: "bob", pass: "pw2" },
      { user: "bob", pass: "pw3" },
    ],
  ] as const)("authenticates with %s", async (_kind, authorization, good, bad) => {
    const s = await server({
      authorization: structuredClone(authorization) as TestServerOptions["authorization"] & object,
    });
    const nc = await client(s, { ...good });
    await nc.flush();
    const err = await connect({ servers: s.url, noAsyncTraces: true, reconnect: false, ...bad }).then(
      async (c) => {
        await c.close();
        return undefined;
      },
      (e: NatsError) => e,
    );
    expect(err?.code).toBe(ErrorCode.AuthorizationViolation);
    const none = await connect({ servers: s.url, noAsyncTraces: true, reconnect: false }).catch(
      (e: NatsError) => e,
    );
    expect((none as NatsError).code).toBe(ErrorCode.AuthorizationViolation);
  });

  it("disconnects a slow consumer and keeps serving the others", async () => {
    const s = await server({ maxPendingBytes: 256 * 1024, maxPayload: 64 * 1024, writeDeadlineMs: 1000 });
    const raw = rawClient(s.port);
    raw.send('CONNECT {"verbose":false}\r\nSUB slow 1\r\nPING\r\n');
    await vi.waitFor(() => expect(raw.data).toContain("PONG"), { timeout: 5000 });
    raw.socket.pause();
    const nc = await client(s);
    const payload = new Uint8Array(16 * 1024);
    const total = 64 * 1024 * 1024;
    for (let sent = 0; sent < total; sent += payload.length) {
      nc.publish("slow", payload);
      if (sent % (4 * 1024 * 1024) === 0) await nc.flush();
    }
    await nc.flush();
    raw.socket.resume();
    await vi.waitFor(() => expect(raw.closed).toBe(true), { timeout: 15_000 });
    expect(raw.bytes).toBeLessThan(total);
    // The publisher is unaffected.
    const r = collect(nc.subscribe("still.ok"), 1);
    nc.publish("still.ok", enc.encode("y"));
    expect(await r).toEqual(["still.ok:y"]);
  });

  it("pauses a fast producer instead of dropping a briefly slow consumer", async () => {
    const s = await server({ maxPendingBytes: 2 * 1024 * 1024, maxPayload: 64 * 1024 });
    const raw = rawClient(s.port);
    raw.send('CONNECT {"verbose":false}\r\nSUB fast 1\r\nPING\r\n');
    await vi.waitFor(() => expect(raw.data).toContain("PONG"), { timeout: 5000 });
    raw.socket.pause();
    const nc = await client(s);
    const payload = new Uint8Array(16 * 1024);
    const count = 2048; // 32 MiB, far above max_pending and the loopback socket buffers
    for (let i = 0; i < count; i++) nc.publish("fast", payload);
    const flushed = nc.flush();
    await new Promise((r) => setTimeout(r, 300));
    raw.socket.resume();
    await flushed;
    const frame = "MSG fast 1 16384\r\n".length + payload.length + 2;
    await vi.waitFor(
      () => expect(raw.bytes).toBeGreaterThanOrEqual(raw.data.indexOf("PONG") + 6 + count * frame),
      {
        timeout: 20_000,
      },
    );
    expect(raw.closed).toBe(false);
  });

  it("reconnects after a server restart and resubscribes", async () => {
    const s = await server();
    const nc = await client(s, { reconnectTimeWait: 50, maxReconnectAttempts: -1, reconnectJitter: 0 });
    let got = 0;
    nc.subscribe("after", { callback: () => got++ });
    await nc.flush();
    let reconnected = false;
    void (async () => {
      for await (const st of nc.status()) if (st.type === "reconnect") reconnected = true;
    })();
    await s.restart();
    await vi.waitFor(() => expect(reconnected).toBe(true), { timeout: 15_000 });
    nc.publish("after", enc.encode("z"));
    await nc.flush();
    await vi.waitFor(() => expect(got).toBe(1), { timeout: 5000 });
  });
});
