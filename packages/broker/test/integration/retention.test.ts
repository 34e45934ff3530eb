import { readdir, stat } from "node:fs/promises";
import * as path from "node:path";
import { status as Code } from "@grpc/grpc-js";
import { StartPosition, StopPosition } from "@liftbridge/api";
import { afterEach, describe, expect, it } from "vitest";
import { streamDirName } from "../../src/util.js";
import { codeOf, type Env, startEnv, subscribe, unary, waitFor } from "../helpers.js";

// Per-stream retention and compaction actually applied by the cleaner (API spec §3 retention /
// compaction / segment rows, §4.3 `streams.*`, §4.4 overrides in ms; internals §1.8, §1.9).
// Small segments (1 byte: one message per segment, as upstream's tests) and a 100 ms cleaner make
// the effects visible within a second or two.

let env: Env | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

interface Read {
  offset: number;
  key: string | null;
  value: string;
}

const create = (e: Env, name: string, extra: object = {}) =>
  unary(e.client, "CreateStream", { name, subject: name, ...extra });

/** Sequential unary publishes: one append (so one 1-byte segment) per message. */
async function publishN(e: Env, stream: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    await unary(e.client, "Publish", { stream, value: Buffer.from(val(i)) });
  }
}

/** Everything from EARLIEST to the newest message (STOP_LATEST). */
async function readAll(e: Env, stream: string): Promise<Read[]> {
  const s = subscribe(e.client, {
    stream,
    startPosition: StartPosition.EARLIEST,
    stopPosition: StopPosition.STOP_LATEST,
  });
  expect((await s.status).code).toBe(Code.RESOURCE_EXHAUSTED);
  return s.messages.slice(1).map((m) => {
    const key = m.key as Uint8Array | undefined;
    return {
      offset: Number(m.offset),
      key: key === undefined || key.byteLength === 0 ? null : Buffer.from(key).toString(),
      value: Buffer.from(m.value as Uint8Array).toString(),
    };
  });
}

/** The first offset a subscription from EARLIEST gets (the earliest retained message). */
async function earliest(e: Env, stream: string): Promise<number> {
  return (await readAll(e, stream))[0]?.offset ?? -1;
}

async function logFiles(e: Env, stream: string, partition = 0): Promise<{ name: string; size: number }[]> {
  const dir = path.join(e.dir, "streams", streamDirName(stream), String(partition));
  const names = (await readdir(dir)).filter((f) => f.endsWith(".log")).sort();
  const out: { name: string; size: number }[] = [];
  for (const name of names) {
    // The cleaner may unlink a file between readdir and stat (it drops segments from memory first).
    const st = await stat(path.join(dir, name)).catch(() => undefined);
    if (st !== undefined) out.push({ name, size: st.size });
  }
  return out;
}

/**
 * Waits until the partition directory holds exactly `n` non-empty `.log` files (unlinks trail the
 * in-memory cleaner; a cleaner tick also rolls a full active segment, leaving an empty one behind).
 */
async function waitForFiles(e: Env, stream: string, n: number): Promise<{ name: string; size: number }[]> {
  let files: { name: string; size: number }[] = [];
  await waitFor(
    async () => {
      files = (await logFiles(e, stream)).filter((f) => f.size > 0);
      return files.length === n;
    },
    30_000,
    `${n} segment files in ${stream}`,
  );
  return files;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
/** Fixed-width values, so that every one-message segment has the same size. */
const val = (i: number) => `v${String(i).padStart(3, "0")}`;

const SMALL = { cleanerInterval: { value: 100 }, segmentMaxBytes: { value: 1 } };

describe("retention per stream", () => {
  it("retentionMaxMessages=10: after 100 messages the earliest offset is 90 and the last 10 are intact", async () => {
    env = await startEnv();
    const e = env;
    await create(e, "m", { ...SMALL, retentionMaxMessages: { value: 10 } });
    await publishN(e, "m", 0, 100);
    await waitFor(async () => (await earliest(e, "m")) === 90, 30_000, "retention by messages");
    const got = await readAll(e, "m");
    expect(got.map((r) => r.offset)).toEqual(range(90, 100));
    expect(got.map((r) => r.value)).toEqual(range(90, 100).map(val));
    // Whole segments went: one file per retained message is left.
    expect((await waitForFiles(e, "m", 10)).map((f) => f.name)).toEqual(
      range(90, 100).map((i) => `${String(i).padStart(20, "0")}.log`),
    );
    const pm = await unary<{ metadata: { newestOffset: number; highWatermark: number } }>(
      e.client,
      "FetchPartitionMetadata",
      { stream: "m", partition: 0 },
    );
    expect(pm.metadata).toMatchObject({ newestOffset: 99, highWatermark: 99 });
    // New messages continue at the next offset and retention keeps going.
    await publishN(e, "m", 100, 105);
    await waitFor(async () => (await earliest(e, "m")) === 95, 30_000, "retention keeps running");
  });

  it("retentionMaxBytes keeps the newest segments that fit", async () => {
    env = await startEnv();
    const e = env;
    await create(e, "b", { ...SMALL, retentionMaxBytes: { value: 1000 } });
    await publishN(e, "b", 0, 40);
    await waitFor(async () => (await earliest(e, "b")) > 0, 30_000, "retention by bytes");
    const kept = 40 - (await earliest(e, "b"));
    const files = await waitForFiles(e, "b", kept);
    const total = files.reduce((n, f) => n + f.size, 0);
    const one = files[0]!.size; // every message here has the same size
    expect(files.every((f) => f.size === one)).toBe(true);
    expect(total).toBeLessThanOrEqual(1000);
    expect(total + one).toBeGreaterThan(1000);
    const got = await readAll(e, "b");
    expect(got.map((r) => r.offset)).toEqual(range(40 - files.length, 40));
    expect(got.at(-1)!.value).toBe(val(39));
  });

  it("retentionMaxAge (ms) drops old segments; the segment age follows it; a stream without it keeps all", async () => {
    env = await startEnv();
    const e = env;
    await create(e, "aged", { cleanerInterval: { value: 100 }, retentionMaxAge: { value: 1500 } });
    await create(e, "kept", { cleanerInterval: { value: 100 } });
    await publishN(e, "aged", 0, 5);
    await publishN(e, "kept", 0, 5);
    // The segment rolls once 1.5 s old (one tick), then the next tick deletes it: only the empty,
    // freshly rolled segment at offset 5 remains.
    await waitFor(
      async () => (await logFiles(e, "aged")).map((f) => f.name).join() === `${"5".padStart(20, "0")}.log`,
      30_000,
      "age retention",
    );
    expect((await logFiles(e, "aged"))[0]!.size).toBe(0);
    await unary(e.client, "Publish", { stream: "aged", value: Buffer.from("fresh") });
    expect(await readAll(e, "aged")).toEqual([{ offset: 5, key: null, value: "fresh" }]);
    expect((await readAll(e, "kept")).map((r) => r.offset)).toEqual(range(0, 5));
  });

  it("server defaults apply unless a stream overrides them (0 = unlimited)", async () => {
    env = await startEnv({
      streams: { retentionMaxMessages: 5, cleanerIntervalMs: 100, segmentMaxBytes: 1 },
    });
    const e = env;
    await create(e, "dflt");
    await create(e, "more", { retentionMaxMessages: { value: 20 } });
    await create(e, "unlimited", { retentionMaxMessages: { value: 0 } });
    for (const s of ["dflt", "more", "unlimited"]) await publishN(e, s, 0, 30);
    await waitFor(async () => (await earliest(e, "dflt")) === 25, 30_000, "server default");
    await waitFor(async () => (await earliest(e, "more")) === 10, 30_000, "override");
    // The unlimited one had as many cleaner ticks as the others by now.
    expect((await readAll(e, "unlimited")).map((r) => r.offset)).toEqual(range(0, 30));
  });

  it("the cleaner runs on the stream's own interval (ms): 100 ms cleans, 1 h has not yet", async () => {
    env = await startEnv();
    const e = env;
    await create(e, "fast", { ...SMALL, retentionMaxMessages: { value: 3 } });
    await create(e, "slow", {
      cleanerInterval: { value: 3_600_000 },
      segmentMaxBytes: { value: 1 },
      retentionMaxMessages: { value: 3 },
    });
    await publishN(e, "fast", 0, 10);
    await publishN(e, "slow", 0, 10);
    await waitFor(async () => (await earliest(e, "fast")) === 7, 30_000, "fast cleaner");
    await waitForFiles(e, "fast", 3);
    // A few more fast ticks; the slow stream, created at the same time, is untouched.
    await publishN(e, "fast", 10, 12);
    await waitFor(async () => (await earliest(e, "fast")) === 9, 30_000, "more fast ticks");
    expect(await earliest(e, "slow")).toBe(0);
    expect((await logFiles(e, "slow")).length).toBe(10);
  });

  it("overrides survive a restart even when the server defaults change", async () => {
    env = await startEnv({ streams: { retentionMaxMessages: 100 } });
    const e = env;
    await create(e, "r", { ...SMALL, retentionMaxMessages: { value: 10 } });
    await create(e, "d", SMALL);
    await publishN(e, "r", 0, 15);
    await publishN(e, "d", 0, 15);
    await waitFor(async () => (await earliest(e, "r")) === 5, 30_000, "before restart");
    await e.restart({ streams: { retentionMaxMessages: 3 } });
    expect(e.broker.core.stream("r")!.config).toEqual({
      cleanerIntervalMs: 100,
      segmentMaxBytes: 1,
      retentionMaxMessages: 10,
    });
    // Offsets and retained data are intact after the restart.
    expect((await readAll(e, "r")).map((r) => r.offset)).toEqual(range(5, 15));
    await publishN(e, "r", 15, 30);
    await waitFor(async () => (await earliest(e, "r")) === 20, 30_000, "override after restart");
    // The stream without an override follows the new server default.
    await waitFor(async () => (await earliest(e, "d")) === 12, 30_000, "new default after restart");
    expect((await readAll(e, "r")).map((r) => r.value)).toEqual(range(20, 30).map(val));
  });

  it.each([
    ["retentionMaxBytes", "retentionMaxBytes"],
    ["retentionMaxMessages", "retentionMaxMessages"],
    ["retentionMaxAge", "retentionMaxAgeMs"],
    ["cleanerInterval", "cleanerIntervalMs"],
    ["segmentMaxBytes", "segmentMaxBytes"],
    ["segmentMaxAge", "segmentMaxAgeMs"],
    ["compactMaxGoroutines", "compactMaxGoroutines"],
  ])("a negative %s is InvalidArgument and creates nothing", async (field, named) => {
    env = await startEnv();
    const e = env;
    expect(await codeOf(create(e, "bad", { [field]: { value: -1 } }))).toEqual({
      code: Code.INVALID_ARGUMENT,
      details: `${named} must be >= 0`,
    });
    expect(e.broker.core.stream("bad")).toBeUndefined();
  });
});

describe("compaction per stream", () => {
  const KEYS = ["foo", "bar", "foo", "foo", "bar", "baz", "baz", "qux", "foo", "baz"];

  async function publishKeyed(e: Env, stream: string): Promise<void> {
    for (let i = 0; i < KEYS.length; i++) {
      await unary(e.client, "Publish", { stream, key: Buffer.from(KEYS[i]!), value: Buffer.from(`v${i}`) });
    }
  }

  it("keeps the latest value per key (internals §1.9 example: offsets 4, 7, 8, 9 survive)", async () => {
    env = await startEnv();
    const e = env;
    await create(e, "c", { ...SMALL, compactEnabled: { value: true }, compactMaxGoroutines: { value: 2 } });
    await create(e, "plain", SMALL);
    await publishKeyed(e, "c");
    await publishKeyed(e, "plain");
    await waitFor(async () => (await readAll(e, "c")).length === 4, 30_000, "compaction");
    expect(await readAll(e, "c")).toEqual([
      { offset: 4, key: "bar", value: "v4" },
      { offset: 7, key: "qux", value: "v7" },
      { offset: 8, key: "foo", value: "v8" },
      { offset: 9, key: "baz", value: "v9" },
    ]);
    // Removed segments are gone from disk too; the uncompacted stream keeps everything.
    await waitForFiles(e, "c", 4);
    expect((await readAll(e, "plain")).map((r) => r.offset)).toEqual(range(0, 10));
    // A newer value for a key supersedes the kept one on a later run.
    await unary(e.client, "Publish", { stream: "c", key: Buffer.from("bar"), value: Buffer.from("v10") });
    await unary(e.client, "Publish", { stream: "c", key: Buffer.from("zed"), value: Buffer.from("v11") });
    await waitFor(
      async () => (await readAll(e, "c")).map((r) => r.offset).join() === "7,8,9,10,11",
      30_000,
      "second compaction",
    );
  });

  it("a server default of compaction on applies; a stream override of false wins; survives a restart", async () => {
    env = await startEnv({ streams: { compactEnabled: true, cleanerIntervalMs: 100, segmentMaxBytes: 1 } });
    const e = env;
    await create(e, "on");
    await create(e, "off", { compactEnabled: { value: false } });
    await e.restart({ streams: { compactEnabled: true, cleanerIntervalMs: 100, segmentMaxBytes: 1 } });
    await publishKeyed(e, "on");
    await publishKeyed(e, "off");
    await waitFor(async () => (await readAll(e, "on")).length === 4, 30_000, "default compaction");
    expect((await readAll(e, "on")).map((r) => r.offset)).toEqual([4, 7, 8, 9]);
    expect((await readAll(e, "off")).map((r) => r.offset)).toEqual(range(0, 10));
  });
});
