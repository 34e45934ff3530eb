import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  APIService,
  type CreateStreamRequest,
  type CreateStreamResponse,
  HEALTH_SERVICE_NAME,
  HealthCheckResponseServingStatus,
  HealthService,
  Message,
  type PublishRequest,
  PublishResponse,
  Status,
  type SubscribeRequest,
} from "../../src/index.js";
import { apiProtoPath } from "../support/proto.js";

/**
 * Real grpc-js over HTTP/2 on 127.0.0.1: a server built from our `APIService` definitions,
 * called by a grpc-js client built from the same definitions and by a client built from
 * @grpc/proto-loader (protobufjs codec on the client side, ours on the server side).
 */
const server = new grpc.Server();
let address = "";
const received: CreateStreamRequest[] = [];

beforeAll(async () => {
  server.addService(APIService as unknown as grpc.ServiceDefinition, {
    CreateStream(
      call: grpc.ServerUnaryCall<CreateStreamRequest, CreateStreamResponse>,
      cb: grpc.sendUnaryData<CreateStreamResponse>,
    ) {
      received.push(call.request);
      if (call.request.name === "taken")
        cb({ code: Status.ALREADY_EXISTS, details: "stream already exists" });
      else cb(null, {});
    },
    Subscribe(call: grpc.ServerWritableStream<SubscribeRequest, Message>) {
      call.write(Message.create()); // the empty first frame (spec §0.2)
      for (let i = 0; i < 3; i++) {
        call.write(
          Message.create({
            offset: call.request.startOffset + i,
            timestamp: 1_764_201_600_000_000_000n + BigInt(i),
            stream: call.request.stream,
            value: Buffer.from(`m${i}`),
            headers: new Map([["subject", Buffer.from("orders")]]),
          }),
        );
      }
      call.end();
    },
    PublishAsync(call: grpc.ServerDuplexStream<PublishRequest, PublishResponse>) {
      call.on("data", (req: PublishRequest) => {
        call.write(
          PublishResponse.create({
            ack: { stream: req.stream, correlationId: req.correlationId, offset: req.expectedOffset },
            correlationId: req.correlationId,
          }),
        );
      });
      call.on("end", () => call.end());
    },
  });
  server.addService(HealthService as unknown as grpc.ServiceDefinition, {
    Check(
      call: grpc.ServerUnaryCall<{ service: string }, { status: number }>,
      cb: grpc.sendUnaryData<unknown>,
    ) {
      cb(null, {
        status:
          call.request.service === HEALTH_SERVICE_NAME
            ? HealthCheckResponseServingStatus.SERVING
            : HealthCheckResponseServingStatus.SERVICE_UNKNOWN,
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  address = `127.0.0.1:${port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});

// biome-ignore lint/suspicious/noExplicitAny: grpc-js generic clients are untyped
type AnyClient = Record<string, any> & grpc.Client;

function ours(): AnyClient {
  const Ctor = grpc.makeGenericClientConstructor(APIService as unknown as grpc.ServiceDefinition, "API");
  return new Ctor(address, grpc.credentials.createInsecure()) as unknown as AnyClient;
}

function theirs(): AnyClient {
  const def = grpc.loadPackageDefinition(
    loadSync(apiProtoPath, { keepCase: true, longs: String, enums: Number, defaults: true }),
  ) as unknown as { proto: { API: new (a: string, c: grpc.ChannelCredentials) => AnyClient } };
  return new def.proto.API(address, grpc.credentials.createInsecure());
}

const unary = <T>(client: AnyClient, method: string, req: object): Promise<T> =>
  new Promise((resolve, reject) =>
    client[method](req, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))),
  );

const collect = <T>(stream: NodeJS.ReadableStream): Promise<T[]> =>
  new Promise((resolve, reject) => {
    const out: T[] = [];
    stream.on("data", (m: T) => out.push(m));
    stream.on("error", reject);
    stream.on("end", () => resolve(out));
  });

describe.each([
  ["our definitions", ours],
  ["proto-loader definitions", theirs],
])("grpc-js client with %s", (_name, makeClient) => {
  it("CreateStream: unary call, wrapper fields, AlreadyExists status", async () => {
    const client = makeClient();
    try {
      await unary(client, "CreateStream", {
        name: "orders",
        subject: "orders",
        partitions: 2,
        minIsr: { value: 2 },
      });
      const got = received.at(-1)!;
      expect([got.name, got.subject, got.partitions, got.minIsr, got.encryption]).toEqual([
        "orders",
        "orders",
        2,
        { value: 2 },
        undefined,
      ]);
      await expect(unary(client, "CreateStream", { name: "taken", subject: "x" })).rejects.toMatchObject({
        code: Status.ALREADY_EXISTS,
        details: "stream already exists",
      });
    } finally {
      client.close();
    }
  });

  it("Subscribe: server streaming, empty first frame, offsets and ns timestamps", async () => {
    const client = makeClient();
    try {
      const msgs = await collect<Record<string, unknown>>(
        client.Subscribe({ stream: "orders", startPosition: 1, startOffset: 10 }),
      );
      expect(msgs).toHaveLength(4);
      const first = msgs[0]!;
      expect(first.offset === 0 || first.offset === "0").toBe(true);
      expect(msgs.slice(1).map((m) => String(m.offset))).toEqual(["10", "11", "12"]);
      expect(String(msgs[3]!.timestamp)).toBe("1764201600000000002");
      expect(Buffer.from(msgs[1]!.value as Uint8Array).toString()).toBe("m0");
    } finally {
      client.close();
    }
  });

  it("PublishAsync: bidi stream, acks correlated by id", async () => {
    const client = makeClient();
    try {
      const call = client.PublishAsync();
      const acks = collect<Record<string, { correlationId: string; offset: unknown }>>(call);
      for (let i = 0; i < 5; i++)
        call.write({ stream: "orders", correlationId: `c${i}`, expectedOffset: -1, value: Buffer.from("x") });
      call.end();
      const res = await acks;
      expect(res.map((r) => r.ack!.correlationId)).toEqual(["c0", "c1", "c2", "c3", "c4"]);
      expect(res.map((r) => String(r.ack!.offset))).toEqual(["-1", "-1", "-1", "-1", "-1"]);
    } finally {
      client.close();
    }
  });
});

describe("grpc-js health client", () => {
  it("Check proto.API: SERVING", async () => {
    const Ctor = grpc.makeGenericClientConstructor(
      HealthService as unknown as grpc.ServiceDefinition,
      "Health",
    );
    const client = new Ctor(address, grpc.credentials.createInsecure()) as unknown as AnyClient;
    try {
      await expect(unary(client, "Check", { service: "proto.API" })).resolves.toEqual({
        status: HealthCheckResponseServingStatus.SERVING,
      });
    } finally {
      client.close();
    }
  });
});
