import { GrpcError, Status } from "@liftbridge/grpc";
import { describe, expect, it } from "vitest";
import { codeForStatus, fromGrpcError } from "../src/grpc-status.js";
import {
  crc32,
  isLiftbridgeError,
  LiftbridgeError,
  newMessage,
  resolveClientOptions,
  unmarshalAck,
  unmarshalMessage,
} from "../src/index.js";
import { buildSubscribeRequest, subscriptionEnd } from "../src/subscription.js";

describe("crc32 (IEEE, as Go hash/crc32.ChecksumIEEE)", () => {
  it.each([
    ["", 0],
    ["a", 0xe8b7be43],
    ["foo", 0x8c736521],
    ["123456789", 0xcbf43926],
    ["The quick brown fox jumps over the lazy dog", 0x414fa339],
  ])("crc32(%j)", (input, want) => {
    expect(crc32(new TextEncoder().encode(input))).toBe(want);
  });
});

describe("status mapping (spec §6.5)", () => {
  it.each([
    [Status.ALREADY_EXISTS, "createStream", "stream_exists"],
    [Status.NOT_FOUND, "deleteStream", "no_such_stream"],
    [Status.NOT_FOUND, "pauseStream", "no_such_partition"],
    [Status.NOT_FOUND, "setStreamReadonly", "no_such_partition"],
    [Status.NOT_FOUND, "subscribeSetup", "no_such_partition"],
    [Status.NOT_FOUND, "subscribe", "stream_deleted"],
    [Status.FAILED_PRECONDITION, "subscribe", "partition_paused"],
    [Status.RESOURCE_EXHAUSTED, "subscribe", "readonly_partition"],
    [Status.RESOURCE_EXHAUSTED, "subscribeSetup", "readonly_partition"],
    [Status.DEADLINE_EXCEEDED, "publishToSubject", "ack_timeout"],
    [Status.DEADLINE_EXCEEDED, "other", "deadline_exceeded"],
    [Status.UNAVAILABLE, "other", "unavailable"],
    [Status.CANCELLED, "other", "canceled"],
    [Status.INTERNAL, "other", "internal"],
    [Status.UNKNOWN, "other", "internal"],
  ] as const)("status %i in %s -> %s", (status, ctx, code) => {
    expect(codeForStatus(status, ctx)).toBe(code);
  });

  it("keeps the gRPC status as cause", () => {
    const g = new GrpcError(Status.ALREADY_EXISTS, "stream already exists");
    const e = fromGrpcError(g, "createStream");
    expect(isLiftbridgeError(e, "stream_exists")).toBe(true);
    expect(e.cause).toBe(g);
    expect(e.message).toBe("[stream_exists] stream already exists");
  });

  it("a stop position reached ends the iteration normally; without a stop it is readonly_partition", () => {
    const g = new GrpcError(Status.RESOURCE_EXHAUSTED, "Stop offset reached");
    expect(subscriptionEnd(g, true)).toBeUndefined();
    expect(subscriptionEnd(g, false)?.code).toBe("readonly_partition");
  });
});

describe("options", () => {
  it("defaults mirror go-liftbridge DefaultClientOptions", () => {
    const o = resolveClientOptions();
    expect([o.ackWaitTimeMs, o.resubscribeWaitTimeMs, o.keepAliveTimeMs, o.maxConnsPerBroker]).toEqual([
      5000, 30_000, 30_000, 2,
    ]);
    expect([o.readBufferSize, o.writeBufferSize, o.serverSelection]).toEqual([-1, -1, "random"]);
  });
  it("tlsCert becomes a CA; tls wins over it; bad values are invalid_argument", () => {
    expect(resolveClientOptions({ tlsCert: "PEM" }).tls).toEqual({ ca: Buffer.from("PEM") });
    expect(resolveClientOptions({ tlsCert: "PEM", tls: true }).tls).toBe(true);
    expect(() => resolveClientOptions({ ackWaitTimeMs: -1 })).toThrow(LiftbridgeError);
    // biome-ignore lint/suspicious/noExplicitAny: deliberately invalid input.
    expect(() => resolveClientOptions({ serverSelection: "fastest" as any })).toThrow(/serverSelection/);
  });
});

describe("subscribe request (Go SubscriptionOptions)", () => {
  const now = 1_700_000_000_000;
  it.each([
    [{}, { startPosition: 0, stopPosition: 0, partition: 0 }],
    [{ startAt: "earliest" }, { startPosition: 2 }],
    [{ startAt: "latest" }, { startPosition: 3 }],
    [{ startAt: { offset: 7 } }, { startPosition: 1, startOffset: 7 }],
    [
      { startAt: { time: new Date(now - 5) } },
      { startPosition: 4, startTimestamp: BigInt(now - 5) * 1_000_000n },
    ],
    [
      { startAt: { timeDeltaMs: 60_000 } },
      { startPosition: 4, startTimestamp: BigInt(now - 60_000) * 1_000_000n },
    ],
    [{ stopAt: "latest" }, { stopPosition: 2 }],
    [{ stopAt: { offset: 3 } }, { stopPosition: 1, stopOffset: 3 }],
    [{ stopAt: { time: now - 1 } }, { stopPosition: 3, stopTimestamp: BigInt(now - 1) * 1_000_000n }],
    [
      { partition: 2, readIsrReplica: true, resume: true },
      { partition: 2, readISRReplica: true, resume: true },
    ],
    [
      { reverse: true, startAt: { offset: 5 } },
      { reverse: true, startPosition: 1, startOffset: 5 },
    ],
  ] as const)("%j", (options, want) => {
    expect(buildSubscribeRequest("s", options, undefined, now)).toMatchObject(want);
  });
  it("sends reverse only when asked (a v1 server never sees field 12)", () => {
    expect(buildSubscribeRequest("s", {}, undefined, now).reverse).toBeUndefined();
    expect(buildSubscribeRequest("s", { reverse: false }, undefined, now).reverse).toBeUndefined();
  });
  it("rejects a negative partition and a stop time in the future", () => {
    expect(() => buildSubscribeRequest("s", { partition: -1 }, undefined, now)).toThrow(/partition/);
    expect(() => buildSubscribeRequest("s", { stopAt: { time: now + 1000 } }, undefined, now)).toThrow(
      /future/,
    );
  });
});

describe("NATS envelope helpers", () => {
  it("newMessage defaults expectedOffset to -1 and round-trips; bad input is invalid_argument", () => {
    const data = newMessage(new TextEncoder().encode("hi"), {
      key: new Uint8Array([1]),
      ackInbox: "acks",
      correlationId: "c",
      ackPolicy: "all",
    });
    const m = unmarshalMessage(data);
    expect([m.offset, m.ackInbox, m.correlationId]).toEqual([-1, "acks", "c"]);
    expect(() => unmarshalMessage(new Uint8Array([1, 2, 3]))).toThrow(LiftbridgeError);
    expect(() => unmarshalAck(data)).toThrow(/invalid envelope/);
  });
});
