import { readdir } from "node:fs/promises";
import * as http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { APIService, StartPosition, StopPosition, SubscribeRequest } from "@liftbridge/api";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, type Env, startEnv, subscribe, unary, waitFor } from "../helpers.js";

let env: Env;
const STORED = 50;

// A client whose requests are raw bytes: every RPC of proto.API, request serializer = identity.
const rawDefinition: grpc.ServiceDefinition = Object.fromEntries(
  Object.entries(APIService).map(([k, m]) => [
    k,
    { ...m, requestSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b },
  ]),
) as unknown as grpc.ServiceDefinition;
const RawClient = grpc.makeGenericClientConstructor(rawDefinition, "API") as unknown as new (
  a: string,
  c: grpc.ChannelCredentials,
) => grpc.Client & Record<string, (...args: unknown[]) => unknown>;

function rawCall(client: InstanceType<typeof RawClient>, rpc: string, body: Buffer): Promise<number> {
  const m = APIService[rpc as keyof typeof APIService];
  const deadline = Date.now() + 5000;
  return new Promise((resolve) => {
    if (!m.requestStream && !m.responseStream) {
      client[rpc]!(body, { deadline }, (err: grpc.ServiceError | null) => resolve(err ? err.code : 0));
    } else if (!m.requestStream) {
      const call = client[rpc]!(body, { deadline }) as grpc.ClientReadableStream<Buffer>;
      call.on("data", () => call.cancel());
      call.on("error", () => {});
      call.on("status", (s: grpc.StatusObject) => resolve(s.code));
    } else {
      const call = client[rpc]!({ deadline }) as grpc.ClientDuplexStream<Buffer, Buffer>;
      call.on("data", () => {});
      call.on("error", () => {});
      call.on("status", (s: grpc.StatusObject) => resolve(s.code));
      call.write(body);
      call.end();
    }
  });
}

async function assertIntact(): Promise<void> {
  const s = subscribe(env.client, {
    stream: "keep",
    startPosition: StartPosition.EARLIEST,
    stopPosition: StopPosition.STOP_LATEST,
  });
  expect((await s.status).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  expect(s.messages.slice(1).map((m) => Buffer.from(m.value as Uint8Array).toString())).toEqual(
    Array.from({ length: STORED }, (_, i) => `keep-${i}`),
  );
}

beforeAll(async () => {
  env = await startEnv({ maxMessageBytes: 1024 });
  await unary(env.client, "CreateStream", { name: "keep", subject: "keep" });
  for (let i = 0; i < STORED; i++)
    await unary(env.client, "Publish", { stream: "keep", value: Buffer.from(`keep-${i}`) });
});
afterAll(async () => {
  await env.close();
});

describe("bad input never crashes the server", () => {
  it("random bytes as the request body of every RPC get a status; the server keeps serving", async () => {
    const client = new RawClient(`127.0.0.1:${env.broker.port}`, grpc.credentials.createInsecure());
    const rpcs = Object.keys(APIService);
    const seen = new Set<number>();
    try {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...rpcs), fc.uint8Array({ maxLength: 200 }), async (rpc, bytes) => {
          const code = await rawCall(client, rpc, Buffer.from(bytes));
          seen.add(code);
          expect(code).not.toBe(grpc.status.UNAVAILABLE);
        }),
        { numRuns: 300, seed: 7 },
      );
    } finally {
      client.close();
    }
    // Truncated and malformed protobuf is Internal (as grpc-go answers), never a crash.
    expect(seen.has(grpc.status.INTERNAL)).toBe(true);
    await assertIntact();
  });

  it("invalid names and subjects, negative partitions, oversized messages get clear statuses", async () => {
    // Names are free-form upstream; they must never escape data.dir.
    for (const name of ["../escape", "a/b", "..", ".", "ünï côdé", "x".repeat(80)]) {
      await unary(env.client, "CreateStream", {
        name,
        subject: `n.${Buffer.from(name).toString("hex").slice(0, 40)}`,
      });
    }
    const dirs = await readdir(`${env.dir}/streams`);
    expect(dirs.every((d) => !d.includes("/") && d !== ".." && d !== ".")).toBe(true);
    await expect(readdir(`${env.dir}/../escape`)).rejects.toThrow();
    expect(
      (await codeOf(unary(env.client, "CreateStream", { name: "x".repeat(300), subject: "long" }))).code,
    ).toBe(grpc.status.INVALID_ARGUMENT);
    for (const subject of ["a\tb", " ", "a.", ".", "a\nb"]) {
      expect((await codeOf(unary(env.client, "CreateStream", { name: "bad-subject", subject }))).code).toBe(
        grpc.status.INVALID_ARGUMENT,
      );
    }
    expect(
      (await codeOf(unary(env.client, "CreateStream", { name: "huge", subject: "huge", partitions: 1e6 })))
        .code,
    ).toBe(grpc.status.INVALID_ARGUMENT);
    expect(
      (await codeOf(unary(env.client, "Publish", { stream: "keep", partition: -1, value: Buffer.from("x") })))
        .code,
    ).toBe(grpc.status.NOT_FOUND);
    expect((await subscribe(env.client, { stream: "keep", partition: -2 }).status).code).toBe(
      grpc.status.NOT_FOUND,
    );
    expect((await codeOf(unary(env.client, "PauseStream", { name: "keep", partitions: [-1] }))).code).toBe(
      grpc.status.NOT_FOUND,
    );
    // Larger than clustering.replication.max.bytes (1 KiB here): TOO_LARGE -> InvalidArgument.
    expect(
      (await codeOf(unary(env.client, "Publish", { stream: "keep", value: Buffer.alloc(4096) }))).code,
    ).toBe(grpc.status.INVALID_ARGUMENT);
    // Larger than the gRPC limit (4 MiB): ResourceExhausted from the transport.
    expect(
      (await codeOf(unary(env.client, "Publish", { stream: "keep", value: Buffer.alloc(5 * 1024 * 1024) })))
        .code,
    ).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // Oversized plain NATS publishes are dropped.
    env.natsClient.publish("keep", Buffer.alloc(4096));
    await env.natsClient.flush();
    await assertIntact();
  });

  it("clients that disconnect mid-stream (Subscribe, PublishAsync) do not disturb the server", async () => {
    for (let round = 0; round < 5; round++) {
      const c = new (
        grpc.makeGenericClientConstructor(
          APIService as unknown as grpc.ServiceDefinition,
          "API",
        ) as unknown as new (
          a: string,
          c: grpc.ChannelCredentials,
        ) => grpc.Client & Record<string, (...a: unknown[]) => unknown>
      )(`127.0.0.1:${env.broker.port}`, grpc.credentials.createInsecure());
      const sub = c.Subscribe!({
        stream: "keep",
        startPosition: StartPosition.EARLIEST,
      }) as grpc.ClientReadableStream<unknown>;
      let got = 0;
      sub.on("data", () => got++);
      sub.on("error", () => {});
      const pub = c.PublishAsync!() as grpc.ClientDuplexStream<unknown, unknown>;
      pub.on("error", () => {});
      pub.on("data", () => {});
      pub.write({ stream: "nope", value: Buffer.from("x"), correlationId: "1" });
      await waitFor(() => got > 10);
      sub.cancel();
      pub.cancel();
      c.close();
    }
    // A connection destroyed under an open Subscribe (no RST_STREAM, the socket just goes away).
    for (let round = 0; round < 3; round++) {
      const session = http2.connect(`http://127.0.0.1:${env.broker.port}`);
      const req = session.request({
        ":method": "POST",
        ":path": "/proto.API/Subscribe",
        "content-type": "application/grpc",
        te: "trailers",
      });
      const body = SubscribeRequest.encode({ stream: "keep", startPosition: StartPosition.EARLIEST });
      const frame = Buffer.alloc(5 + body.length);
      frame.writeUInt32BE(body.length, 1);
      body.copy(frame, 5);
      req.end(frame);
      let bytes = 0;
      req.on("data", (d: Buffer) => {
        bytes += d.length;
      });
      req.on("error", () => {});
      await waitFor(() => bytes > 100);
      session.destroy();
    }
    await waitFor(() => env.broker.server.activeCalls === 0, 10_000, "calls to end");
    await assertIntact();
  });
});
