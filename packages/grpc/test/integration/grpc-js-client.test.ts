// Interop: our server, @grpc/grpc-js clients (the reference peer).
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createServer, type GrpcServer, Status } from "../../src/index.js";
import { GrpcJsTestClient } from "../helpers/grpc-js-service.js";
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
type Generic = Record<string, (...args: unknown[]) => unknown> & grpc.Client;

interface UnaryOutcome {
  response?: Buffer | undefined;
  error?: grpc.ServiceError | undefined;
  header?: grpc.Metadata | undefined;
  trailer?: grpc.Metadata | undefined;
}

function unary(
  client: Generic,
  name: string,
  request: Buffer,
  metadata = new grpc.Metadata(),
  options: grpc.CallOptions = {},
): Promise<UnaryOutcome> {
  return new Promise((resolve) => {
    let header: grpc.Metadata | undefined;
    let trailer: grpc.Metadata | undefined;
    let outcome: UnaryOutcome | undefined;
    const call = client[name]?.(
      request,
      metadata,
      options,
      (error: grpc.ServiceError | null, response?: Buffer) => {
        outcome = error ? { error } : { response };
        if (trailer !== undefined) resolve({ ...outcome, header, trailer });
      },
    ) as grpc.ClientUnaryCall;
    call.on("metadata", (md) => {
      header = md;
    });
    call.on("status", (s: grpc.StatusObject) => {
      trailer = s.metadata;
      if (outcome !== undefined) resolve({ ...outcome, header, trailer });
    });
  });
}

function readAll(
  stream: grpc.ClientReadableStream<Buffer>,
): Promise<{ messages: Buffer[]; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const messages: Buffer[] = [];
    stream.on("data", (m: Buffer) => messages.push(m));
    stream.on("error", (error: grpc.ServiceError) => resolve({ messages, error }));
    stream.on("end", () => resolve({ messages }));
  });
}

describe("our server <- grpc-js client (h2c)", () => {
  let server: GrpcServer;
  let stats: TestStats;
  let client: Generic;

  beforeAll(async () => {
    const started = await startTestServer({ maxReceiveMessageBytes: 4 * 1024 * 1024 });
    server = started.server;
    stats = started.stats;
    client = new GrpcJsTestClient(`127.0.0.1:${started.port}`, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": 8 * 1024 * 1024,
    }) as unknown as Generic;
  });
  afterAll(async () => {
    client.close();
    await server.close({ graceMs: 100 });
  });

  it("unary with custom and -bin metadata round trip", async () => {
    const md = new grpc.Metadata();
    md.add("x-echo", "v1");
    md.add("x-echo", "v2, with comma");
    md.add("x-echo-bin", Buffer.from([0, 1, 254, 255]));
    const r = await unary(client, "echo", Buffer.from("ping"), md);
    expect(r.response?.toString()).toBe("ping");
    // Both values arrive and go back as two header fields; grpc-js reads response headers through node's
    // header object, which joins duplicates with ", " (our own client keeps them apart: lean.test.ts).
    expect(r.header?.get("x-echo")).toEqual(["v1, v2, with comma"]);
    expect(r.trailer?.get("x-echo-bin")).toEqual([Buffer.from([0, 1, 254, 255])]);
  });

  it("empty request and response", async () => {
    const r = await unary(client, "echo", Buffer.alloc(0));
    expect(r.response?.length).toBe(0);
  });

  it("error status with unicode message and trailers (trailers-only response)", async () => {
    const r = await unary(client, "fail", json({ code: Status.NOT_FOUND, message: UNICODE_MESSAGE }));
    expect(r.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(r.error?.details).toBe(UNICODE_MESSAGE);
    expect(r.error?.metadata.get("x-err")).toEqual(["detail"]);
    expect(r.error?.metadata.get("x-err-bin")).toEqual([Buffer.from([0, 1, 2, 255])]);
  });

  it("unknown method gives UNIMPLEMENTED", async () => {
    const Unknown = grpc.makeGenericClientConstructor(
      { nope: { ...TestService.echo, path: "/test.Test/Nope" } } as unknown as grpc.ServiceDefinition,
      "Unknown",
    );
    const c = new Unknown(
      client.getChannel().getTarget(),
      grpc.credentials.createInsecure(),
    ) as unknown as Generic;
    const r = await unary(c, "nope", Buffer.from("x"));
    expect(r.error?.code).toBe(grpc.status.UNIMPLEMENTED);
    c.close();
  });

  it("server streaming: 20k messages in order", async () => {
    const stream = client.count?.(json({ count: 20_000, size: 128 })) as grpc.ClientReadableStream<Buffer>;
    const { messages, error } = await readAll(stream);
    expect(error).toBeUndefined();
    expect(messages.length).toBe(20_000);
    messages.forEach((m, i) => {
      expect(m.readUInt32BE(0)).toBe(i);
    });
  });

  it("client streaming", async () => {
    const result = await new Promise<Buffer>((resolve, reject) => {
      const call = client.sum?.((err: grpc.ServiceError | null, res: Buffer) =>
        err ? reject(err) : resolve(res),
      ) as grpc.ClientWritableStream<Buffer>;
      for (let i = 0; i < 500; i++) call.write(countMessage(i, 50));
      call.end();
    });
    expect(JSON.parse(result.toString())).toEqual({ count: 500, bytes: 25_000 });
  });

  it.each(["chat", "chatIter"])("bidi %s: 5k messages echoed in order", async (name) => {
    const call = client[name]?.() as grpc.ClientDuplexStream<Buffer, Buffer>;
    const done = readAll(call);
    for (let i = 0; i < 5000; i++) call.write(countMessage(i, 32));
    call.end();
    const { messages, error } = await done;
    expect(error).toBeUndefined();
    expect(messages.map((m) => m.readUInt32BE(0))).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });

  it("unary deadline exceeded; the handler's signal fires", async () => {
    const r = await unary(client, "sleep", json({ ms: 10_000, id: "gjs-dl" }), undefined, {
      deadline: Date.now() + 300,
    });
    expect(r.error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await vi.waitFor(
      () => expect(stats.events).toContainEqual(expect.stringMatching(/^sleep:gjs-dl:aborted:(4|1)$/)),
      {
        timeout: 5000,
      },
    );
  });

  it("server-stream deadline exceeded; the producer returns", async () => {
    const stream = client.infinite?.(json({ id: "gjs-sdl" }), new grpc.Metadata(), {
      deadline: Date.now() + 300,
    }) as grpc.ClientReadableStream<Buffer>;
    const { error } = await readAll(stream);
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await vi.waitFor(
      () => expect(stats.events.some((e) => e.startsWith("infinite:gjs-sdl:returned"))).toBe(true),
      {
        timeout: 5000,
      },
    );
  });

  it("client cancels a server stream; the producer returns", async () => {
    const stream = client.infinite?.(json({ id: "gjs-cancel" })) as grpc.ClientReadableStream<Buffer>;
    let n = 0;
    const result = new Promise<grpc.ServiceError | undefined>((resolve) => {
      stream.on("data", () => {
        if (++n === 2000) stream.cancel();
      });
      stream.on("error", (e: grpc.ServiceError) => resolve(e));
      stream.on("end", () => resolve(undefined));
    });
    expect((await result)?.code).toBe(grpc.status.CANCELLED);
    await vi.waitFor(
      () => expect(stats.events).toContain(`infinite:gjs-cancel:returned:${Status.CANCELLED}`),
      {
        timeout: 5000,
      },
    );
  });

  it("client cancels an in-flight unary; the handler is signalled", async () => {
    const p = new Promise<grpc.ServiceError>((resolve) => {
      const call = client.sleep?.(json({ ms: 10_000, id: "gjs-ucancel" }), (e: grpc.ServiceError) =>
        resolve(e),
      ) as grpc.ClientUnaryCall;
      setTimeout(() => call.cancel(), 100);
    });
    expect((await p).code).toBe(grpc.status.CANCELLED);
    await vi.waitFor(() => expect(stats.events).toContain(`sleep:gjs-ucancel:aborted:${Status.CANCELLED}`), {
      timeout: 5000,
    });
  });

  it("server-side cancellation: handler fails mid-stream with CANCELLED", async () => {
    const r = await unary(client, "fail", json({ code: Status.CANCELLED, message: "server cancelled" }));
    expect(r.error?.code).toBe(grpc.status.CANCELLED);
    expect(r.error?.details).toBe("server cancelled");
  });

  it("large messages: 4 MiB passes, 4 MiB + 1 gives RESOURCE_EXHAUSTED", async () => {
    const atLimit = Buffer.alloc(4 * 1024 * 1024, 7);
    const ok = await unary(client, "echo", atLimit);
    expect(ok.error).toBeUndefined();
    expect(ok.response?.equals(atLimit)).toBe(true);
    const over = await unary(client, "echo", Buffer.alloc(4 * 1024 * 1024 + 1));
    expect(over.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it("300 concurrent unary calls and 20 concurrent streams on one connection", async () => {
    const unaries = Array.from({ length: 300 }, (_, i) => unary(client, "echo", Buffer.from(`m${i}`)));
    const streams = Array.from({ length: 20 }, () =>
      readAll(client.count?.(json({ count: 1000, size: 64 })) as grpc.ClientReadableStream<Buffer>),
    );
    const results = await Promise.all(unaries);
    results.forEach((r, i) => {
      expect(r.response?.toString()).toBe(`m${i}`);
    });
    for (const s of await Promise.all(streams)) expect(s.messages.length).toBe(1000);
  });
});

describe("our server <- grpc-js client over TLS and mTLS", () => {
  it("TLS: a grpc-js client trusting the test CA calls our secure server", async () => {
    const { server, port } = await startTestServer({
      tls: { key: tlsFixtures.serverKey, cert: tlsFixtures.serverCert },
    });
    const client = new GrpcJsTestClient(
      `127.0.0.1:${port}`,
      grpc.credentials.createSsl(tlsFixtures.ca),
    ) as unknown as Generic;
    try {
      const r = await unary(client, "echo", Buffer.from("secure"));
      expect(r.response?.toString()).toBe("secure");
    } finally {
      client.close();
      await server.close({ graceMs: 100 });
    }
  });

  it("mTLS: a client certificate is required, verified and visible to handlers", async () => {
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
    const stats: TestStats = { events: [], produced: 0 };
    server.addService(TestService, {
      ...testHandlers(stats),
      echo(request, call) {
        seen.push(`${call.tls?.authorized}:${call.tls?.peerCertificate?.subject.CN}`);
        return request;
      },
    });
    const port = await server.listen(0, "127.0.0.1");
    const good = new GrpcJsTestClient(
      `127.0.0.1:${port}`,
      grpc.credentials.createSsl(tlsFixtures.ca, tlsFixtures.clientKey, tlsFixtures.clientCert),
    ) as unknown as Generic;
    const anonymous = new GrpcJsTestClient(
      `127.0.0.1:${port}`,
      grpc.credentials.createSsl(tlsFixtures.ca),
    ) as unknown as Generic;
    try {
      const r = await unary(good, "echo", Buffer.from("mtls"));
      expect(r.response?.toString()).toBe("mtls");
      expect(seen).toEqual(["true:test-client"]);
      const denied = await unary(anonymous, "echo", Buffer.from("nope"), undefined, {
        deadline: Date.now() + 5000,
      });
      expect(denied.error?.code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      good.close();
      anonymous.close();
      await server.close({ graceMs: 100 });
    }
  });
});
