// Interop: our client against a @grpc/grpc-js server (the reference peer).
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Channel, connect, createClient, type GrpcError, isGrpcError, Status } from "../../src/index.js";
import { startGrpcJsServer, stopGrpcJsServer } from "../helpers/grpc-js-service.js";
import { countMessage, TestService, type TestStats, UNICODE_MESSAGE } from "../helpers/test-service.js";
import { tlsFixtures } from "../helpers/tls.js";

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

describe("our client -> grpc-js server (h2c)", () => {
  let server: grpc.Server;
  let stats: TestStats;
  let channel: Channel;
  let client: ReturnType<typeof createClient<typeof TestService>>;

  beforeAll(async () => {
    const started = await startGrpcJsServer();
    server = started.server;
    stats = started.stats;
    channel = connect(`127.0.0.1:${started.port}`);
    client = createClient(TestService, channel);
  });
  afterAll(async () => {
    await channel.close();
    await stopGrpcJsServer(server);
  });

  it("unary with custom and -bin metadata round trip", async () => {
    let header: unknown;
    let trailer: unknown;
    const res = await client.echo(Buffer.from("hi"), {
      metadata: { "x-echo": "value", "x-echo-bin": [Buffer.from([9, 0, 255]), Buffer.from("second")] },
      onHeader: (md) => {
        header = md;
      },
      onTrailer: (md) => {
        trailer = md;
      },
    });
    expect(res.toString()).toBe("hi");
    expect(header).toEqual({ "x-echo": ["value"] });
    expect(trailer).toEqual({ "x-echo-bin": [Buffer.from([9, 0, 255]), Buffer.from("second")] });
  });

  it("error status with unicode message and trailing metadata", async () => {
    const err = (await client
      .fail(json({ code: Status.PERMISSION_DENIED, message: UNICODE_MESSAGE }))
      .catch((e) => e)) as GrpcError;
    expect(isGrpcError(err, Status.PERMISSION_DENIED)).toBe(true);
    expect(err.details).toBe(UNICODE_MESSAGE);
    expect(err.metadata["x-err"]).toEqual(["detail"]);
    expect(err.metadata["x-err-bin"]).toEqual([Buffer.from([0, 1, 2, 255])]);
  });

  it("unknown method gives UNIMPLEMENTED", async () => {
    const other = createClient({ nope: { ...TestService.echo, path: "/test.Test/Nope" } }, channel);
    const err = await other.nope(Buffer.from("x")).catch((e) => e);
    expect(isGrpcError(err, Status.UNIMPLEMENTED)).toBe(true);
  });

  it("server streaming: 20k messages in order", async () => {
    const call = client.count(json({ count: 20_000, size: 128 }));
    let i = 0;
    for await (const m of call) expect(m.readUInt32BE(0)).toBe(i++);
    expect(i).toBe(20_000);
  });

  it("client streaming", async () => {
    const call = client.sum();
    for (let i = 0; i < 500; i++) await call.write(countMessage(i, 40));
    call.end();
    expect(JSON.parse((await call.response).toString())).toEqual({ count: 500, bytes: 20_000 });
  });

  it("bidi: 5k messages echoed in order (callback style reader)", async () => {
    const call = client.chat();
    const got: number[] = [];
    call.onMessage((m) => got.push(m.readUInt32BE(0)));
    for (let i = 0; i < 5000; i++) await call.write(countMessage(i, 32));
    call.end();
    expect(await call.status).toBeUndefined();
    expect(got).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });

  it("deadline exceeded on a unary call; the grpc-js handler sees the cancellation", async () => {
    const err = await client.sleep(json({ ms: 10_000, id: "dl" }), { timeoutMs: 300 }).catch((e) => e);
    expect(isGrpcError(err, Status.DEADLINE_EXCEEDED)).toBe(true);
    await vi.waitFor(() => expect(stats.events).toContain("sleep:dl:cancelled"), { timeout: 5000 });
  });

  it("deadline exceeded on a server stream", async () => {
    const call = client.infinite(json({ id: "sdl" }), { timeoutMs: 300 });
    const err = await (async () => {
      for await (const _ of call) {
        // drain
      }
    })().catch((e) => e);
    expect(isGrpcError(err, Status.DEADLINE_EXCEEDED)).toBe(true);
    await vi.waitFor(() => expect(stats.events).toContain("infinite:sdl:cancelled"), { timeout: 5000 });
  });

  it("AbortSignal cancels a server stream; the grpc-js handler sees it", async () => {
    const ac = new AbortController();
    const call = client.infinite(json({ id: "cancel" }), { signal: ac.signal });
    let n = 0;
    const err = await (async () => {
      for await (const _ of call) if (++n === 1000) ac.abort();
    })().catch((e) => e);
    expect(isGrpcError(err, Status.CANCELLED)).toBe(true);
    await vi.waitFor(() => expect(stats.events).toContain("infinite:cancel:cancelled"), { timeout: 5000 });
  });

  it("server-side cancellation (CANCELLED status from the server)", async () => {
    const err = await client.fail(json({ code: Status.CANCELLED, message: "bye" })).catch((e) => e);
    expect(isGrpcError(err, Status.CANCELLED)).toBe(true);
    expect((err as GrpcError).details).toBe("bye");
  });

  it("large messages: 4 MiB echo passes; over the limit gives RESOURCE_EXHAUSTED on each side", async () => {
    const atLimit = Buffer.alloc(4 * 1024 * 1024, 3);
    expect((await client.echo(atLimit)).equals(atLimit)).toBe(true);
    // grpc-js's server rejects a request over its 4 MiB receive limit.
    const over = await client.echo(Buffer.alloc(4 * 1024 * 1024 + 1)).catch((e) => e);
    expect(isGrpcError(over, Status.RESOURCE_EXHAUSTED)).toBe(true);
    // Our client rejects a response over its own receive limit.
    const smallChannel = connect(channel.target, { maxReceiveMessageBytes: 1000, maxSendMessageBytes: 2000 });
    try {
      const small = createClient(TestService, smallChannel);
      const tooBig = await small.echo(Buffer.alloc(1001)).catch((e) => e);
      expect(isGrpcError(tooBig, Status.RESOURCE_EXHAUSTED)).toBe(true);
      // ...and refuses to send one over its send limit.
      const tooBigToSend = await small.echo(Buffer.alloc(2001)).catch((e) => e);
      expect(isGrpcError(tooBigToSend, Status.RESOURCE_EXHAUSTED)).toBe(true);
    } finally {
      await smallChannel.close();
    }
  });

  it("300 concurrent unary calls and 20 concurrent streams on one channel", async () => {
    const unaries = Array.from({ length: 300 }, (_, i) => client.echo(Buffer.from(`m${i}`)));
    const streams = Array.from({ length: 20 }, async () => {
      let n = 0;
      for await (const _ of client.count(json({ count: 1000, size: 64 }))) n++;
      return n;
    });
    const results = await Promise.all(unaries);
    results.forEach((r, i) => {
      expect(r.toString()).toBe(`m${i}`);
    });
    expect(await Promise.all(streams)).toEqual(Array(20).fill(1000));
  });
});

describe("our client -> grpc-js server over TLS and mTLS", () => {
  it("TLS with the test CA", async () => {
    const { server, port } = await startGrpcJsServer(
      grpc.ServerCredentials.createSsl(null, [
        { private_key: tlsFixtures.serverKey, cert_chain: tlsFixtures.serverCert },
      ]),
    );
    const channel = connect(`127.0.0.1:${port}`, { tls: { ca: tlsFixtures.ca } });
    try {
      const res = await createClient(TestService, channel).echo(Buffer.from("tls"));
      expect(res.toString()).toBe("tls");
    } finally {
      await channel.close();
      await stopGrpcJsServer(server);
    }
  });

  it("mTLS: works with a client certificate, UNAVAILABLE without", async () => {
    const { server, port } = await startGrpcJsServer(
      grpc.ServerCredentials.createSsl(
        tlsFixtures.ca,
        [{ private_key: tlsFixtures.serverKey, cert_chain: tlsFixtures.serverCert }],
        true,
      ),
    );
    const good = connect(`127.0.0.1:${port}`, {
      tls: { ca: tlsFixtures.ca, cert: tlsFixtures.clientCert, key: tlsFixtures.clientKey },
    });
    const anonymous = connect(`127.0.0.1:${port}`, { tls: { ca: tlsFixtures.ca } });
    try {
      expect((await createClient(TestService, good).echo(Buffer.from("m"))).toString()).toBe("m");
      const err = await createClient(TestService, anonymous)
        .echo(Buffer.from("m"), { timeoutMs: 5000 })
        .catch((e) => e);
      expect(isGrpcError(err, Status.UNAVAILABLE)).toBe(true);
    } finally {
      await good.close();
      await anonymous.close();
      await stopGrpcJsServer(server);
    }
  });
});
