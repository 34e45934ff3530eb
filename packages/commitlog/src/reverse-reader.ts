/**
 * The reverse reader: entries newest to oldest, from a start offset down to a stop offset, in
 * batches read forward between sparse-index positions and handed out reversed (spec internals §1.7
 * "Reverse reader"). It never waits for new data.
 *
 * Positions come from offset lookups in the sparse index, never from `start − baseOffset`, so gaps
 * left by compaction are handled (the upstream reader computes the slot from the offset, a [Quirk]
 * that breaks on compacted segments).
 * @module
 */
import { INDEX_ENTRY_SIZE } from "./codec/index-entry.js";
import {
  checkEntry,
  decodeEntry,
  ENTRY_HEADER_SIZE,
  type LogRecord,
  readU32,
  readU64,
} from "./codec/message-set.js";
import type { FileCommitLog } from "./commit-log.js";
import { CommitLogError } from "./errors.js";
import { raceAbort } from "./notifier.js";
import type { RawBatch } from "./reader.js";
import type { Segment } from "./segment.js";

/** Options of {@link CommitLog.readReverse} and {@link CommitLog.readRawReverse}. */
export interface ReverseReadOptions {
  /**
   * Newest offset wanted (inclusive). Capped at the newest offset (committed readers: at the high
   * watermark); -1 or absent means that cap.
   */
  readonly offset?: number;
  /** Oldest offset wanted (inclusive); default the oldest stored. */
  readonly stopOffset?: number;
  /** Read only committed records (at or below the high watermark). */
  readonly committed?: boolean;
  /** Bytes per read and per yielded batch, roughly (a larger single record is read whole). Default 1 MiB. */
  readonly maxBatchBytes?: number;
  /** Ends the iteration cleanly when aborted. */
  readonly signal?: AbortSignal;
}

const DEFAULT_BATCH_BYTES = 1024 * 1024;

/** @internal Reverse reading position; yields raw batches whose entries are newest first. */
export class ReverseCursor {
  readonly #log: FileCommitLog;
  readonly #start: number;
  readonly #stop: number;
  readonly #committed: boolean;
  readonly #batchBytes: number;
  readonly #signal: AbortSignal | undefined;
  /** Highest offset still to yield; -2 before the first call. */
  #next = -2;
  #done = false;

  constructor(log: FileCommitLog, o: ReverseReadOptions) {
    const start = o.offset ?? -1;
    const stop = o.stopOffset ?? 0;
    if (!Number.isSafeInteger(start) || start < -1) {
      throw new CommitLogError("invalid_argument", "offset must be a safe integer >= -1");
    }
    if (!Number.isSafeInteger(stop))
      throw new CommitLogError("invalid_argument", "stopOffset must be a safe integer");
    this.#log = log;
    this.#start = start;
    this.#stop = Math.max(stop, 0);
    this.#committed = o.committed ?? false;
    this.#batchBytes = o.maxBatchBytes ?? DEFAULT_BATCH_BYTES;
    if (!Number.isSafeInteger(this.#batchBytes) || this.#batchBytes < 1) {
      throw new CommitLogError("invalid_argument", "maxBatchBytes must be a positive integer");
    }
    this.#signal = o.signal;
  }

  /** Ends this cursor; the next call returns `null`. */
  stop(): void {
    this.#done = true;
  }

  /** The next batch (entries newest first), or `null` at the stop offset, the oldest record or close. */
  async next(): Promise<RawBatch | null> {
    const log = this.#log;
    for (;;) {
      if (log.state === "deleted") throw new CommitLogError("deleted", `commit log ${log.dir} was deleted`);
      if (this.#done || log.state !== "open" || this.#signal?.aborted) return null;
      if (this.#next === -2) {
        const limit = this.#committed ? Math.min(log.highWatermark, log.newestOffset) : log.newestOffset;
        this.#next = this.#start === -1 ? limit : Math.min(this.#start, limit);
      }
      if (this.#next < this.#stop || this.#next < log.oldestOffset || this.#next < 0) return null;
      if (log.restructuring) {
        await raceAbort(log.changed.wait(), this.#signal);
        continue;
      }
      const batch = await this.#readBefore(this.#next);
      if (batch !== null) return batch;
    }
  }

  /** Reads the chunk of entries ending with offset `hi`; `null` means "look again" (moved or changed). */
  async #readBefore(hi: number): Promise<RawBatch | null> {
    const log = this.#log;
    const gen = log.generation;
    const seg = segmentFor(log.segments, hi);
    if (seg === null) {
      this.#next = -1;
      return null;
    }
    if (seg.count === 0 || seg.firstOffset > hi) {
      // Nothing at or below `hi` here (empty, or a gap left by compaction): go to the previous segment.
      this.#next = Math.min(hi, seg.baseOffset) - 1;
      return null;
    }
    await log.ensureIndex(seg);
    if (gen !== log.generation || seg.retired) return null;
    const [from, to] = chunkBounds(seg, hi, this.#batchBytes);
    const len = to - from;
    const buf = Buffer.allocUnsafe(len);
    let got: number;
    seg.acquire();
    try {
      got = await seg.read(buf, 0, len, from);
    } catch (e) {
      if (gen !== log.generation || seg.retired || log.restructuring) return null;
      throw e;
    } finally {
      await seg.release();
    }
    if (gen !== log.generation || seg.retired || log.restructuring) return null;
    if (got < len) throw seg.corruptAt(from + got);
    // Forward scan of the chunk: entry starts with lowest <= offset <= hi.
    const starts: number[] = [];
    let firstInChunk = -1;
    let p = 0;
    while (p < got) {
      const n = checkEntry(buf, p, got);
      if (n < 0) throw seg.corruptAt(from + p);
      const off = readU64(buf, p);
      if (firstInChunk < 0) firstInChunk = off;
      if (off > hi) break;
      if (off >= this.#stop) starts.push(p);
      p += n;
    }
    this.#next = firstInChunk - 1;
    if (starts.length === 0) return null;
    // Copy the entries newest first.
    let total = 0;
    for (const s of starts) total += ENTRY_HEADER_SIZE + readU32(buf, s + 24);
    const out = Buffer.allocUnsafe(total);
    let o = 0;
    for (let i = starts.length - 1; i >= 0; i--) {
      const s = starts[i]!;
      o += buf.copy(out, o, s, s + ENTRY_HEADER_SIZE + readU32(buf, s + 24));
    }
    return {
      bytes: out,
      firstOffset: readU64(buf, starts[starts.length - 1]!),
      lastOffset: readU64(buf, starts[0]!),
      count: starts.length,
    };
  }
}

/** The last segment whose base offset is at or below `offset`, or `null`. */
function segmentFor(segments: readonly Segment[], offset: number): Segment | null {
  let found: Segment | null = null;
  for (const s of segments) {
    if (s.baseOffset > offset) break;
    found = s;
  }
  return found;
}

/**
 * Byte range `[from, to)` of whole entries to read so that the entry with offset `hi` (or the last
 * one below it) is inside and the range holds about `batchBytes`: `to` is the position of the first
 * indexed entry above `hi` (or the segment end), `from` an indexed position (or 0).
 */
function chunkBounds(seg: Segment, hi: number, batchBytes: number): [number, number] {
  const idx = seg.idx;
  const n = idx === null ? 0 : seg.idxCount;
  const rel = hi - seg.baseOffset;
  // k = last slot with relative offset <= rel (-1: before the first indexed entry).
  let lo = 0;
  let up = n - 1;
  let k = -1;
  while (lo <= up) {
    const mid = (lo + up) >>> 1;
    if (idx!.readUInt32BE(mid * INDEX_ENTRY_SIZE) <= rel) {
      k = mid;
      lo = mid + 1;
    } else up = mid - 1;
  }
  const posAt = (slot: number): number => (slot < 0 ? 0 : idx!.readUInt32BE(slot * INDEX_ENTRY_SIZE + 4));
  const to = k + 1 < n ? posAt(k + 1) : seg.size;
  let j = k;
  while (j >= 0 && to - posAt(j - 1) <= batchBytes) j--;
  return [posAt(j), to];
}

/** @internal Decodes a reverse batch: its records, newest first. */
export function decodeReversed(b: RawBatch): LogRecord[] {
  const out = new Array<LogRecord>(b.count);
  let p = 0;
  for (let i = 0; i < b.count; i++) {
    out[i] = decodeEntry(b.bytes, p);
    p += ENTRY_HEADER_SIZE + readU32(b.bytes, p + 24);
  }
  return out;
}
