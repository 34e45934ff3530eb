import { connect, headers as natsHeaders } from "nats";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  createHeaders,
  type InProcessConnection,
  isNatsServerError,
  type NatsMsg,
  type NatsServer,
  NatsServerErrorCode,
  startNatsServer,
} from "../../src/index.js";

describe("in-process connection", () => {
  let server: NatsServer;
  const conns: InProcessConnection[] = [];
  const open = (echo = true) => {
    const c = server.connect({ echo });
    conns.push(c);
    return c;
  };
  beforeAll(async () => {
    server = await startNatsServer({ port: 0, maxPayload: 4096, maxPendingBytes: 1 << 20 });
  });
  afterAll(async () => {
    for (const c of conns) c.close();
    await server.close();
  });

  it("publishes and subscribes with wildcards, asynchronously and in order", async () => {
    const c = open();
    const star: string[] = [];
    const rest: string[] = [];
    c.subscribe("a.*", { callback: (m) => star.push(`${m.subject}:${m.data.toString()}`) });
    c.subscribe("a.>", { callback: (m) => rest.push(m.subject) });
    c.publish("a.b", "1");
    c.publish("a.b.c", "2");
    c.publish("a.b", "3");
    expect([star, rest]).toEqual([[], []]); // never inside publish
    await c.flush();
    expect(star).toEqual(["a.b:1", "a.b:3"]);
    expect(rest).toEqual(["a.b", "a.b.c", "a.b"]);
  });

  it("delivers one message per queue group and honours max and unsubscribe", async () => {
    const c = open();
    const counts = [0, 0];
    c.subscribe("q", { queue: "g", callback: () => counts[0]!++ });
    c.subscribe("q", { queue: "g", callback: () => counts[1]!++ });
    let limited = 0;
    const lim = c.subscribe("q", { max: 3, callback: () => limited++ });
    let plain = 0;
    const p = c.subscribe("q", { callback: () => plain++ });
    for (let i = 0; i < 100; i++) c.publish("q");
    await c.flush();
    expect(counts[0]! + counts[1]!).toBe(100);
    expect(limited).toBe(3);
    expect(lim.isClosed).toBe(true);
    expect(plain).toBe(100);
    p.unsubscribe();
    c.publish("q");
    await c.flush();
    expect(plain).toBe(100);
  });

  it("does not echo when asked not to", async () => {
    const c = open(false);
    const other = open();
    let own = 0;
    let theirs = 0;
    c.subscribe("e", { callback: () => own++ });
    other.subscribe("e", { callback: () => theirs++ });
    c.publish("e");
    await c.flush();
    expect([own, theirs]).toEqual([0, 1]);
  });

  it("exchanges messages and headers with a socket client both ways", async () => {
    const c = open();
    const nc = await connect({ servers: server.url, noAsyncTraces: true });
    try {
      const fromSocket: NatsMsg[] = [];
      c.subscribe("to.broker", { callback: (m) => fromSocket.push(m) });
      c.subscribe("svc.inproc", {
        callback: (m) => {
          const h = createHeaders();
          h.set("Served-By", "in-process");
          c.publish(m.reply as string, Buffer.concat([Buffer.from("re:"), m.data]), { headers: h });
        },
      });
      const h = natsHeaders();
      h.set("K", "v");
      nc.publish("to.broker", new TextEncoder().encode("hello"), { headers: h });
      await nc.flush();
      await vi.waitFor(() => expect(fromSocket).toHaveLength(1));
      expect(fromSocket[0]?.data.toString()).toBe("hello");
      expect(fromSocket[0]?.headers?.get("K")).toBe("v");

      const r = await nc.request("svc.inproc", new TextEncoder().encode("x"), { timeout: 5000 });
      expect(new TextDecoder().decode(r.data)).toBe("re:x");
      expect(r.headers?.get("Served-By")).toBe("in-process");

      nc.subscribe("svc.socket", { callback: (_e, m) => m.respond(m.data) });
      await nc.flush();
      const rr = await c.request("svc.socket", "ping", { timeoutMs: 5000 });
      expect(rr.data.toString()).toBe("ping");
    } finally {
      await nc.close();
    }
  });

  it("rejects requests with no responders, timeouts and aborts", async () => {
    const c = open();
    await expect(c.request("nobody")).rejects.toSatisfy((e) =>
      isNatsServerError(e, NatsServerErrorCode.NoResponders),
    );
    c.subscribe("silent", { callback: () => {} });
    await expect(c.request("silent", undefined, { timeoutMs: 20 })).rejects.toSatisfy((e) =>
      isNatsServerError(e, NatsServerErrorCode.Timeout),
    );
    const ac = new AbortController();
    const p = c.request("silent", undefined, { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toSatisfy((e) => isNatsServerError(e, NatsServerErrorCode.Canceled));
  });

  it("validates subjects and payload size, and refuses use after close", () => {
    const c = open();
    expect(() => c.publish("a.*")).toThrow(expect.objectContaining({ code: "invalid_subject" }));
    expect(() => c.subscribe("a..b", { callback: () => {} })).toThrow(
      expect.objectContaining({ code: "invalid_subject" }),
    );
    expect(() => c.publish("big", new Uint8Array(5000))).toThrow(
      expect.objectContaining({ code: "max_payload" }),
    );
    c.close();
    c.close();
    expect(c.isClosed).toBe(true);
    expect(() => c.publish("x")).toThrow(expect.objectContaining({ code: "closed" }));
  });

  it("drops a closed connection's subscriptions", async () => {
    const before = server.subscriptionCount;
    const c = open();
    c.subscribe("gone.>", { callback: () => {} });
    expect(server.subscriptionCount).toBe(before + 1);
    c.close();
    expect(server.subscriptionCount).toBe(before);
  });
});

describe("graceful shutdown", () => {
  it("flushes queued messages before closing and refuses new connections", async () => {
    const server = await startNatsServer({ port: 0 });
    const nc = await connect({ servers: server.url, noAsyncTraces: true, reconnect: false });
    let n = 0;
    nc.subscribe("s", { callback: () => n++ });
    await nc.flush();
    const c = server.connect();
    for (let i = 0; i < 1000; i++) c.publish("s", "x");
    const connClosed = c.closed;
    const closedStatus = nc.closed();
    await server.drain();
    await server.close();
    await closedStatus;
    await connClosed;
    expect(c.isClosed).toBe(true);
    expect(n).toBe(1000);
    expect(() => server.connect()).toThrow(expect.objectContaining({ code: "closed" }));
    await expect(connect({ servers: server.url, reconnect: false, timeout: 1000 })).rejects.toBeDefined();
  });
});
