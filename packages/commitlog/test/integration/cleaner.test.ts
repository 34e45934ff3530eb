import { describe, expect, it } from "vitest";
import type { LogRecord } from "../../src/index.js";
import { ManualClock, offsets, open, readAll, s, tempDir, u } from "../helpers.js";

const blah = [{ value: u("blah") }];

describe("retention (spec §1.8) on real segments", () => {
  it("bytes: five 48-byte one-message segments, limit 100, keep the last 2", async () => {
    const log = await open(await tempDir(), { maxSegmentBytes: 1, maxLogBytes: 100 });
    for (let i = 0; i < 5; i++) await log.append(blah);
    expect(log.segments.map((x) => x.size)).toEqual([48, 48, 48, 48, 48]);
    await log.clean();
    expect(log.segments.length).toBe(2);
    expect(log.oldestOffset).toBe(3);
    expect(offsets(await readAll(log))).toEqual([3, 4]);
  });

  it("messages 15 + bytes 240 over twenty segments keep the last 5", async () => {
    const log = await open(await tempDir(), { maxSegmentBytes: 1, maxLogMessages: 15, maxLogBytes: 240 });
    for (let i = 0; i < 20; i++) await log.append(blah);
    await log.clean();
    expect(log.oldestOffset).toBe(15);
    expect(offsets(await readAll(log))).toEqual([15, 16, 17, 18, 19]);
  });

  it("messages: keeps the active segment even when it alone exceeds the limit", async () => {
    const log = await open(await tempDir(), { maxSegmentBytes: 1000, maxLogMessages: 2 });
    for (let i = 0; i < 10; i++) await log.append(blah);
    await log.clean();
    expect(log.segments.length).toBe(1);
    expect(log.oldestOffset).toBe(0);
  });

  it("age: deletes segments whose last record is too old, driven by the cleaner timer", async () => {
    const clock = new ManualClock();
    const log = await open(await tempDir(), {
      clock,
      maxSegmentBytes: 1,
      maxLogAgeMs: 60_000,
      cleanerIntervalMs: 1000,
    });
    for (let i = 0; i < 3; i++) await log.append(blah);
    clock.advance(120_000);
    for (let i = 0; i < 3; i++) await log.append(blah);
    // Ticks that roll skip cleaning (upstream); keep ticking until one cleans.
    await expect
      .poll(() => {
        clock.advance(1000);
        return log.oldestOffset;
      })
      .toBe(3);
    expect(offsets(await readAll(log))).toEqual([3, 4, 5]);
  });

  it("trims the leader-epoch cache to the first remaining offset", async () => {
    const log = await open(await tempDir(), { maxSegmentBytes: 1, maxLogMessages: 5 });
    for (let i = 0; i < 15; i++) await log.append(blah, { leaderEpoch: i < 5 ? 1 : i < 10 ? 2 : 3 });
    await log.clean();
    expect(log.leaderEpochs).toEqual([{ epoch: 3, startOffset: 10 }]);
  });

  it("rolls by segment age", async () => {
    const clock = new ManualClock();
    const log = await open(await tempDir(), { clock, maxSegmentAgeMs: 1000 });
    await log.append(blah);
    await log.append(blah);
    clock.advance(1000);
    await log.append(blah);
    expect(log.segments.map((x) => x.baseOffset)).toEqual([0, 2]);
  });

  it("a reader positioned in deleted segments snaps forward to the oldest record", async () => {
    const log = await open(await tempDir(), { maxSegmentBytes: 1, maxLogMessages: 5 });
    for (let i = 0; i < 20; i++) await log.append([{ value: u(`${i}`) }]);
    const it = log.read({ offset: 0, maxBatchBytes: 48 });
    const first = [(await it.next()).value!, (await it.next()).value!];
    await log.clean();
    const rest: LogRecord[] = [];
    for (let i = 0; i < 5; i++) rest.push((await it.next()).value!);
    await it.return?.();
    expect(offsets(first)).toEqual([0, 1]);
    expect(offsets(rest)).toEqual([15, 16, 17, 18, 19]);
    expect(rest.map((r) => s(r.value))).toEqual(["15", "16", "17", "18", "19"]);
  });
});

const KEYS = ["foo", "bar", "foo", "foo", "bar", "baz", "baz", "qux", "foo", "baz"];

describe("compaction (spec §1.9)", () => {
  it("keeps the latest per key up to the HW: survivors 4, 7, 8, 9 (TestCompactCleaner)", async () => {
    const dir = await tempDir();
    let log = await open(dir, { maxSegmentBytes: 1, compact: true });
    for (const [i, k] of KEYS.entries())
      await log.append([{ key: u(k), value: u(`${k}${i}`) }], { leaderEpoch: 1 + (i >> 2) });
    log.setHighWatermark(9);
    expect(log.active.firstOffset).toBe(9);
    await log.clean();
    expect(offsets(await readAll(log))).toEqual([4, 7, 8, 9]);
    expect((await readAll(log)).map((r) => s(r.value))).toEqual(["bar4", "qux7", "foo8", "baz9"]);
    expect(log.leaderEpochs).toEqual([
      { epoch: 2, startOffset: 4 },
      { epoch: 3, startOffset: 8 },
    ]);
    await log.close();
    log = await open(dir, { maxSegmentBytes: 1, compact: true });
    expect(offsets(await readAll(log))).toEqual([4, 7, 8, 9]);
    expect(await log.append([{ key: u("foo"), value: null }])).toEqual([10]);
  });

  it("keeps records at or above the HW and null keys (TestCompactCleanerHW / NoKeys)", async () => {
    const log = await open(await tempDir(), { maxSegmentBytes: 1, compact: true });
    for (const [i, k] of KEYS.entries()) await log.append([{ key: i === 1 ? null : u(k), value: u(`${i}`) }]);
    log.setHighWatermark(3);
    await log.clean();
    // Up to HW 3: foo's latest is 3; offset 1 has a null key; everything >= 3 stays.
    expect(offsets(await readAll(log))).toEqual([1, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("multi-record segments: compacts inside segments and lookups still land", async () => {
    const log = await open(await tempDir(), { maxSegmentBytes: 400, indexIntervalBytes: 40, compact: true });
    for (let i = 0; i < 100; i++) await log.append([{ key: u(`k${i % 7}`), value: u(`v${i}`) }]);
    log.setHighWatermark(99);
    await log.clean();
    const survivors = offsets(await readAll(log));
    const latest = new Map<number, number>();
    for (let i = 0; i < 100; i++) latest.set(i % 7, i);
    const activeBase = log.active.baseOffset;
    const expected = Array.from({ length: 100 }, (_, i) => i).filter(
      (i) => i >= activeBase || latest.get(i % 7) === i || i >= 99,
    );
    expect(survivors).toEqual(expected);
    for (const at of [0, 50, 93, activeBase])
      expect((await readAll(log, at))[0]!.offset).toBe(expected.find((o) => o >= at));
  });

  it("does not block appends, and a reader in the middle keeps a consistent view", async () => {
    const log = await open(await tempDir(), { maxSegmentBytes: 300, compact: true });
    for (let i = 0; i < 200; i++) await log.append([{ key: u(`k${i % 5}`), value: u(`v${i}`) }]);
    log.setHighWatermark(199);
    const it = log.read({ offset: 0, maxBatchBytes: 100 });
    const seen: LogRecord[] = [];
    for (let i = 0; i < 3; i++) seen.push((await it.next()).value!);
    const appends = Promise.all(
      Array.from({ length: 50 }, (_, i) => log.append([{ key: u("new"), value: u(`n${i}`) }])),
    );
    await Promise.all([log.clean(), appends]);
    for (;;) {
      const r = await it.next();
      seen.push(r.value!);
      if (r.value!.offset === 249) break;
    }
    await it.return?.();
    const offs = offsets(seen);
    for (let i = 1; i < offs.length; i++) expect(offs[i]!).toBeGreaterThan(offs[i - 1]!);
    for (const r of seen) expect(s(r.value)).toBe(r.offset < 200 ? `v${r.offset}` : `n${r.offset - 200}`);
    // Every record that survived compaction and lies after the reader's position was delivered.
    const after = offsets(await readAll(log, offs[2]! + 1));
    expect(offs.slice(3).filter((o) => after.includes(o))).toEqual(after);
  });

  it("runs concurrently with truncation without errors", async () => {
    const log = await open(await tempDir(), { maxSegmentBytes: 200, compact: true });
    for (let i = 0; i < 60; i++) await log.append([{ key: u(`k${i % 3}`), value: u(`v${i}`) }]);
    log.setHighWatermark(59);
    await Promise.all([log.clean(), log.truncate(30)]);
    const rs = await readAll(log);
    expect(rs.every((r) => r.offset < 30)).toBe(true);
    expect(rs.at(-1)!.offset).toBe(29);
    expect(await log.append([{ value: null }])).toEqual([30]);
  });
});
