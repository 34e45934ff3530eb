import { readdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type AppendRecord,
  decodeMessageSet,
  encodeMessageSet,
  isCommitLogError,
  type LogRecord,
} from "../../src/index.js";
import { offsets, open, readAll, s, tempDir, u } from "../helpers.js";

const SEGMENT_SIZES = [6, 60, 600, 6000];

describe.each(SEGMENT_SIZES)("segment size %i", (maxSegmentBytes) => {
  it("round-trips every field, across segments and a reopen", async () => {
    const dir = await tempDir();
    let log = await open(dir, { maxSegmentBytes });
    const big = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
    const recs: AppendRecord[] = [
      { key: null, value: null },
      { key: u(""), value: u("") },
      {
        key: u("k"),
        value: u("v"),
        headers: [
          { key: "subject", value: u("foo") },
          { key: "reply", value: u("") },
        ],
      },
      { value: big, timestamp: 123n },
      { key: u("ü"), value: u("x"), headers: [{ key: "ключ", value: new Uint8Array([0, 255]) }] },
    ];
    const got1 = await log.append(recs.slice(0, 3), { leaderEpoch: 2, timestamp: 1700000000000000001n });
    const got2 = await log.append(recs.slice(3), { leaderEpoch: 3 });
    expect([...got1, ...got2]).toEqual([0, 1, 2, 3, 4]);
    for (let i = 0; i < 30; i++) await log.append([{ value: u(`m${i}`) }]);
    const check = async (): Promise<void> => {
      const rs = await readAll(log);
      expect(offsets(rs)).toEqual(Array.from({ length: 35 }, (_, i) => i));
      expect(rs[0]!.key).toBeNull();
      expect(rs[0]!.value).toBeNull();
      expect(s(rs[1]!.key)).toBe("");
      expect(s(rs[1]!.value)).toBe("");
      expect(rs[2]!.headers.map((h) => [h.key, s(h.value)])).toEqual([
        ["subject", "foo"],
        ["reply", ""],
      ]);
      expect(rs[2]!.timestamp).toBe(1700000000000000001n);
      expect(rs[2]!.leaderEpoch).toBe(2);
      expect(Buffer.from(rs[3]!.value!).equals(Buffer.from(big))).toBe(true);
      expect(rs[3]!.timestamp).toBe(123n);
      expect(rs[3]!.leaderEpoch).toBe(3);
      expect(s(rs[4]!.key)).toBe("ü");
      expect(rs[4]!.headers[0]!.key).toBe("ключ");
      expect([...rs[4]!.headers[0]!.value]).toEqual([0, 255]);
      expect(s(rs[34]!.value)).toBe("m29");
      // Lookups by offset land exactly.
      for (const at of [0, 3, 4, 17, 34]) expect((await readAll(log, at))[0]!.offset).toBe(at);
      expect(await readAll(log, 35)).toEqual([]);
    };
    await check();
    if (maxSegmentBytes <= 600) expect(log.segments.length).toBeGreaterThan(3);
    await log.close();
    log = await open(dir, { maxSegmentBytes });
    expect(log.oldestOffset).toBe(0);
    expect(log.newestOffset).toBe(34);
    await check();
    expect(log.leaderEpochs).toEqual([
      { epoch: 2, startOffset: 0 },
      { epoch: 3, startOffset: 3 },
    ]);
    // New appends continue after reopen.
    expect(await log.append([{ value: u("after") }])).toEqual([35]);
  });

  it("finds offsets by timestamp after reopen", async () => {
    const dir = await tempDir();
    let log = await open(dir, { maxSegmentBytes, indexIntervalBytes: 64 });
    for (let i = 0; i < 50; i++)
      await log.append([{ value: u(`v${i}`) }], { timestamp: BigInt(1000 + i * 10) });
    await log.close();
    log = await open(dir, { maxSegmentBytes, indexIntervalBytes: 64 });
    expect(await log.offsetForTimestamp(0n)).toBe(0);
    expect(await log.offsetForTimestamp(1000n)).toBe(0);
    expect(await log.offsetForTimestamp(1001n)).toBe(1);
    expect(await log.offsetForTimestamp(1250n)).toBe(25);
    expect(await log.offsetForTimestamp(1490n)).toBe(49);
    expect(await log.offsetForTimestamp(1491n)).toBe(50);
  });

  it("reads from any offset with an uncommitted reader that follows rolls", async () => {
    const dir = await tempDir();
    const log = await open(dir, { maxSegmentBytes });
    const seen: number[] = [];
    const reader = (async () => {
      for await (const r of log.read({ offset: 0 })) {
        seen.push(r.offset);
        if (r.offset === 19) break;
      }
    })();
    for (let i = 0; i < 20; i++) await log.append([{ value: u(`x${i}`) }]);
    await reader;
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});

describe("group commit", () => {
  it("appends issued in one turn get consecutive offsets and one write", async () => {
    const log = await open(await tempDir());
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => log.append([{ value: u(`${i}`) }, { value: null }])),
    );
    expect(results.flat()).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(log.newestOffset).toBe(199);
    const rs = await readAll(log);
    expect(rs.filter((_, i) => i % 2 === 0).map((r) => s(r.value))).toEqual(
      Array.from({ length: 100 }, (_, i) => `${i}`),
    );
  });

  it.each(["none", "interval", "always"] as const)("sync %s keeps data across reopen", async (sync) => {
    const dir = await tempDir();
    let log = await open(dir, { sync, syncIntervalMs: 10, maxSegmentBytes: 500 });
    await Promise.all([log.append([{ value: u("a") }]), log.append([{ value: u("b") }])]);
    for (let i = 0; i < 20; i++) await log.append([{ value: u(`c${i}`) }]);
    await log.sync();
    await log.close();
    log = await open(dir, { sync });
    expect((await readAll(log)).length).toBe(22);
  });
});

describe("large flushes", () => {
  it("a > 1 MiB flush mixing append and appendReplicated round-trips and passes a full rescan", async () => {
    const dir = await tempDir();
    let log = await open(dir, { sync: "always" });
    const big = (i: number): AppendRecord => ({
      key: u(`k${i}`),
      value: Buffer.alloc(700 + (i % 5) * 300, i),
    });
    const first = Array.from({ length: 500 }, (_, i) => big(i));
    const replicated = encodeMessageSet([
      { offset: 1000, timestamp: 5n, leaderEpoch: 0, key: null, value: Buffer.alloc(3000, 7) },
      { offset: 1001, timestamp: 6n, leaderEpoch: 0, key: null, value: u("r") },
    ]);
    // One turn: both appends and the replicated set go out in one flush of ~1.1 MB.
    const [a, r, b] = await Promise.all([
      log.append(first),
      Promise.resolve().then(() => log.appendReplicated(replicated)),
      Promise.resolve().then(() => Promise.resolve().then(() => log.append([big(7), { value: null }]))),
    ]);
    expect(a).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(r).toEqual([1000, 1001]);
    expect(b).toEqual([1002, 1003]);
    const check = (rs: LogRecord[]): void => {
      expect(rs.length).toBe(504);
      const bad = rs.slice(0, 500).filter((x, i) => Buffer.compare(x.value!, big(i).value!) !== 0);
      expect(bad.map((x) => x.offset)).toEqual([]);
      expect(rs[500]!.value!.length).toBe(3000);
      expect(s(rs[501]!.value)).toBe("r");
      expect(rs[503]!.value).toBeNull();
    };
    check(await readAll(log));
    await log.close();
    // Without index files the open scans every entry and checks every CRC.
    for (const n of await readdir(dir)) if (n.endsWith(".index")) await unlink(join(dir, n));
    log = await open(dir);
    expect(log.newestOffset).toBe(1003);
    check(await readAll(log));
  });
});

describe("committed reader and high watermark", () => {
  it("clamps at the HW, wakes when it moves, and the HW survives reopen", async () => {
    const dir = await tempDir();
    let log = await open(dir);
    for (let i = 0; i < 10; i++) await log.append([{ value: u(`${i}`) }]);
    log.setHighWatermark(4);
    expect(offsets(await readAll(log, 0, true))).toEqual([0, 1, 2, 3, 4]);
    const seen: number[] = [];
    const reader = (async () => {
      for await (const r of log.read({ offset: 0, committed: true })) {
        seen.push(r.offset);
        if (r.offset === 7) break;
      }
    })();
    await expect.poll(() => seen.length).toBe(5);
    log.setHighWatermark(7);
    await reader;
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    log.setHighWatermark(3); // lower values are ignored
    expect(log.highWatermark).toBe(7);
    await log.close();
    log = await open(dir);
    expect(log.highWatermark).toBe(7);
  });

  it("HW 100 on an empty log survives reopen", async () => {
    const dir = await tempDir();
    let log = await open(dir);
    log.setHighWatermark(100);
    await log.close();
    log = await open(dir);
    expect(log.highWatermark).toBe(100);
  });

  it("a reader starting beyond the HW starts at old HW + 1 (overflow clamp)", async () => {
    const log = await open(await tempDir());
    for (let i = 0; i < 5; i++) await log.append([{ value: u(`${i}`) }]);
    log.setHighWatermark(4);
    const it = log.read({ offset: 100, committed: true });
    const first = it.next();
    await log.append([{ value: u("5") }]);
    log.setHighWatermark(5);
    expect((await first).value?.offset).toBe(5);
    await it.return?.();
  });

  it("read-only: readers drain to HW == LEO then end with readonly; append refused", async () => {
    const log = await open(await tempDir());
    for (let i = 0; i < 3; i++) await log.append([{ value: u(`${i}`) }]);
    log.setHighWatermark(2);
    log.setReadonly(true);
    await expect(log.append([{ value: null }])).rejects.toSatisfy((e) => isCommitLogError(e, "readonly"));
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const r of log.read({ committed: true })) seen.push(r.offset);
      })(),
    ).rejects.toSatisfy((e) => isCommitLogError(e, "readonly"));
    expect(seen).toEqual([0, 1, 2]);
    log.setReadonly(false);
    expect(await log.append([{ value: null }])).toEqual([3]);
  });
});

describe("waiting readers end cleanly", () => {
  it("on close, on abort, and with deleted on delete", async () => {
    const dir = await tempDir();
    const log = await open(dir);
    await log.append([{ value: u("a") }]);
    const ac = new AbortController();
    const seenAborted: number[] = [];
    const seenClosed: number[] = [];
    const consume = async (seen: number[], signal?: AbortSignal): Promise<number[]> => {
      for await (const r of log.read(signal ? { signal } : {})) seen.push(r.offset);
      return seen;
    };
    const aborted = consume(seenAborted, ac.signal);
    const closed = consume(seenClosed);
    const waiting = log.waitForData(0);
    // Both readers have read offset 0 and now wait at the end.
    await expect.poll(() => seenAborted.length + seenClosed.length).toBe(2);
    ac.abort();
    expect(await aborted).toEqual([0]);
    await log.close();
    expect(await closed).toEqual([0]);
    expect(await waiting).toBe(false);
    expect(await log.closed).toBeUndefined();
    await expect(log.append([{ value: null }])).rejects.toSatisfy((e) => isCommitLogError(e, "closed"));

    const log2 = await open(dir);
    const r2 = (async () => {
      for await (const _ of log2.read({ offset: 1 })) {
        /* waits */
      }
    })();
    const r2checked = expect(r2).rejects.toSatisfy((e) => isCommitLogError(e, "deleted"));
    await new Promise((r) => setImmediate(r));
    await log2.delete();
    await r2checked;
    await expect(readdir(dir)).rejects.toThrow();
  });
});

describe("truncate and leader-epoch cache", () => {
  it("truncating at 7 keeps 0..6 and drops epoch 3 (upstream TestTruncate)", async () => {
    const dir = await tempDir();
    let log = await open(dir, { maxSegmentBytes: 200 });
    for (const [epoch, n] of [
      [1, 5],
      [2, 5],
      [3, 5],
    ] as const) {
      for (let i = 0; i < n; i++) await log.append([{ value: u("blah") }], { leaderEpoch: epoch });
    }
    expect(log.leaderEpochs.map((e) => [e.epoch, e.startOffset])).toEqual([
      [1, 0],
      [2, 5],
      [3, 10],
    ]);
    expect(log.lastOffsetForLeaderEpoch(1)).toBe(5);
    expect(log.lastOffsetForLeaderEpoch(3)).toBe(14);
    await log.truncate(7);
    expect(log.newestOffset).toBe(6);
    expect(log.leaderEpochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(log.lastOffsetForLeaderEpoch(1)).toBe(5);
    expect(log.lastOffsetForLeaderEpoch(2)).toBe(6);
    expect(offsets(await readAll(log))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(await log.append([{ value: u("new") }], { leaderEpoch: 4 })).toEqual([7]);
    await log.close();
    log = await open(dir, { maxSegmentBytes: 200 });
    expect(offsets(await readAll(log))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(log.leaderEpochs.map((e) => [e.epoch, e.startOffset])).toEqual([
      [1, 0],
      [2, 5],
      [4, 7],
    ]);
    await log.truncate(0);
    expect(log.newestOffset).toBe(-1);
    expect(log.oldestOffset).toBe(-1);
    expect(await log.append([{ value: null }])).toEqual([0]);
  });

  it("appends issued while a truncation runs are numbered after it", async () => {
    const log = await open(await tempDir(), { maxSegmentBytes: 100 });
    for (let i = 0; i < 20; i++) await log.append([{ value: u(`${i}`) }]);
    const reader = log.read({ offset: 0 });
    const first = await reader.next();
    const t = log.truncate(5);
    await new Promise((r) => setImmediate(r));
    const appended = log.append([{ value: u("after") }]);
    await t;
    expect(await appended).toEqual([5]);
    const rest: string[] = [];
    for (let i = 0; i < 5; i++) rest.push(s((await reader.next()).value!.value)!);
    await reader.return?.();
    expect(first.value!.offset).toBe(0);
    expect(rest).toEqual(["1", "2", "3", "4", "after"]);
  });

  it("newLeaderEpoch records LEO-1", async () => {
    const log = await open(await tempDir());
    await log.append([{ value: null }, { value: null }], { leaderEpoch: 1 });
    await log.newLeaderEpoch(5);
    expect(log.leaderEpochs.at(-1)).toEqual({ epoch: 5, startOffset: 1 });
    expect(log.lastOffsetForLeaderEpoch(1)).toBe(1);
  });
});

describe("appendReplicated", () => {
  it("keeps offsets, timestamps and epochs; rejects bad input; allowed when read-only", async () => {
    const leader = await open(await tempDir());
    const follower = await open(await tempDir(), { maxSegmentBytes: 100 });
    await leader.append([{ value: u("a") }, { key: u("k"), value: u("b") }], {
      leaderEpoch: 3,
      timestamp: 77n,
    });
    await leader.append([{ value: u("c") }], { leaderEpoch: 4 });
    follower.setReadonly(true);
    for await (const b of leader.readRaw({ wait: false })) await follower.appendReplicated(b.bytes);
    const a = await readAll(leader);
    const b = await readAll(follower);
    expect(b).toEqual(a);
    expect(follower.leaderEpochs).toEqual(leader.leaderEpochs);
    const bad = Buffer.from((await leader.readRaw({ wait: false }).next()).value!.bytes);
    await expect(follower.appendReplicated(bad)).rejects.toSatisfy((e) =>
      isCommitLogError(e, "invalid_argument"),
    );
    bad[40]! ^= 1;
    await expect(follower.appendReplicated(bad)).rejects.toSatisfy((e) =>
      isCommitLogError(e, "invalid_argument"),
    );
  });
});

describe("corruption", () => {
  it("a record failing its CRC is never returned: typed corrupt error naming file and position", async () => {
    const dir = await tempDir();
    let log = await open(dir, { maxSegmentBytes: 200 });
    for (let i = 0; i < 20; i++) await log.append([{ value: u(`value-${i}`) }]);
    await log.close();
    const file = join(dir, "00000000000000000000.log");
    const bytes = await readFile(file);
    bytes[28 + 40 + 30]! ^= 0x10; // inside the second entry of the sealed first segment
    await writeFile(file, bytes);
    log = await open(dir, { maxSegmentBytes: 200 });
    const seen: number[] = [];
    const err = await (async () => {
      for await (const r of log.read({ wait: false })) seen.push(r.offset);
    })().catch((e: unknown) => e);
    expect(isCommitLogError(err, "corrupt")).toBe(true);
    expect(String(err)).toContain("00000000000000000000.log");
    expect(String(err)).toMatch(/byte \d+/);
    expect(seen).toEqual([]);
  });

  it("reads skip the CRC only for entries this instance appended (verifyOwnWrites re-checks them)", async () => {
    const dir = await tempDir();
    const file = join(dir, "00000000000000000000.log");
    /** Flips one bit of the value `v` in the .log, behind the log's back (same file, page cache). */
    const flip = async (v: string): Promise<void> => {
      const bytes = await readFile(file);
      const at = bytes.indexOf(v);
      expect(at).toBeGreaterThan(0);
      bytes[at]! ^= 0x01;
      await writeFile(file, bytes);
    };
    const values = async (log: Awaited<ReturnType<typeof open>>): Promise<string[]> =>
      (await readAll(log)).map((r) => s(r.value) ?? "");
    let log = await open(dir);
    for (let i = 0; i < 5; i++) await log.append([{ value: u(`own-${i}`) }]);
    await flip("own-2");
    // Bytes this instance wrote: their CRCs were computed from memory moments ago; only framing is checked.
    expect(await values(log)).toEqual(["own-0", "own-1", "nwn-2", "own-3", "own-4"]);
    const strict = await open(await tempDir(), { verifyOwnWrites: true });
    await strict.append([{ value: u("a") }, { value: u("strict-1") }]);
    const strictFile = join(strict.dir, "00000000000000000000.log");
    const sb = await readFile(strictFile);
    sb[sb.indexOf("strict-1")]! ^= 0x01;
    await writeFile(strictFile, sb);
    await expect(readAll(strict)).rejects.toSatisfy((e) => isCommitLogError(e, "corrupt"));
    await log.close();
    // After a reopen the same bytes come from disk: checked, and the bad entry is never returned.
    log = await open(dir);
    await expect(readAll(log)).rejects.toSatisfy((e) => isCommitLogError(e, "corrupt"));
    // Repair it, append more: old entries are checked, the new ones (this instance's) are not.
    await flip("nwn-2");
    for (let i = 5; i < 8; i++) await log.append([{ value: u(`own-${i}`) }]);
    await flip("own-6");
    expect((await values(log)).slice(5)).toEqual(["own-5", "nwn-6", "own-7"]);
    await flip("own-1");
    await expect(readAll(log)).rejects.toSatisfy((e) => isCommitLogError(e, "corrupt"));
  });

  it("recovers a missing index, removes stale temp files and cuts a torn tail", async () => {
    const dir = await tempDir();
    let log = await open(dir, { maxSegmentBytes: 300, indexIntervalBytes: 50 });
    for (let i = 0; i < 30; i++) await log.append([{ value: u(`v${i}`) }]);
    await log.close();
    const names = await readdir(dir);
    const indexes = names.filter((n) => n.endsWith(".index"));
    await writeFile(join(dir, indexes[0]!), Buffer.alloc(0));
    await writeFile(join(dir, `${indexes[1]!.slice(0, -6)}.log.cleaned`), "junk");
    await writeFile(join(dir, "replication-offset-checkpoint.tmp"), "junk");
    const last = names
      .filter((n) => n.endsWith(".log"))
      .sort()
      .at(-1)!;
    const lastBytes = await readFile(join(dir, last));
    await writeFile(join(dir, last), lastBytes.subarray(0, lastBytes.length - 3));
    await writeFile(join(dir, last.replace(".log", ".index")), Buffer.alloc(0));
    log = await open(dir, { maxSegmentBytes: 300, indexIntervalBytes: 50 });
    expect(log.newestOffset).toBe(28);
    expect(offsets(await readAll(log))).toEqual(Array.from({ length: 29 }, (_, i) => i));
    expect((await readdir(dir)).some((n) => n.endsWith(".tmp") || n.endsWith(".cleaned"))).toBe(false);
    for (const at of [5, 12, 27]) expect((await readAll(log, at))[0]!.offset).toBe(at);
    expect(await log.append([{ value: null }])).toEqual([29]);
  });
});

describe("argument checks", () => {
  it("rejects bad options and arguments with invalid_argument", async () => {
    const dir = await tempDir();
    await expect(open(dir, { maxSegmentBytes: 0 })).rejects.toSatisfy((e) =>
      isCommitLogError(e, "invalid_argument"),
    );
    await expect(open(dir, { sync: "sometimes" as "none" })).rejects.toSatisfy((e) =>
      isCommitLogError(e, "invalid_argument"),
    );
    const log = await open(dir);
    expect(() => log.read({ maxBatchBytes: 0 })).toThrow(/invalid_argument/);
    expect(() => log.read({ offset: 1.5 })).toThrow(/invalid_argument/);
    expect(() => log.setHighWatermark(-2)).toThrow(/invalid_argument/);
    await expect(log.truncate(-1)).rejects.toSatisfy((e) => isCommitLogError(e, "invalid_argument"));
    await expect(log.append([{ value: null }], { leaderEpoch: -1 })).rejects.toSatisfy((e) =>
      isCommitLogError(e, "invalid_argument"),
    );
    await expect(log.appendReplicated(new Uint8Array([1, 2, 3]))).rejects.toSatisfy((e) =>
      isCommitLogError(e, "invalid_argument"),
    );
    expect(await log.append([])).toEqual([]);
    expect(log.newestOffset).toBe(-1);
  });
});

describe("batch and raw readers", () => {
  it("readBatches honours maxBatchBytes; readRaw bytes decode to the same records", async () => {
    const log = await open(await tempDir(), { maxSegmentBytes: 1000 });
    expect(await log.offsetForTimestamp(5n)).toBe(0);
    for (let i = 0; i < 40; i++) await log.append([{ key: u(`k${i}`), value: u(`value-${i}`) }]);
    const batches: number[][] = [];
    for await (const b of log.readBatches({ wait: false, maxBatchBytes: 200 }))
      batches.push(b.map((r) => r.offset));
    expect(batches.flat()).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(batches.length).toBeGreaterThan(5);
    const decoded: LogRecord[] = [];
    for await (const raw of log.readRaw({ offset: 10, wait: false })) {
      const rs = decodeMessageSet(raw.bytes);
      expect(rs.length).toBe(raw.count);
      expect(rs[0]!.offset).toBe(raw.firstOffset);
      expect(rs.at(-1)!.offset).toBe(raw.lastOffset);
      decoded.push(...rs);
    }
    expect(decoded).toEqual(await readAll(log, 10));
  });

  it("readRaw with reuseBuffer yields the same batches from one buffer (a larger record grows it)", async () => {
    // Batches above 4 KiB: Node's pool does not serve them, so each allocation is its own buffer.
    const log = await open(await tempDir(), { maxSegmentBytes: 40_000 });
    for (let i = 0; i < 60; i++) await log.append([{ key: u(`k${i}`), value: new Uint8Array(500).fill(i) }]);
    await log.append([{ value: new Uint8Array(9000).fill(7) }]); // larger than maxBatchBytes
    for (let i = 60; i < 70; i++) await log.append([{ value: new Uint8Array(500).fill(i) }]);
    const copies: Buffer[] = [];
    const buffers = new Set<ArrayBufferLike>();
    for await (const raw of log.readRaw({ wait: false, maxBatchBytes: 5000 }))
      copies.push(Buffer.from(raw.bytes));
    const reused: Buffer[] = [];
    for await (const raw of log.readRaw({ wait: false, maxBatchBytes: 5000, reuseBuffer: true })) {
      reused.push(Buffer.from(raw.bytes));
      buffers.add(raw.bytes.buffer);
    }
    expect(reused).toEqual(copies);
    expect(copies.length).toBeGreaterThan(6);
    // One buffer, plus one for the record larger than maxBatchBytes (kept from then on).
    expect(buffers.size).toBeLessThanOrEqual(2);
    // Decoding readers never reuse their buffer: records stay valid.
    const records = [];
    for await (const r of log.read({ wait: false, maxBatchBytes: 5000, reuseBuffer: true })) records.push(r);
    expect(records).toEqual(await readAll(log, 0));
    expect(records.length).toBe(71);
  });

  it("waitForHighWatermark and waitForData resolve on change and on abort", async () => {
    const log = await open(await tempDir());
    const hw = log.waitForHighWatermark(-1);
    const data = log.waitForData(-1);
    await log.append([{ value: null }]);
    log.setHighWatermark(0);
    expect(await hw).toBe(true);
    expect(await data).toBe(true);
    const ac = new AbortController();
    const never = log.waitForData(5, { signal: ac.signal });
    ac.abort();
    expect(await never).toBe(false);
  });
});

describe("open failures", () => {
  it("a corrupt checkpoint or a bad segment name fails open with corrupt", async () => {
    const dir = await tempDir();
    const log = await open(dir);
    await log.append([{ value: null }]);
    await log.close();
    await writeFile(join(dir, "leader-epoch-checkpoint"), "7\n1\n1 0\n");
    await expect(open(dir)).rejects.toSatisfy((e) => isCommitLogError(e, "corrupt"));
    await writeFile(join(dir, "leader-epoch-checkpoint"), "0\n0\n");
    await writeFile(join(dir, "replication-offset-checkpoint"), "not-a-number");
    await expect(open(dir)).rejects.toSatisfy((e) => isCommitLogError(e, "corrupt"));
    await writeFile(join(dir, "replication-offset-checkpoint"), "0");
    await writeFile(join(dir, "12.log"), "");
    await expect(open(dir)).rejects.toSatisfy((e) => isCommitLogError(e, "corrupt"));
  });
});
