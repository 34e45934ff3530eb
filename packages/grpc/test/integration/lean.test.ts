import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { GrpcServer } from "../../src/index.js";
import {
  type Channel,
  connect,
  createClient,
  createServer,
  type GrpcError,
  isGrpcError,
  Status,
} from "../../src/index.js";
import {
  countMessage,
  startTestServer,
  TestService,
  type TestStats,
  testHandlers,
  UNICODE_MESSAGE,
} from "../helpers/test-service.js";
import { tlsFixtures } from "../helpers/tls.js";

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

describe("lean client <-> lean server", () => {
  let server: GrpcServer;
  let stats: TestStats;
  let channel: Channel;
  let client: ReturnType<typeof createClient<typeof TestService>>;

  beforeAll(async () => {
    const started = await startTestServer();
    server = started.server;
    stats = started.stats;
    channel = connect(`127.0.0.1:${started.port}`);
    client = createClient(TestService, channel);
  });
  afterAll(async () => {
    await channel.close();
    await server.close({ graceMs: 100 });
  });

  it("unary echo with metadata round trip (incl. -bin)", async () => {
    let header: unknown;
    let trailer: unknown;
    const res = await client.echo(Buffer.from("hello"), {
      metadata: { "x-echo": ["a,b", "c"], "x-echo-bin": Buffer.from([0, 255, 1]) },
      onHeader: (md) => {
        header = md;
      },
      onTrailer: (md) => {
        trailer = md;
      },
    });
    expect(res.toString()).toBe("hello");
    expect(header).toEqual({ "x-echo": ["a,b", "c"] });
    expect(trailer).toEqual({ "x-echo-bin": [Buffer.from([0, 255, 1])] });
  });

  it("error status with a unicode message and trailers-only metadata", async () => {
    const err = await client.fail(json({ code: Status.NOT_FOUND, message: UNICODE_MESSAGE })).catch((e) => e);
    expect(isGrpcError(err, Status.NOT_FOUND)).toBe(true);
    expect((err as GrpcError).details).toBe(UNICODE_MESSAGE);
    expect((err as GrpcError).metadata).toEqual({
      "x-err": ["detail"],
      "x-err-bin": [Buffer.from([0, 1, 2, 255])],
    });
  });

  it("server streaming, writer and generator styles", async () => {
    for (const call of [
      client.count(json({ count: 5000, size: 128 })),
      client.countGen(json({ count: 5000, size: 128 })),
    ]) {
      let i = 0;
      for await (const m of call) {
        expect(m.readUInt32BE(0)).toBe(i++);
      }
      expect(i).toBe(5000);
      expect(await call.status).toBeUndefined();
    }
  });

  it("client streaming", async () => {
    const call = client.sum();
    for (let i = 0; i < 1000; i++) await call.write(countMessage(i, 100));
    call.end();
    expect(JSON.parse((await call.response).toString())).toEqual({ count: 1000, bytes: 100_000 });
  });

  it.each(["chat", "chatIter"] as const)("bidi %s echoes in order", async (name) => {
    const call = client[name]();
    const got: number[] = [];
    const reading = (async () => {
      for await (const m of call) got.push(m.readUInt32BE(0));
    })();
    for (let i = 0; i < 2000; i++) await call.write(countMessage(i, 32));
    call.end();
    await reading;
    expect(got).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it("pause() stops a callback consumer's deliveries after the chunk being decoded; resume() restarts them", async () => {
    const call = client.count(json({ count: 5000, size: 128 }));
    const got: number[] = [];
    call.onMessage((m) => {
      got.push(m.readUInt32BE(0));
      if (got.length === 100) call.pause();
    });
    await vi.waitFor(() => expect(got.length).toBeGreaterThanOrEqual(100));
    await new Promise((r) => setTimeout(r, 150)); // a paused stream delivers nothing more
    const whilePaused = got.length;
    expect(whilePaused).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 100));
    expect(got.length).toBe(whilePaused);
    call.resume();
    expect(await call.status).toBeUndefined();
    expect(got).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });

  it("a slow iterator gets every message and then the status, even when the trailers arrive while it lags", async () => {
    // maxBufferedResponses 4: the stream pauses at once while the server sends everything and its
    // trailers; the status must wait for the DATA still buffered in the paused stream.
    const ch = connect(channel.target, { maxBufferedResponses: 4 });
    try {
      const slow = createClient(TestService, ch);
      const call = slow.count(json({ count: 3000, size: 128 }));
      let i = 0;
      for await (const m of call) {
        expect(m.readUInt32BE(0)).toBe(i++);
        if (i === 1) await new Promise((r) => setTimeout(r, 200));
      }
      expect(i).toBe(3000);
      expect(await call.status).toBeUndefined();
    } finally {
      await ch.close();
    }
  });

  it("200 concurrent bidi streams of 100 messages each, all in order", async () => {
    const runs = Array.from({ length: 200 }, async (_, s) => {
      const call = client.chat();
      const got: number[] = [];
      call.onMessage((m) => got.push(m.readUInt32BE(0)));
      for (let i = 0; i < 100; i++) call.send(countMessage(s * 1000 + i, 16));
      call.end();
      expect(await call.status).toBeUndefined();
      return got.every((v, i) => v === s * 1000 + i) && got.length === 100;
    });
    expect((await Promise.all(runs)).every(Boolean)).toBe(true);
  });

  it("deadline exceeded: client gets DEADLINE_EXCEEDED, handler is signalled", async () => {
    const err = await client.sleep(json({ ms: 10_000, id: "dl" }), { timeoutMs: 200 }).catch((e) => e);
    expect(isGrpcError(err, Status.DEADLINE_EXCEEDED)).toBe(true);
    await vi.waitFor(
      () => expect(stats.events).toContainEqual(expect.stringMatching(/^sleep:dl:aborted:(4|1)$/)),
      {
        timeout: 5000,
      },
    );
  });

  it("client cancellation via AbortSignal reaches the server handler", async () => {
    const ac = new AbortController();
    const p = client.sleep(json({ ms: 10_000, id: "cancel" }), { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    const err = await p.catch((e) => e);
    expect(isGrpcError(err, Status.CANCELLED)).toBe(true);
    await vi.waitFor(() => expect(stats.events).toContain(`sleep:cancel:aborted:${Status.CANCELLED}`), {
      timeout: 5000,
    });
  });

  it("cancelling a server stream stops the producer", async () => {
    const call = client.infinite(json({ id: "inf" }));
    let n = 0;
    const err = await (async () => {
      for await (const _ of call) {
        if (++n === 1000) call.cancel();
      }
    })().catch((e) => e);
    expect(isGrpcError(err, Status.CANCELLED)).toBe(true);
    expect(await call.status).toBe(err);
    await vi.waitFor(() => expect(stats.events).toContain(`infinite:inf:returned:${Status.CANCELLED}`), {
      timeout: 5000,
    });
  });
});

describe("lean client <-> lean server over mTLS", () => {
  it("verifies both sides; handlers see the client certificate; a client without one is refused", async () => {
    const server = createServer({
      tls: {
        key: tlsFixtures.serverKey,
        cert: tlsFixtures.serverCert,
        ca: tlsFixtures.ca,
        requestCert: true,
        rejectUnauthorized: true,
      },
    });
    const seen: string[] = [];
    server.addService(TestService, {
      ...testHandlers({ events: [], produced: 0 }),
      echo(request, call) {
        seen.push(`${call.tls?.authorized}:${call.tls?.peerCertificate?.subject.CN}`);
        return request;
      },
    });
    const port = await server.listen(0, "127.0.0.1");
    const good = connect(`127.0.0.1:${port}`, {
      tls: { ca: tlsFixtures.ca, cert: tlsFixtures.clientCert, key: tlsFixtures.clientKey },
    });
    const anonymous = connect(`https://127.0.0.1:${port}`, { tls: { ca: tlsFixtures.ca } });
    const untrusting = connect(`https://127.0.0.1:${port}`);
    try {
      expect((await createClient(TestService, good).echo(Buffer.from("m"))).toString()).toBe("m");
      expect(seen).toEqual(["true:test-client"]);
      const refused = await createClient(TestService, anonymous)
        .echo(Buffer.from("m"))
        .catch((e) => e);
      expect(isGrpcError(refused, Status.UNAVAILABLE)).toBe(true);
      const unknownCa = await createClient(TestService, untrusting)
        .echo(Buffer.from("m"))
        .catch((e) => e);
      expect(isGrpcError(unknownCa, Status.UNAVAILABLE)).toBe(true);
    } finally {
      await good.close();
      await anonymous.close();
      await untrusting.close();
      await server.close({ graceMs: 100 });
    }
  });
});

describe("server lifecycle", () => {
  it("listen rejects when the port is taken; close is idempotent; closed resolves", async () => {
    const first = createServer();
    const port = await first.listen(0, "127.0.0.1");
    const second = createServer();
    await expect(second.listen(port, "127.0.0.1")).rejects.toThrow(/EADDRINUSE/);
    await Promise.all([first.close(), first.close({ graceMs: 0 })]);
    expect(await first.closed).toBeUndefined();
    await second.close();
  });

  it("addService rejects a missing handler and a duplicate path", () => {
    const server = createServer();
    expect(() => server.addService(TestService, {} as never)).toThrow(TypeError);
    server.addService(TestService, testHandlers({ events: [], produced: 0 }));
    expect(() => server.addService(TestService, testHandlers({ events: [], produced: 0 }))).toThrow(
      /already registered/,
    );
  });
});
