import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { type CommitLog, decodeMessageSet, isCommitLogError, type LogRecord } from "../../src/index.js";
import { offsets, open, readAll, s, tempDir, u } from "../helpers.js";

async function reverse(
  log: CommitLog,
  o: Parameters<CommitLog["readReverse"]>[0] = {},
): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for await (const r of log.readReverse(o)) out.push(r);
  return out;
}

/** The oracle: a forward read of everything, filtered and reversed. */
async function expected(log: CommitLog, start: number, stop: number, committed: boolean): Promise<number[]> {
  const limit = committed ? Math.min(log.highWatermark, log.newestOffset) : log.newestOffset;
  const hi = start === -1 ? limit : Math.min(start, limit);
  return offsets(await readAll(log))
    .filter((o) => o <= hi && o >= stop)
    .reverse();
}

describe.each([60, 600, 6000])("reverse reader, segments of %i bytes", (maxSegmentBytes) => {
  it("reads newest to oldest from any start down to any stop, with every batch size", async () => {
    const log = await open(await tempDir(), { maxSegmentBytes, indexIntervalBytes: 100 });
    for (let i = 0; i < 60; i++) await log.append([{ value: u(`v${i}-${"x".repeat(i % 13)}`) }]);
    expect(offsets(await reverse(log))).toEqual(Array.from({ length: 60 }, (_, i) => 59 - i));
    const all = await reverse(log);
    expect(all.map((r) => s(r.value))[0]).toBe(`v59-${"x".repeat(59 % 13)}`);
    for (const [start, stop] of [
      [-1, 0],
      [30, 0],
      [30, 25],
      [0, 0],
      [59, 59],
      [1000, 55],
      [10, 11],
    ] as const) {
      for (const maxBatchBytes of [1, 100, 1 << 20]) {
        const got = offsets(await reverse(log, { offset: start, stopOffset: stop, maxBatchBytes }));
        expect(got, `start ${start} stop ${stop} batch ${maxBatchBytes}`).toEqual(
          await expected(log, start, stop, false),
        );
      }
    }
  });

  it("committed readers start at the high watermark; raw batches are newest first", async () => {
    const log = await open(await tempDir(), { maxSegmentBytes, indexIntervalBytes: 100 });
    for (let i = 0; i < 20; i++) await log.append([{ value: u(`v${i}`) }]);
    expect(offsets(await reverse(log, { committed: true }))).toEqual([]);
    log.setHighWatermark(12);
    expect(offsets(await reverse(log, { committed: true }))).toEqual(await expected(log, -1, 0, true));
    expect(offsets(await reverse(log, { committed: true, offset: 15 }))[0]).toBe(12);
    const batches = [];
    for await (const b of log.readRawReverse({ committed: true, maxBatchBytes: 90 })) batches.push(b);
    const flat = batches.flatMap((b) => {
      const recs = decodeMessageSet(b.bytes);
      expect(recs[0]!.offset).toBe(b.firstOffset);
      expect(recs[recs.length - 1]!.offset).toBe(b.lastOffset);
      expect(recs.length).toBe(b.count);
      return offsets(recs);
    });
    expect(flat).toEqual(Array.from({ length: 13 }, (_, i) => 12 - i));
  });
});

describe("reverse reader edge cases", () => {
  it("an empty log ends at once", async () => {
    const log = await open(await tempDir());
    expect(await reverse(log)).toEqual([]);
    expect(await reverse(log, { committed: true })).toEqual([]);
  });

  it("reads compacted segments (offset gaps) correctly: the upstream slot-from-offset quirk is not copied", async () => {
    const log = await open(await tempDir(), { maxSegmentBytes: 400, indexIntervalBytes: 40, compact: true });
    for (let i = 0; i < 100; i++) await log.append([{ key: u(`k${i % 7}`), value: u(`v${i}`) }]);
    log.setHighWatermark(99);
    await log.clean();
    const survivors = offsets(await readAll(log));
    expect(survivors.length).toBeLessThan(100);
    expect(offsets(await reverse(log))).toEqual([...survivors].reverse());
    for (const start of [0, 3, 50, 93, 98, log.active.baseOffset - 1]) {
      expect(offsets(await reverse(log, { offset: start }))).toEqual(await expected(log, start, 0, false));
    }
    // Values belong to their offsets.
    for (const r of await reverse(log)) expect(s(r.value)).toBe(`v${r.offset}`);
  });

  it("stops at the oldest offset after retention removed segments", async () => {
    const log = await open(await tempDir(), { maxSegmentBytes: 1, maxLogMessages: 5 });
    for (let i = 0; i < 12; i++) await log.append([{ value: u("blah") }]);
    await log.clean();
    expect(offsets(await reverse(log))).toEqual([11, 10, 9, 8, 7]);
    expect(offsets(await reverse(log, { offset: 3 }))).toEqual([]);
  });

  it("abort, close and delete end a reader in the middle", async () => {
    // Every entry indexed: with maxBatchBytes 1 each batch is one entry.
    const log = await open(await tempDir(), { maxSegmentBytes: 200, indexIntervalBytes: 1 });
    for (let i = 0; i < 10; i++) await log.append([{ value: u(`v${i}`) }]);
    const ac = new AbortController();
    const got: number[] = [];
    for await (const r of log.readReverse({ signal: ac.signal, maxBatchBytes: 1 })) {
      got.push(r.offset);
      if (got.length === 3) ac.abort();
    }
    expect(got).toEqual([9, 8, 7]);
    const it1 = log.readRawReverse({ maxBatchBytes: 1 });
    expect((await it1.next()).value.firstOffset).toBe(9);
    await log.delete();
    await expect(it1.next()).rejects.toSatisfy((e) => isCommitLogError(e, "deleted"));
  });

  it("a truncation in the middle: the reader goes on below the new log end", async () => {
    const log = await open(await tempDir(), { maxSegmentBytes: 200, indexIntervalBytes: 1 });
    for (let i = 0; i < 10; i++) await log.append([{ value: u(`v${i}`) }]);
    const it1 = log.readReverse({ maxBatchBytes: 1 });
    const got = [(await it1.next()).value.offset, (await it1.next()).value.offset];
    await log.truncate(5);
    for (let r = await it1.next(); !r.done; r = await it1.next()) got.push(r.value.offset);
    expect(got).toEqual([9, 8, 4, 3, 2, 1, 0]);
  });

  it("close ends a reader in the middle cleanly", async () => {
    const log = await open(await tempDir(), { maxSegmentBytes: 200, indexIntervalBytes: 1 });
    for (let i = 0; i < 5; i++) await log.append([{ value: u(`v${i}`) }]);
    const it1 = log.readReverse({ maxBatchBytes: 1 });
    expect((await it1.next()).value.offset).toBe(4);
    await log.close();
    expect((await it1.next()).done).toBe(true);
  });

  it("rejects bad options", async () => {
    const log = await open(await tempDir());
    expect(() => log.readReverse({ offset: -2 })).toThrow(/offset/u);
    expect(() => log.readReverse({ offset: 1.5 })).toThrow(/offset/u);
    expect(() => log.readReverse({ maxBatchBytes: 0 })).toThrow(/maxBatchBytes/u);
  });

  test.prop(
    [
      fc.array(fc.nat(300), { minLength: 0, maxLength: 40 }),
      fc.integer({ min: -1, max: 45 }),
      fc.integer({ min: -3, max: 45 }),
      fc.integer({ min: 1, max: 2000 }),
      fc.integer({ min: 50, max: 2000 }),
      fc.boolean(),
    ],
    { numRuns: 25 },
  )(
    "matches a reversed forward read (differential)",
    async (sizes, start, stop, batch, segBytes, committed) => {
      const log = await open(await tempDir(), { maxSegmentBytes: segBytes, indexIntervalBytes: 64 });
      for (const n of sizes) await log.append([{ value: new Uint8Array(n) }]);
      if (sizes.length > 0) log.setHighWatermark(Math.floor(sizes.length / 2));
      const got = offsets(
        await reverse(log, { offset: start, stopOffset: stop, maxBatchBytes: batch, committed }),
      );
      expect(got).toEqual(await expected(log, start, Math.max(stop, 0), committed));
      await log.close();
    },
  );
});
