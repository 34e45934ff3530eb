import { status as Code } from "@grpc/grpc-js";
import { StartPosition, StopPosition } from "@liftbridge/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, type Env, startEnv, subscribe, unary, waitFor } from "../helpers.js";

const offsetsOf = (ms: Record<string, unknown>[]): number[] => ms.slice(1).map((m) => Number(m.offset));
const range = (hi: number, lo: number): number[] => Array.from({ length: hi - lo + 1 }, (_, i) => hi - i);

async function reverse(client: ApiClient, req: object) {
  const s = subscribe(client, { stream: "r", reverse: true, ...req });
  const status = await s.status;
  return { status, offsets: offsetsOf(s.messages), messages: s.messages };
}

describe("reverse subscriptions (raw gRPC)", () => {
  let env: Env;
  const ts: bigint[] = [];
  beforeAll(async () => {
    env = await startEnv({ encryptionKey: "0123456789abcdef" });
    await unary(env.client, "CreateStream", { name: "r", subject: "r" });
    await unary(env.client, "CreateStream", { name: "empty", subject: "empty" });
    await unary(env.client, "CreateStream", { name: "enc", subject: "enc", encryption: { value: true } });
    for (let i = 0; i < 10; i++) {
      const res = await unary<{ ack: { receptionTimestamp: string } }>(env.client, "Publish", {
        stream: "r",
        key: Buffer.from(`k${i}`),
        value: Buffer.from(`v${i}`),
      });
      ts.push(BigInt(res.ack.receptionTimestamp));
      await unary(env.client, "Publish", { stream: "enc", value: Buffer.from(`secret${i}`) });
    }
  });
  afterAll(async () => {
    await env?.close();
  });

  it.each([
    ["NEW_ONLY (the default): from the newest", { startPosition: StartPosition.NEW_ONLY }, range(9, 0)],
    ["LATEST", { startPosition: StartPosition.LATEST }, range(9, 0)],
    ["EARLIEST: only the oldest", { startPosition: StartPosition.EARLIEST }, [0]],
    ["OFFSET", { startPosition: StartPosition.OFFSET, startOffset: 5 }, range(5, 0)],
    ["OFFSET above the HW is capped", { startPosition: StartPosition.OFFSET, startOffset: 100 }, range(9, 0)],
    ["OFFSET below 0 becomes 0", { startPosition: StartPosition.OFFSET, startOffset: -5 }, [0]],
  ])("start %s", async (_name, req, want) => {
    const r = await reverse(env.client, req);
    expect(r.offsets).toEqual(want);
    expect(r.status).toEqual({ code: Code.RESOURCE_EXHAUSTED, details: "Oldest offset reached" });
  });

  it("start TIMESTAMP: from the first message at or after the time", async () => {
    const r = await reverse(env.client, { startPosition: StartPosition.TIMESTAMP, startTimestamp: ts[4]! });
    expect(r.offsets).toEqual(range(4, 0));
  });

  it("messages carry key, value, stream and subject", async () => {
    const r = await reverse(env.client, { startPosition: StartPosition.OFFSET, startOffset: 3 });
    const m = r.messages[1]!;
    expect(Buffer.from(m.value as Uint8Array).toString()).toBe("v3");
    expect(Buffer.from(m.key as Uint8Array).toString()).toBe("k3");
    expect(m).toMatchObject({ stream: "r", subject: "r", partition: 0 });
    expect(BigInt(m.timestamp as string)).toBe(ts[3]);
  });

  it.each([
    ["STOP_OFFSET", { stopPosition: StopPosition.STOP_OFFSET, stopOffset: 3 }, range(9, 3)],
    ["STOP_OFFSET 0", { stopPosition: StopPosition.STOP_OFFSET, stopOffset: 0 }, range(9, 0)],
    ["STOP_LATEST with a LATEST start", { stopPosition: StopPosition.STOP_LATEST }, [9]],
  ])("stop %s ends with Stop offset reached", async (_name, req, want) => {
    const r = await reverse(env.client, { startPosition: StartPosition.LATEST, ...req });
    expect(r.offsets).toEqual(want);
    expect(r.status).toEqual({ code: Code.RESOURCE_EXHAUSTED, details: "Stop offset reached" });
  });

  it("stop STOP_TIMESTAMP: down to the oldest message at or after the time", async () => {
    const r = await reverse(env.client, {
      startPosition: StartPosition.LATEST,
      stopPosition: StopPosition.STOP_TIMESTAMP,
      stopTimestamp: ts[6]!,
    });
    expect(r.offsets).toEqual(range(9, 6));
    expect(r.status.code).toBe(Code.RESOURCE_EXHAUSTED);
  });

  it.each([
    [
      "STOP_OFFSET above the start",
      { startPosition: StartPosition.OFFSET, startOffset: 5, stopPosition: 1, stopOffset: 7 },
    ],
    [
      "STOP_LATEST with an older start",
      { startPosition: StartPosition.OFFSET, startOffset: 5, stopPosition: 2 },
    ],
  ])("%s is InvalidArgument", async (_name, req) => {
    const r = await reverse(env.client, req);
    expect(r.status.code).toBe(Code.INVALID_ARGUMENT);
    expect(r.status.details).toMatch(/^Stop offset is after start offset \(reverse\)/u);
    expect(r.messages).toHaveLength(0);
  });

  it("STOP_TIMESTAMP after the last message is InvalidArgument", async () => {
    const r = await reverse(env.client, { stopPosition: 3, stopTimestamp: ts[9]! + 1n });
    expect(r.status.code).toBe(Code.INVALID_ARGUMENT);
  });

  it("an unknown stop position is InvalidArgument", async () => {
    expect((await reverse(env.client, { stopPosition: 9 })).status.code).toBe(Code.INVALID_ARGUMENT);
  });

  it("an empty partition is ResourceExhausted 'Stream is empty' at setup", async () => {
    const r = await reverse(env.client, { stream: "empty" });
    expect(r.status).toEqual({ code: Code.RESOURCE_EXHAUSTED, details: "Stream is empty" });
    expect(r.messages).toHaveLength(0);
  });

  it("NotFound for an unknown partition", async () => {
    expect((await reverse(env.client, { partition: 3 })).status.code).toBe(Code.NOT_FOUND);
  });

  it("a paused partition is FailedPrecondition; with resume it reads newest first", async () => {
    await unary(env.client, "CreateStream", { name: "paused", subject: "paused" });
    await unary(env.client, "Publish", { stream: "paused", value: Buffer.from("x") });
    await unary(env.client, "PauseStream", { name: "paused" });
    const r = await reverse(env.client, { stream: "paused" });
    expect(r.status.code).toBe(Code.FAILED_PRECONDITION);
    const r2 = await reverse(env.client, { stream: "paused", resume: true });
    expect(r2.offsets).toEqual([0]);
    expect(r2.status.details).toBe("Oldest offset reached");
  });

  it("after retention removed old segments: down to the oldest offset; a start below it reads nothing", async () => {
    await unary(env.client, "CreateStream", {
      name: "ret",
      subject: "ret",
      segmentMaxBytes: { value: 1 },
      retentionMaxMessages: { value: 3 },
      cleanerInterval: { value: 20 },
    });
    for (let i = 0; i < 8; i++)
      await unary(env.client, "Publish", { stream: "ret", value: Buffer.from(`${i}`) });
    await waitFor(
      () => (env.broker.core.partition("ret", 0)?.log?.oldestOffset ?? 0) >= 5,
      20_000,
      "retention",
    );
    const r = await reverse(env.client, { stream: "ret" });
    expect(r.offsets).toEqual([7, 6, 5]);
    expect(r.status.details).toBe("Oldest offset reached");
    const below = await reverse(env.client, {
      stream: "ret",
      startPosition: StartPosition.OFFSET,
      startOffset: 2,
    });
    expect(below.offsets).toEqual([]);
    expect(below.status).toEqual({ code: Code.RESOURCE_EXHAUSTED, details: "Oldest offset reached" });
  });

  it("encrypted streams are served in plain text, newest first", async () => {
    const r = await reverse(env.client, { stream: "enc" });
    expect(r.messages.slice(1).map((m) => Buffer.from(m.value as Uint8Array).toString())).toEqual(
      range(9, 0).map((i) => `secret${i}`),
    );
  });

  it("resumes after a server restart in the middle from the last offset − 1", async () => {
    await unary(env.client, "CreateStream", { name: "big", subject: "big" });
    const n = 600;
    for (let i = 0; i < n; i++) env.natsClient.publish("big", Buffer.alloc(512, i % 251));
    await env.natsClient.flush();
    await waitFor(() => env.broker.core.partition("big", 0)?.log?.highWatermark === n - 1);
    const first = subscribe(env.client, {
      stream: "big",
      reverse: true,
      startPosition: StartPosition.LATEST,
    });
    await waitFor(() => first.messages.length > 50, 20_000, "first messages");
    first.call.cancel();
    await first.status;
    const got = offsetsOf(first.messages);
    await env.restart();
    const last = got[got.length - 1]!;
    const rest = subscribe(env.client, {
      stream: "big",
      reverse: true,
      startPosition: StartPosition.OFFSET,
      startOffset: last - 1,
    });
    expect((await rest.status).details).toBe("Oldest offset reached");
    expect([...got, ...offsetsOf(rest.messages)]).toEqual(range(n - 1, 0));
  });
});
