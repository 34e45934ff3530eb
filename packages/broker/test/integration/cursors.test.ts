import { status as Code } from "@grpc/grpc-js";
import { Cursor } from "@liftbridge/api/internal";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CURSORS_STREAM, cursorKey, cursorsPartitionOf } from "../../src/index.js";
import { codeOf, type Env, startEnv, unary } from "../helpers.js";

const setCursor = (env: Env, cursorId: string, stream: string, partition: number, offset: number) =>
  unary<object>(env.client, "SetCursor", { cursorId, stream, partition, offset });
const fetchCursor = async (env: Env, cursorId: string, stream: string, partition: number) =>
  (await unary<{ offset: number }>(env.client, "FetchCursor", { cursorId, stream, partition })).offset;

type Md = {
  streamMetadata: { name: string; subject: string; partitions: Map<number, { newestOffset: number }> }[];
};
const cursorsMetadata = async (env: Env) => {
  const md = await unary<Md>(env.client, "FetchMetadata", { streams: [CURSORS_STREAM] });
  return md.streamMetadata[0]!;
};

describe("cursors disabled (cursors.stream.partitions = 0)", () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv();
  });
  afterAll(async () => {
    await env.close();
  });

  it("no __cursors stream; SetCursor / FetchCursor -> Internal 'Cursors stream does not exist'", async () => {
    expect(env.broker.core.stream(CURSORS_STREAM)).toBeUndefined();
    expect(await codeOf(setCursor(env, "c", "s", 0, 1))).toEqual({
      code: Code.INTERNAL,
      details: "Cursors stream does not exist",
    });
    expect(await codeOf(fetchCursor(env, "c", "s", 0))).toEqual({
      code: Code.INTERNAL,
      details: "Cursors stream does not exist",
    });
  });

  it("argument checks come first (spec §5 row order)", async () => {
    expect(await codeOf(setCursor(env, "c", "", 0, 1))).toEqual({
      code: Code.INVALID_ARGUMENT,
      details: "No stream provided",
    });
    expect(await codeOf(fetchCursor(env, "", "s", 0))).toEqual({
      code: Code.INVALID_ARGUMENT,
      details: "No cursorId provided",
    });
  });
});

describe("cursors enabled", () => {
  let env: Env;
  const PARTITIONS = 4;
  beforeEach(async () => {
    env = await startEnv({ cursors: { partitions: PARTITIONS, cacheSize: 8 } });
  });
  afterEach(async () => {
    await env.close();
  });

  it("the metadata leader creates __cursors at startup: compacted, on <ns>.cursors, reserved", async () => {
    const s = await cursorsMetadata(env);
    expect(s.name).toBe(CURSORS_STREAM);
    expect(s.subject).toBe("liftbridge-default.cursors");
    expect(s.partitions.size).toBe(PARTITIONS);
    expect(env.broker.core.stream(CURSORS_STREAM)!.config).toMatchObject({
      compactEnabled: true,
      autoPauseTimeMs: 60_000,
      autoPauseDisableIfSubscribers: true,
    });
    expect(await codeOf(unary(env.client, "DeleteStream", { name: CURSORS_STREAM }))).toMatchObject({
      code: Code.INVALID_ARGUMENT,
    });
    expect(
      await codeOf(unary(env.client, "CreateStream", { name: CURSORS_STREAM, subject: "x" })),
    ).toMatchObject({ code: Code.INVALID_ARGUMENT });
  });

  it.each([
    ["SetCursor", { cursorId: "c", stream: "", partition: 0, offset: 1 }, "No stream provided"],
    ["SetCursor", { cursorId: "", stream: "s", partition: 0, offset: 1 }, "No cursorId provided"],
    ["FetchCursor", { cursorId: "c", stream: "", partition: 0 }, "No stream provided"],
    ["FetchCursor", { cursorId: "", stream: "s", partition: 0 }, "No cursorId provided"],
  ])("%s %j -> InvalidArgument", async (method, req, details) => {
    expect(await codeOf(unary(env.client, method, req))).toEqual({ code: Code.INVALID_ARGUMENT, details });
  });

  it("an unknown cursor is -1; set then fetch round-trips; the record is keyed and routed by crc32", async () => {
    expect(await fetchCursor(env, "c1", "orders", 3)).toBe(-1);
    await setCursor(env, "c1", "orders", 3, 41);
    expect(await fetchCursor(env, "c1", "orders", 3)).toBe(41);
    await setCursor(env, "c1", "orders", 3, 42);
    expect(await fetchCursor(env, "c1", "orders", 3)).toBe(42);
    // Another partition of the same stream, another cursor id: separate cursors.
    expect(await fetchCursor(env, "c1", "orders", 4)).toBe(-1);
    expect(await fetchCursor(env, "c2", "orders", 3)).toBe(-1);

    const key = cursorKey("c1", "orders", 3);
    const cp = cursorsPartitionOf(key, PARTITIONS);
    const log = env.broker.core.partition(CURSORS_STREAM, cp)!.log!;
    const recs = [];
    for await (const r of log.read({ offset: 0, wait: false })) recs.push(r);
    expect(recs.map((r) => Buffer.from(r.key!).toString())).toEqual(["c1,orders,3", "c1,orders,3"]);
    expect(Cursor.decode(recs[1]!.value!)).toEqual({
      stream: "orders",
      partition: 3,
      cursorId: "c1",
      offset: 42,
    });
  });

  it("many cursors across every partition, read back through the log (cache of 8), survive a restart", async () => {
    const ids = Array.from({ length: 120 }, (_, i) => `reader-${i}`);
    const used = new Set<number>();
    for (const [i, id] of ids.entries()) {
      used.add(cursorsPartitionOf(cursorKey(id, "events", i % 3), PARTITIONS));
      await setCursor(env, id, "events", i % 3, i * 10);
    }
    expect([...used].sort()).toEqual([0, 1, 2, 3]);
    const s = await cursorsMetadata(env);
    let total = 0;
    for (const p of s.partitions.values()) {
      expect(p.newestOffset).toBeGreaterThanOrEqual(0);
      total += p.newestOffset + 1;
    }
    expect(total).toBe(ids.length);
    for (const [i, id] of ids.entries()) expect(await fetchCursor(env, id, "events", i % 3)).toBe(i * 10);
    expect(env.broker.core.cursors.cacheSize).toBeLessThanOrEqual(8);

    // Restart in the middle: every cursor is read back from disk, updates continue.
    await env.restart({ cursors: { partitions: PARTITIONS, cacheSize: 8 } });
    expect(env.broker.core.cursors.cacheSize).toBe(0);
    for (const [i, id] of ids.entries()) expect(await fetchCursor(env, id, "events", i % 3)).toBe(i * 10);
    await setCursor(env, "reader-7", "events", 1, 7777);
    await env.restart({ cursors: { partitions: PARTITIONS, cacheSize: 8 } });
    expect(await fetchCursor(env, "reader-7", "events", 1)).toBe(7777);
    expect(await fetchCursor(env, "reader-8", "events", 2)).toBe(80);
  });

  it("a restart with another partition count keeps the existing __cursors stream", async () => {
    await setCursor(env, "c", "s", 0, 5);
    await env.restart({ cursors: { partitions: 2, autoPauseTimeMs: 1000 } });
    expect((await cursorsMetadata(env)).partitions.size).toBe(PARTITIONS);
    // The auto-pause time is re-applied from the server config on every start.
    expect(env.broker.core.stream(CURSORS_STREAM)!.config.autoPauseTimeMs).toBe(1000);
    expect(await fetchCursor(env, "c", "s", 0)).toBe(5);
    // With cursors.stream.partitions = 0 the existing stream still serves cursors.
    await env.restart({ cursors: { partitions: 0 } });
    expect(await fetchCursor(env, "c", "s", 0)).toBe(5);
  });

  it("storing failed -> Internal: a read-only __cursors partition drops the write, no ack comes in time", async () => {
    await env.restart({ cursors: { partitions: PARTITIONS, timeoutMs: 300 } });
    const cp = cursorsPartitionOf(cursorKey("ro", "s", 0), PARTITIONS);
    await setCursor(env, "ro", "s", 0, 1);
    await unary(env.client, "SetStreamReadonly", { name: CURSORS_STREAM, partitions: [cp], readonly: true });
    expect(await codeOf(setCursor(env, "ro", "s", 0, 2))).toEqual({
      code: Code.INTERNAL,
      details: "timed out storing the cursor",
    });
    // Reads still work and answer the last stored value.
    expect(await fetchCursor(env, "ro", "s", 0)).toBe(1);
  });

  it("a paused __cursors partition is resumed by SetCursor and by FetchCursor", async () => {
    const cp = cursorsPartitionOf(cursorKey("p", "s", 0), PARTITIONS);
    await setCursor(env, "p", "s", 0, 1);
    await unary(env.client, "PauseStream", { name: CURSORS_STREAM, partitions: [cp] });
    expect(env.broker.core.partition(CURSORS_STREAM, cp)!.log).toBeUndefined();
    await env.restart({ cursors: { partitions: PARTITIONS } }); // empty cache: the fetch must read the log
    expect(await fetchCursor(env, "p", "s", 0)).toBe(1);
    expect(env.broker.core.stream(CURSORS_STREAM)!.partitions[cp]!.paused).toBe(false);
    await unary(env.client, "PauseStream", { name: CURSORS_STREAM, partitions: [cp] });
    await setCursor(env, "p", "s", 0, 2);
    expect(await fetchCursor(env, "p", "s", 0)).toBe(2);
  });
});

describe("compaction of __cursors", () => {
  let env: Env;
  beforeAll(async () => {
    // Tiny segments so that compaction has sealed segments to rewrite; no cache, so every fetch scans.
    env = await startEnv({
      cursors: { partitions: 1, cacheSize: 0 },
      streams: { segmentMaxBytes: 512 },
    });
  });
  afterAll(async () => {
    await env.close();
  });

  it("leaves the latest value of every cursor", async () => {
    for (let round = 0; round < 20; round++) {
      for (let c = 0; c < 5; c++) await setCursor(env, `c${c}`, "s", 0, round * 100 + c);
    }
    const log = env.broker.core.partition(CURSORS_STREAM, 0)!.log!;
    const count = async () => {
      let n = 0;
      for await (const _ of log.read({ offset: 0, wait: false })) n++;
      return n;
    };
    expect(await count()).toBe(100);
    await log.clean();
    const after = await count();
    expect(after).toBeLessThan(100);
    expect(after).toBeGreaterThanOrEqual(5);
    for (let c = 0; c < 5; c++) expect(await fetchCursor(env, `c${c}`, "s", 0)).toBe(1900 + c);
    await env.restart({ cursors: { partitions: 1, cacheSize: 0 }, streams: { segmentMaxBytes: 512 } });
    for (let c = 0; c < 5; c++) expect(await fetchCursor(env, `c${c}`, "s", 0)).toBe(1900 + c);
  });
});

describe("retention of __cursors (no cache, as upstream's TestFetchCursorEmpty)", () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv({
      cursors: { partitions: 1, cacheSize: 0 },
      streams: { segmentMaxBytes: 512, retentionMaxMessages: 20 },
    });
  });
  afterAll(async () => {
    await env.close();
  });

  it("a cursor whose record retention removed answers -1 again", async () => {
    await setCursor(env, "old", "s", 0, 7);
    expect(await fetchCursor(env, "old", "s", 0)).toBe(7);
    for (let i = 0; i < 100; i++) await setCursor(env, `n${i}`, "s", 0, i);
    const log = env.broker.core.partition(CURSORS_STREAM, 0)!.log!;
    await log.clean();
    expect(log.oldestOffset).toBeGreaterThan(0);
    expect(await fetchCursor(env, "old", "s", 0)).toBe(-1);
    expect(await fetchCursor(env, "n99", "s", 0)).toBe(99);
  });
});
