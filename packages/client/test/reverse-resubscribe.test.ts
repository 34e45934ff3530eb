/**
 * Reverse resubscription edge cases against a scripted in-process peer: the connection is lost right
 * after the last message a reverse subscription needed, so the resubscribe must end it normally.
 */
import { APIService, type MessageInit, StartPosition, type SubscribeRequest } from "@liftbridge/api";
import { createServer, GrpcError, type GrpcServer, type ServerDuplexCall, Status } from "@liftbridge/grpc";
import { afterEach, describe, expect, it } from "vitest";
import { type Client, connect } from "../src/index.js";

type Script = (req: SubscribeRequest, call: { send(m: MessageInit): boolean }) => void;

async function peer(scripts: Script[]) {
  const requests: SubscribeRequest[] = [];
  const server: GrpcServer = createServer();
  let port = 0;
  const unimplemented = Object.fromEntries(
    Object.keys(APIService).map((k) => [
      k,
      () => {
        throw new GrpcError(Status.UNIMPLEMENTED, k);
      },
    ]),
  );
  server.addService(APIService, {
    ...unimplemented,
    FetchMetadata: () => ({
      brokers: [{ id: "b0", host: "127.0.0.1", port }],
      streamMetadata: [
        {
          name: "s",
          subject: "s",
          partitions: new Map([[0, { id: 0, leader: "b0", replicas: ["b0"], isr: ["b0"] }]]),
        },
      ],
    }),
    Subscribe: (req: SubscribeRequest, call: { send(m: MessageInit): boolean }) => {
      requests.push(req);
      const script = scripts[requests.length - 1];
      if (script === undefined) throw new GrpcError(Status.INTERNAL, "unexpected Subscribe");
      script(req, call);
    },
    PublishAsync: async (call: ServerDuplexCall<unknown, unknown>) => {
      for await (const _ of call) {
        // never used
      }
    },
  } as never);
  port = await server.listen(0, "127.0.0.1");
  return { server, port, requests };
}

const sendOffsets = (call: { send(m: MessageInit): boolean }, offsets: number[]): void => {
  call.send({});
  for (const offset of offsets) call.send({ stream: "s", offset, value: Buffer.from(`v${offset}`) });
};

describe("reverse resubscription", () => {
  let client: Client | undefined;
  let server: GrpcServer | undefined;
  afterEach(async () => {
    await client?.close();
    await server?.close();
  });

  async function run(scripts: Script[], options: Parameters<Client["subscribe"]>[1]) {
    const p = await peer(scripts);
    server = p.server;
    client = await connect(`127.0.0.1:${p.port}`, { resubscribeWaitTimeMs: 10_000 });
    const sub = await client.subscribe("s", options);
    const got: number[] = [];
    for await (const m of sub) got.push(m.offset);
    return { got, closed: await sub.closed, requests: p.requests };
  }

  it("resubscribes from the last offset − 1 and ends when the server finds the stop above the new start", async () => {
    const r = await run(
      [
        (_req, call) => {
          sendOffsets(call, [5, 4]);
          throw new GrpcError(Status.UNAVAILABLE, "connection lost");
        },
        () => {
          throw new GrpcError(Status.INVALID_ARGUMENT, "Stop offset is after start offset (reverse): 4 > 3");
        },
      ],
      { reverse: true, stopAt: { time: Date.now() } },
    );
    expect(r.got).toEqual([5, 4]);
    expect(r.closed).toBeUndefined();
    expect(r.requests.map((q) => [q.reverse, q.startPosition, q.startOffset])).toEqual([
      [true, StartPosition.NEW_ONLY, 0],
      [true, StartPosition.OFFSET, 3],
    ]);
  });

  it.each([
    ["offset 0 delivered", {}, [1, 0]],
    ["stop offset delivered", { stopAt: { offset: 7 } }, [8, 7]],
  ] as const)("does not resubscribe after the %s", async (_name, options, offsets) => {
    const r = await run(
      [
        (_req, call) => {
          sendOffsets(call, [...offsets]);
          throw new GrpcError(Status.UNAVAILABLE, "connection lost");
        },
      ],
      { reverse: true, ...options },
    );
    expect(r.got).toEqual(offsets);
    expect(r.closed).toBeUndefined();
    expect(r.requests).toHaveLength(1);
  });

  it("the end of a reverse read (ResourceExhausted) ends the iteration normally", async () => {
    const r = await run(
      [
        (_req, call) => {
          sendOffsets(call, [2, 1, 0]);
          throw new GrpcError(Status.RESOURCE_EXHAUSTED, "Oldest offset reached");
        },
      ],
      { reverse: true },
    );
    expect(r.got).toEqual([2, 1, 0]);
    expect(r.closed).toBeUndefined();
  });
});
