import { readdir } from "node:fs/promises";
import * as path from "node:path";
import { status as Code } from "@grpc/grpc-js";
import {
  AckError,
  AckPolicy,
  PublishAsyncErrorCode,
  StartPosition,
  StopPosition,
  unmarshalAck,
} from "@liftbridge/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, type Env, startEnv, subscribe, unary, unaryNoDeadline, waitFor } from "../helpers.js";

let env: Env;
let n = 0;
const fresh = (prefix = "s") => `${prefix}${++n}`;

beforeAll(async () => {
  env = await startEnv({ maxMessageBytes: 64 * 1024 });
});
afterAll(async () => {
  await env.close();
});

const create = (name: string, extra: object = {}) =>
  unary(env.client, "CreateStream", { name, subject: name, ...extra });
const publish = (stream: string, value: string, extra: object = {}) =>
  unary<{ ack: { offset: number; ackError: number } | null }>(env.client, "Publish", {
    stream,
    value: Buffer.from(value),
    ...extra,
  });
const values = (msgs: Record<string, unknown>[]) =>
  msgs.slice(1).map((m) => Buffer.from(m.value as Uint8Array).toString());

describe("CreateStream (spec §5 rows)", () => {
  it.each([
    [{ name: "", subject: "a" }, Code.INVALID_ARGUMENT, "Name cannot be empty"],
    [{ name: "x1", subject: "" }, Code.INVALID_ARGUMENT, "Subject is invalid"],
    [{ name: "x2", subject: "a b" }, Code.INVALID_ARGUMENT, "Subject is invalid"],
    [{ name: "x3", subject: "a..b" }, Code.INVALID_ARGUMENT, "Subject is invalid"],
    [{ name: "x4", subject: "a." }, Code.INVALID_ARGUMENT, "Subject is invalid"],
    [{ name: "__activity", subject: "a" }, Code.INVALID_ARGUMENT, "Stream is reserved"],
    [{ name: "__cursors", subject: "a" }, Code.INVALID_ARGUMENT, "Stream is reserved"],
    [
      { name: "x5", subject: "a", replicationFactor: 2 },
      Code.INVALID_ARGUMENT,
      "Invalid replicationFactor 2, cluster size 1",
    ],
    [
      { name: "x6", subject: "a", replicationFactor: -2 },
      Code.INVALID_ARGUMENT,
      "Invalid replicationFactor -2",
    ],
    [{ name: "x7", subject: "a", partitions: -1 }, Code.INVALID_ARGUMENT, "Invalid partitions"],
    [
      { name: "x8", subject: "a", encryption: { value: true } },
      Code.FAILED_PRECONDITION,
      "Failed on preconditions",
    ],
    [
      { name: "x9", subject: "a", retentionMaxBytes: { value: -1 } },
      Code.INVALID_ARGUMENT,
      "retentionMaxBytes",
    ],
  ])("%j -> %i", async (req, code, details) => {
    const r = await codeOf(unary(env.client, "CreateStream", req));
    expect(r.code).toBe(code);
    expect(r.details).toContain(details);
  });

  it("AlreadyExists for a taken name; RF 0 and -1 are accepted", async () => {
    const name = fresh();
    await create(name, { replicationFactor: -1 });
    const r = await codeOf(create(name));
    expect(r).toEqual({ code: Code.ALREADY_EXISTS, details: "stream already exists" });
    await create(fresh(), { replicationFactor: 0 });
  });

  it("stores per-stream overrides and applies them to the partition logs", async () => {
    const name = fresh();
    await create(name, {
      partitions: 2,
      segmentMaxBytes: { value: 200 },
      retentionMaxMessages: { value: 1000 },
      optimisticConcurrencyControl: { value: false },
      minIsr: { value: 1 },
    });
    expect(env.broker.core.stream(name)!.config).toEqual({
      segmentMaxBytes: 200,
      retentionMaxMessages: 1000,
      optimisticConcurrencyControl: false,
      minIsr: 1,
    });
    for (let i = 0; i < 10; i++) await publish(name, `message number ${i}`);
    const dir = env.broker.core.partition(name, 0)!.dir;
    const logs = (await readdir(dir)).filter((f) => f.endsWith(".log"));
    expect(logs.length).toBeGreaterThan(1);
  });
});

describe("DeleteStream, PauseStream, SetStreamReadonly", () => {
  it("DeleteStream: reserved, unknown, and a live subscriber ending NotFound", async () => {
    expect((await codeOf(unary(env.client, "DeleteStream", { name: "__cursors" }))).code).toBe(
      Code.INVALID_ARGUMENT,
    );
    expect(await codeOf(unary(env.client, "DeleteStream", { name: "nope" }))).toEqual({
      code: Code.NOT_FOUND,
      details: "stream does not exist",
    });
    const name = fresh();
    await create(name);
    await publish(name, "a");
    const sub = subscribe(env.client, { stream: name, startPosition: StartPosition.EARLIEST });
    await waitFor(() => sub.messages.length === 2);
    const dir = path.dirname(env.broker.core.partition(name, 0)!.dir);
    await unary(env.client, "DeleteStream", { name });
    expect((await sub.status).code).toBe(Code.NOT_FOUND);
    await expect(readdir(dir)).rejects.toThrow();
    const md = await unary<{ streamMetadata: { error: number }[] }>(env.client, "FetchMetadata", {
      streams: [name],
    });
    expect(md.streamMetadata[0]!.error).toBe(1);
  });

  it("PauseStream: NotFound rows, subscriber ends FailedPrecondition, NATS publishes dropped, Publish resumes", async () => {
    expect(await codeOf(unary(env.client, "PauseStream", { name: "nope" }))).toEqual({
      code: Code.NOT_FOUND,
      details: "stream not found",
    });
    expect((await codeOf(unary(env.client, "PauseStream", { name: "nope", partitions: [0] }))).code).toBe(
      Code.NOT_FOUND,
    );
    const name = fresh();
    await create(name, { partitions: 2 });
    expect(await codeOf(unary(env.client, "PauseStream", { name, partitions: [5] }))).toEqual({
      code: Code.NOT_FOUND,
      details: "partition does not exist",
    });
    expect((await codeOf(unary(env.client, "PauseStream", { name, partitions: [-1] }))).code).toBe(
      Code.NOT_FOUND,
    );
    // A subscriber waiting on an empty partition is ended too.
    const empty = fresh();
    await create(empty);
    const waiting = subscribe(env.client, { stream: empty });
    await waitFor(() => waiting.messages.length === 1); // the empty first frame
    await unary(env.client, "PauseStream", { name: empty });
    expect((await waiting.status).code).toBe(Code.FAILED_PRECONDITION);
    await publish(name, "before");
    const sub = subscribe(env.client, { stream: name, startPosition: StartPosition.EARLIEST });
    await waitFor(() => sub.messages.length === 2);
    await unary(env.client, "PauseStream", { name, resumeAll: true });
    expect((await sub.status).code).toBe(Code.FAILED_PRECONDITION);
    const md = await unary<{ metadata: { paused: boolean; newestOffset: number } }>(
      env.client,
      "FetchPartitionMetadata",
      { stream: name, partition: 1 },
    );
    expect(md.metadata.paused).toBe(true);
    // Subscribing to a paused partition without resume fails; with resume it works.
    expect((await subscribe(env.client, { stream: name, partition: 1 }).status).code).toBe(
      Code.FAILED_PRECONDITION,
    );
    env.natsClient.publish(name, Buffer.from("lost"));
    await env.natsClient.flush();
    // Publish resumes partition 0 and, with resumeAll, partition 1 too.
    const r = await publish(name, "after");
    expect(r.ack!.offset).toBe(1);
    expect(env.broker.core.stream(name)!.partitions.map((p) => p.paused)).toEqual([false, false]);
    const all = subscribe(env.client, {
      stream: name,
      startPosition: StartPosition.EARLIEST,
      stopPosition: StopPosition.STOP_LATEST,
    });
    expect((await all.status).code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(values(all.messages)).toEqual(["before", "after"]);
    // Subscribe{resume} resumes.
    await unary(env.client, "PauseStream", { name, partitions: [1] });
    const resumed = subscribe(env.client, { stream: name, partition: 1, resume: true });
    await waitFor(() => resumed.messages.length === 1);
    resumed.call.cancel();
    expect(env.broker.core.stream(name)!.partitions[1]!.paused).toBe(false);
  });

  it("SetStreamReadonly: NotFound rows, publishes refused, subscribers end ResourceExhausted, clearing works", async () => {
    expect(
      (await codeOf(unary(env.client, "SetStreamReadonly", { name: "nope", readonly: true }))).code,
    ).toBe(Code.NOT_FOUND);
    const name = fresh();
    await create(name);
    expect(
      (await codeOf(unary(env.client, "SetStreamReadonly", { name, partitions: [3], readonly: true }))).code,
    ).toBe(Code.NOT_FOUND);
    await publish(name, "a");
    const live = subscribe(env.client, { stream: name, startPosition: StartPosition.EARLIEST });
    await waitFor(() => live.messages.length === 2);
    await unary(env.client, "SetStreamReadonly", { name, readonly: true });
    expect(await live.status).toEqual({
      code: Code.RESOURCE_EXHAUSTED,
      details: "End of readonly partition",
    });
    expect(await codeOf(publish(name, "b"))).toEqual({
      code: Code.FAILED_PRECONDITION,
      details: "readonly partition: 0",
    });
    env.natsClient.publish(name, Buffer.from("dropped"));
    await env.natsClient.flush();
    const again = subscribe(env.client, { stream: name, startPosition: StartPosition.EARLIEST });
    expect((await again.status).code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(values(again.messages)).toEqual(["a"]);
    await unary(env.client, "SetStreamReadonly", { name, readonly: false });
    expect((await publish(name, "c")).ack!.offset).toBe(1);
    const md = await unary<{
      metadata: { readonly: boolean; readonlyTimestamps: { firstTimestamp: bigint } };
    }>(env.client, "FetchPartitionMetadata", { stream: name, partition: 0 });
    expect(md.metadata.readonly).toBe(false);
    expect(md.metadata.readonlyTimestamps.firstTimestamp > 0n).toBe(true);
  });
});

describe("Subscribe", () => {
  let name: string;
  const stamps: bigint[] = [];
  beforeAll(async () => {
    name = fresh("sub");
    await create(name);
    for (let i = 0; i < 5; i++) {
      await publish(name, `m${i}`);
      const md = await unary<{ metadata: { messagesReceivedTimestamps: { latestTimestamp: bigint } } }>(
        env.client,
        "FetchPartitionMetadata",
        { stream: name, partition: 0 },
      );
      stamps.push(BigInt(md.metadata.messagesReceivedTimestamps.latestTimestamp));
    }
  });

  it.each([
    [{ stream: "nope" }, Code.NOT_FOUND, "No such partition"],
    [{ partition: 7 }, Code.NOT_FOUND, "No such partition"],
    [{ partition: -1 }, Code.NOT_FOUND, "No such partition"],
    [{ consumer: { groupId: "g" } }, Code.INVALID_ARGUMENT, "Consumer id cannot be empty"],
    [{ startPosition: 9 }, Code.INVALID_ARGUMENT, "Unknown StartPosition"],
    [{ stopPosition: 9 }, Code.INVALID_ARGUMENT, "Unknown StopPosition"],
    [
      {
        startPosition: StartPosition.OFFSET,
        startOffset: 3,
        stopPosition: StopPosition.STOP_OFFSET,
        stopOffset: 1,
      },
      Code.INVALID_ARGUMENT,
      "Stop offset is before start offset",
    ],
  ])("setup error %j -> %i", async (req, code, details) => {
    const s = subscribe(env.client, { stream: name, ...req });
    const st = await s.status;
    expect(st.code).toBe(code);
    expect(st.details).toContain(details);
    expect(s.messages).toEqual([]);
  });

  it("STOP_LATEST on an empty partition is ResourceExhausted 'Stream is empty'", async () => {
    const empty = fresh();
    await create(empty);
    const st = await subscribe(env.client, { stream: empty, stopPosition: StopPosition.STOP_LATEST }).status;
    expect(st).toEqual({ code: Code.RESOURCE_EXHAUSTED, details: "Stream is empty" });
  });

  const run = async (req: object) => {
    const s = subscribe(env.client, { stream: name, ...req });
    const st = await s.status;
    expect(st).toEqual({ code: Code.RESOURCE_EXHAUSTED, details: "Stop offset reached" });
    // First frame: one empty Message.
    expect(Number(s.messages[0]!.offset)).toBe(0);
    expect((s.messages[0]!.value as Uint8Array).length).toBe(0);
    return values(s.messages);
  };

  it.each([
    ["EARLIEST", { startPosition: StartPosition.EARLIEST }, ["m0", "m1", "m2", "m3", "m4"]],
    ["OFFSET 2", { startPosition: StartPosition.OFFSET, startOffset: 2 }, ["m2", "m3", "m4"]],
    [
      "OFFSET underflow",
      { startPosition: StartPosition.OFFSET, startOffset: -5 },
      ["m0", "m1", "m2", "m3", "m4"],
    ],
    ["LATEST", { startPosition: StartPosition.LATEST }, ["m4"]],
  ])("start %s with STOP_LATEST", async (_n, req, want) => {
    expect(await run({ ...req, stopPosition: StopPosition.STOP_LATEST })).toEqual(want);
  });

  it("start TIMESTAMP and stop TIMESTAMP / STOP_OFFSET", async () => {
    expect(
      await run({
        startPosition: StartPosition.TIMESTAMP,
        startTimestamp: stamps[1]!,
        stopPosition: StopPosition.STOP_TIMESTAMP,
        stopTimestamp: stamps[3]!,
      }),
    ).toEqual(["m1", "m2", "m3"]);
    expect(
      await run({
        startPosition: StartPosition.EARLIEST,
        stopPosition: StopPosition.STOP_OFFSET,
        stopOffset: 1,
      }),
    ).toEqual(["m0", "m1"]);
  });

  it("a stop timestamp before the first message is an Internal setup error", async () => {
    const st = await subscribe(env.client, {
      stream: name,
      startPosition: StartPosition.EARLIEST,
      stopPosition: StopPosition.STOP_TIMESTAMP,
      stopTimestamp: 1n,
    }).status;
    expect(st.code).toBe(Code.INTERNAL);
  });

  it("NEW_ONLY sees only later messages; a stop offset in the future waits for it", async () => {
    const s = subscribe(env.client, { stream: name });
    await waitFor(() => s.messages.length === 1);
    const future = subscribe(env.client, {
      stream: name,
      startPosition: StartPosition.OFFSET,
      startOffset: 5,
      stopPosition: StopPosition.STOP_OFFSET,
      stopOffset: 5,
    });
    await waitFor(() => future.messages.length === 1);
    await publish(name, "m5");
    await waitFor(() => s.messages.length === 2);
    expect(values(s.messages)).toEqual(["m5"]);
    expect((await future.status).code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(values(future.messages)).toEqual(["m5"]);
    s.call.cancel();
    expect((await s.status).code).toBe(Code.CANCELLED);
  });
});

describe("FetchMetadata / FetchPartitionMetadata", () => {
  it("describes brokers, streams and partitions; unknown streams get UNKNOWN_STREAM", async () => {
    const name = fresh();
    await create(name, { partitions: 3 });
    await publish(name, "x", { partition: 2 });
    const md = await unary<{
      brokers: { id: string; port: number; leaderCount: number }[];
      streamMetadata: {
        name: string;
        error: number;
        partitions: Map<number, { leader: string; newestOffset: number }>;
      }[];
    }>(env.client, "FetchMetadata", { streams: [name, "nope"] });
    expect(md.brokers).toHaveLength(1);
    expect(md.brokers[0]!.id).toBe("s1");
    expect(md.brokers[0]!.leaderCount).toBeGreaterThanOrEqual(3);
    expect(md.streamMetadata.map((s) => [s.name, s.error])).toEqual([
      [name, 0],
      ["nope", 1],
    ]);
    const parts = md.streamMetadata[0]!.partitions;
    expect(parts.size).toBe(3);
    expect(parts.get(2)!.newestOffset).toBe(0);
    expect(parts.get(0)!.leader).toBe("s1");
    const all = await unary<{ streamMetadata: unknown[] }>(env.client, "FetchMetadata", {});
    expect(all.streamMetadata.length).toBeGreaterThanOrEqual(1);
    const pm = await unary<{ metadata: { highWatermark: number; newestOffset: number; isr: string[] } }>(
      env.client,
      "FetchPartitionMetadata",
      { stream: name, partition: 2 },
    );
    expect(pm.metadata).toMatchObject({ highWatermark: 0, newestOffset: 0, isr: ["s1"] });
    expect(await codeOf(unary(env.client, "FetchPartitionMetadata", { stream: name, partition: 3 }))).toEqual(
      {
        code: Code.NOT_FOUND,
        details: "partition not found",
      },
    );
  });
});

describe("Publish", () => {
  it.each([
    [{ stream: "" }, Code.INVALID_ARGUMENT, "no stream provided"],
    [{ stream: "nope" }, Code.NOT_FOUND, "no such stream: nope"],
  ])("%j -> %i", async (req, code, details) => {
    expect(await codeOf(unary(env.client, "Publish", { value: Buffer.from("x"), ...req }))).toEqual({
      code,
      details,
    });
  });

  it("partition, OCC, size and offset rows; ALL and NONE policies; no deadline = no wait", async () => {
    const name = fresh();
    await create(name, { optimisticConcurrencyControl: { value: true } });
    expect(await codeOf(publish(name, "x", { partition: 1 }))).toEqual({
      code: Code.NOT_FOUND,
      details: "no such partition: 1",
    });
    expect(await codeOf(publish(name, "x", { partition: -3 }))).toMatchObject({ code: Code.NOT_FOUND });
    expect(await codeOf(publish(name, "x", { ackPolicy: AckPolicy.NONE }))).toEqual({
      code: Code.INVALID_ARGUMENT,
      details: "stream with concurrency control must have AckPolicy set",
    });
    expect((await publish(name, "a", { expectedOffset: 0 })).ack!.offset).toBe(0);
    expect(await codeOf(publish(name, "b", { expectedOffset: 5 }))).toEqual({
      code: Code.UNKNOWN,
      details: "incorrect expected offset",
    });
    expect((await publish(name, "b", { expectedOffset: -1, ackPolicy: AckPolicy.ALL })).ack!.offset).toBe(1);
    expect(await codeOf(publish(name, "y".repeat(70 * 1024), { expectedOffset: -1 }))).toEqual({
      code: Code.INVALID_ARGUMENT,
      details: "message exceeds max replication size",
    });
    const plain = fresh();
    await create(plain);
    const none = await publish(plain, "n", { ackPolicy: AckPolicy.NONE });
    expect(none.ack ?? undefined).toBeUndefined();
    const nowait = await unaryNoDeadline<{ ack: unknown }>(env.client, "Publish", {
      stream: plain,
      value: Buffer.from("w"),
    });
    expect(nowait.ack ?? undefined).toBeUndefined();
    await waitFor(() => env.broker.core.partition(plain, 0)!.log!.newestOffset === 1);
  });

  it("ALL acks wait for the ISR: with minIsr 2 on one node nothing commits and Publish hits its deadline", async () => {
    const name = fresh();
    await create(name, { minIsr: { value: 2 } });
    const all = unary(
      env.client,
      "Publish",
      { stream: name, value: Buffer.from("x"), ackPolicy: AckPolicy.ALL },
      500,
    );
    expect((await codeOf(all)).code).toBe(Code.DEADLINE_EXCEEDED);
    // LEADER acks still come: the message is written, just not committed (subscribers see committed data only).
    expect((await publish(name, "y")).ack!.offset).toBe(1);
    const md = await unary<{ metadata: { highWatermark: number; newestOffset: number } }>(
      env.client,
      "FetchPartitionMetadata",
      { stream: name, partition: 0 },
    );
    expect(md.metadata).toMatchObject({ highWatermark: -1, newestOffset: 1 });
  });

  it("stores user headers plus subject and reply, and keys", async () => {
    const name = fresh();
    await create(name);
    await publish(name, "v", {
      key: Buffer.from("k"),
      headers: { h1: Buffer.from("x"), subject: Buffer.from("spoof") },
    });
    const s = subscribe(env.client, {
      stream: name,
      startPosition: StartPosition.EARLIEST,
      stopPosition: StopPosition.STOP_LATEST,
    });
    await s.status;
    const m = s.messages[1]!;
    expect(Buffer.from(m.key as Uint8Array).toString()).toBe("k");
    const headers = m.headers as Map<string, Uint8Array>;
    expect(Buffer.from(headers.get("h1")!).toString()).toBe("x");
    expect(Buffer.from(headers.get("subject")!).toString()).toBe(name);
    expect(headers.has("reply")).toBe(true);
    expect(m.subject).toBe(name);
    expect(m.stream).toBe(name);
  });
});

describe("PublishAsync", () => {
  it("acks by correlation id and reports per-message errors with the §5 codes", async () => {
    const name = fresh();
    await create(name, { optimisticConcurrencyControl: { value: true } });
    const ro = fresh();
    await create(ro);
    await unary(env.client, "SetStreamReadonly", { name: ro, readonly: true });
    const call = env.client.PublishAsync();
    const responses: {
      correlationId: string;
      ack: { offset: number; correlationId: string } | null;
      asyncError: { code: number } | null;
    }[] = [];
    call.on("data", (r: (typeof responses)[number]) => responses.push(r));
    const done = new Promise<number>((resolve) =>
      call.on("status", (s: { code: number }) => resolve(s.code)),
    );
    call.on("error", () => {});
    const send = (req: object) => call.write({ value: Buffer.from("v"), ...req });
    send({ stream: name, correlationId: "ok0", expectedOffset: 0 });
    send({ stream: name, correlationId: "ok1", expectedOffset: -1, ackPolicy: AckPolicy.ALL });
    send({ stream: name, correlationId: "bad-offset", expectedOffset: 9 });
    send({ stream: name, correlationId: "none", ackPolicy: AckPolicy.NONE });
    send({ stream: "nope", correlationId: "missing" });
    send({ stream: "", correlationId: "empty" });
    send({ stream: name, partition: 4, correlationId: "nopart" });
    send({ stream: ro, correlationId: "ro" });
    send({ stream: name, correlationId: "big", expectedOffset: -1, value: Buffer.alloc(70 * 1024) });
    call.end();
    expect(await done).toBe(Code.OK);
    const by = new Map(responses.map((r) => [r.correlationId, r]));
    expect(by.get("ok0")!.ack!.offset).toBe(0);
    expect(by.get("ok0")!.ack!.correlationId).toBe("ok0");
    expect(by.get("ok1")!.ack!.offset).toBe(1);
    expect(by.get("bad-offset")!.asyncError!.code).toBe(PublishAsyncErrorCode.INCORRECT_OFFSET);
    expect(by.get("none")!.asyncError!.code).toBe(PublishAsyncErrorCode.BAD_REQUEST);
    expect(by.get("missing")!.asyncError!.code).toBe(PublishAsyncErrorCode.NOT_FOUND);
    expect(by.get("empty")!.asyncError!.code).toBe(PublishAsyncErrorCode.NOT_FOUND);
    expect(by.get("nopart")!.asyncError!.code).toBe(PublishAsyncErrorCode.NOT_FOUND);
    expect(by.get("ro")!.asyncError!.code).toBe(PublishAsyncErrorCode.READONLY);
    expect(by.get("big")!.asyncError!.code).toBe(PublishAsyncErrorCode.BAD_REQUEST);
    // Error responses carry an empty Ack placeholder.
    expect(by.get("missing")!.ack).toEqual(expect.objectContaining({ correlationId: "", offset: 0 }));
    expect(responses).toHaveLength(9);
  });
});

describe("PublishToSubject", () => {
  it("publishes an envelope to any subject and returns the first ack (ack errors inside)", async () => {
    const name = fresh();
    await create(name, { subject: `pts.${name}` });
    const r = await unary<{ ack: { stream: string; offset: number; msgSubject: string } }>(
      env.client,
      "PublishToSubject",
      {
        subject: `pts.${name}`,
        value: Buffer.from("v"),
      },
    );
    expect(r.ack).toMatchObject({ stream: name, offset: 0, msgSubject: `pts.${name}` });
    expect((await codeOf(unary(env.client, "PublishToSubject", { subject: "a b" }))).code).toBe(
      Code.INVALID_ARGUMENT,
    );
    expect((await codeOf(unary(env.client, "PublishToSubject", { subject: "nobody.here" }, 300))).code).toBe(
      Code.DEADLINE_EXCEEDED,
    );
    const big = await unary<{ ack: { ackError: number } }>(env.client, "PublishToSubject", {
      subject: `pts.${name}`,
      value: Buffer.alloc(70 * 1024),
    });
    expect(big.ack.ackError).toBe(AckError.TOO_LARGE);
  });
});

describe("NATS paths", () => {
  it("plain and enveloped NATS publishes are stored with headers; acks go to a user ack inbox", async () => {
    const { newMessage } = await import("@liftbridge/api");
    const name = fresh();
    await create(name);
    const inbox = `my.inbox.${name}`;
    const acks: ReturnType<typeof unmarshalAck>[] = [];
    const sub = env.natsClient.subscribe(inbox, { callback: (_e, m) => acks.push(unmarshalAck(m.data)) });
    env.natsClient.publish(name, Buffer.from("plain"), { reply: "reply.to" });
    env.natsClient.publish(
      name,
      newMessage(Buffer.from("env"), {
        key: Buffer.from("k"),
        headers: { a: Buffer.from("1") },
        ackInbox: inbox,
        correlationId: "c1",
        ackPolicy: AckPolicy.ALL,
      }),
    );
    await waitFor(() => acks.length === 1);
    sub.unsubscribe();
    expect(acks[0]).toMatchObject({
      stream: name,
      partitionSubject: name,
      msgSubject: name,
      offset: 1,
      correlationId: "c1",
      ackInbox: inbox,
      ackPolicy: AckPolicy.ALL,
      ackError: 0,
    });
    expect(acks[0]!.commitTimestamp >= acks[0]!.receptionTimestamp).toBe(true);
    const s = subscribe(env.client, {
      stream: name,
      startPosition: StartPosition.EARLIEST,
      stopPosition: StopPosition.STOP_LATEST,
    });
    await s.status;
    const [plain, enveloped] = s.messages.slice(1) as {
      value: Uint8Array;
      key: Uint8Array;
      replySubject: string;
      headers: Map<string, Uint8Array>;
    }[];
    expect(Buffer.from(plain!.value).toString()).toBe("plain");
    expect(plain!.key.length).toBe(0);
    expect(plain!.replySubject).toBe("reply.to");
    expect([...plain!.headers.keys()].sort()).toEqual(["reply", "subject"]);
    expect(Buffer.from(enveloped!.value).toString()).toBe("env");
    expect(Buffer.from(enveloped!.key).toString()).toBe("k");
    expect([...enveloped!.headers.keys()].sort()).toEqual(["a", "reply", "subject"]);
  });

  it("wildcard streams record every matching subject; partition N listens on subject.N", async () => {
    const name = fresh("wild");
    await unary(env.client, "CreateStream", { name, subject: `${name}.*` });
    env.natsClient.publish(`${name}.a`, Buffer.from("1"));
    env.natsClient.publish(`${name}.b`, Buffer.from("2"));
    env.natsClient.publish(`${name}.a.deeper`, Buffer.from("not matched"));
    await waitFor(() => env.broker.core.partition(name, 0)!.log!.newestOffset === 1);
    const s = subscribe(env.client, {
      stream: name,
      startPosition: StartPosition.EARLIEST,
      stopPosition: StopPosition.STOP_LATEST,
    });
    await s.status;
    expect(s.messages.slice(1).map((m) => m.subject)).toEqual([`${name}.a`, `${name}.b`]);
    const p = fresh("parts");
    await create(p, { partitions: 3 });
    env.natsClient.publish(`${p}.2`, Buffer.from("to two"));
    await waitFor(() => env.broker.core.partition(p, 2)!.log!.newestOffset === 0);
    expect(env.broker.core.partition(p, 0)!.log!.newestOffset).toBe(-1);
  });

  it("streams in one group split a subject; streams without a group each get every message", async () => {
    const subject = fresh("shared");
    await unary(env.client, "CreateStream", { name: `${subject}-g1`, subject, group: "g" });
    await unary(env.client, "CreateStream", { name: `${subject}-g2`, subject, group: "g" });
    await unary(env.client, "CreateStream", { name: `${subject}-a`, subject });
    await unary(env.client, "CreateStream", { name: `${subject}-b`, subject });
    const N = 200;
    for (let i = 0; i < N; i++) env.natsClient.publish(subject, Buffer.from(String(i)));
    const count = (s: string) => env.broker.core.partition(s, 0)!.log!.newestOffset + 1;
    await waitFor(() => count(`${subject}-a`) === N && count(`${subject}-b`) === N);
    await waitFor(() => count(`${subject}-g1`) + count(`${subject}-g2`) === N);
    expect(count(`${subject}-g1`)).toBeGreaterThan(0);
    expect(count(`${subject}-g2`)).toBeGreaterThan(0);
  });
});
