/**
 * Readers: a cursor that reads CRC-checked entries in chunks, waits at the end without polling,
 * and three iterator shapes over it (records, record arrays, raw bytes).
 */
import {
  checkEntry,
  decodeEntry,
  ENTRY_HEADER_SIZE,
  ENTRY_INVALID,
  type LogRecord,
  readU32,
  readU64,
} from "./codec/message-set.js";
import type { FileCommitLog } from "./commit-log.js";
import { CommitLogError } from "./errors.js";
import { raceAbort } from "./notifier.js";
import type { Segment } from "./segment.js";

/** Options of the read methods. */
export interface ReadOptions {
  /** First offset wanted; lower values snap up to the oldest record. Default: the oldest. */
  readonly offset?: number;
  /**
   * Read only up to the high watermark. A committed reader starting beyond the HW waits for
   * the HW to move and then starts at old HW + 1 (upstream's overflow clamp).
   */
  readonly committed?: boolean;
  /** Wait for new data at the end (default true); `false` ends the iteration there. */
  readonly wait?: boolean;
  /** Bytes per read and per yielded batch (a larger single record is read whole). Default 1 MiB. */
  readonly maxBatchBytes?: number;
  /** Ends the iteration cleanly when aborted. */
  readonly signal?: AbortSignal;
  /**
   * Reuse one read buffer for every batch (raw reads only): a yielded batch's `bytes` are valid only
   * until the next batch is requested. For consumers that copy or encode each batch before asking for
   * the next one (the Subscribe path): no 1 MiB allocation per batch, so far fewer garbage
   * collections triggered by external memory. Default false.
   */
  readonly reuseBuffer?: boolean;
}

/** A run of consecutive stored entries, as raw message-set bytes. */
export interface RawBatch {
  /** Message-set bytes (whole entries, CRC-checked), ready to replicate or decode. */
  readonly bytes: Buffer;
  readonly firstOffset: number;
  readonly lastOffset: number;
  /** Number of entries. */
  readonly count: number;
}

const DEFAULT_BATCH_BYTES = 1024 * 1024;

/** @internal Reading position over a log; yields raw batches. */
export class LogCursor {
  readonly #log: FileCommitLog;
  #nextOffset: number;
  readonly #committed: boolean;
  readonly #wait: boolean;
  readonly #batchBytes: number;
  readonly #signal: AbortSignal | undefined;
  #seg: Segment | null = null;
  #pos = 0;
  #gen = -1;
  #started = false;
  #readSize: number;
  #done = false;
  readonly #reuse: boolean;
  /** The read buffer kept between batches with `reuseBuffer`. */
  #buf: Buffer | undefined;

  constructor(log: FileCommitLog, o: ReadOptions) {
    const start = o.offset ?? 0;
    if (!Number.isSafeInteger(start))
      throw new CommitLogError("invalid_argument", "offset must be a safe integer");
    this.#log = log;
    this.#nextOffset = Math.max(start, 0);
    this.#committed = o.committed ?? false;
    this.#wait = o.wait ?? true;
    this.#batchBytes = o.maxBatchBytes ?? DEFAULT_BATCH_BYTES;
    if (!Number.isSafeInteger(this.#batchBytes) || this.#batchBytes < 1) {
      throw new CommitLogError("invalid_argument", "maxBatchBytes must be a positive integer");
    }
    this.#signal = o.signal;
    this.#readSize = this.#batchBytes;
    this.#reuse = o.reuseBuffer === true;
  }

  /** Offset the next batch starts at (or beyond). */
  get nextOffset(): number {
    return this.#nextOffset;
  }

  /** Ends this cursor; the next call returns `null`. */
  stop(): void {
    this.#done = true;
  }

  /** Returns the next batch, or `null` at the end (closed, aborted, or `wait: false` at the end). */
  async next(): Promise<RawBatch | null> {
    const log = this.#log;
    for (;;) {
      if (log.state === "deleted") throw new CommitLogError("deleted", `commit log ${log.dir} was deleted`);
      if (this.#done || log.state !== "open" || this.#signal?.aborted) return null;
      if (!this.#started) {
        if (this.#committed && this.#nextOffset > log.highWatermark) {
          if (!this.#wait) return null;
          this.throwIfReadonlyAtEnd();
          const old = log.highWatermark;
          await raceAbort(log.changed.wait(), this.#signal);
          if (log.highWatermark !== old) {
            this.#started = true;
            this.#nextOffset = old + 1;
          }
          continue;
        }
        this.#started = true;
      }
      if (this.#seg === null || this.#gen !== log.generation || this.#seg.retired) {
        await this.seek();
        continue;
      }
      const limit = this.#committed ? Math.min(log.highWatermark, log.newestOffset) : log.newestOffset;
      if (this.#nextOffset > limit) {
        if (!this.#wait) return null;
        if (this.#committed) this.throwIfReadonlyAtEnd();
        await raceAbort(log.changed.wait(), this.#signal);
        continue;
      }
      const seg = this.#seg;
      if (this.#pos >= seg.size) {
        const next = log.segmentAfter(seg);
        if (next !== null) {
          this.#seg = next;
          this.#pos = 0;
          continue;
        }
        if (!this.#wait) return null;
        await raceAbort(log.changed.wait(), this.#signal);
        continue;
      }
      const batch = await this.readChunk(seg, limit);
      if (batch !== null) return batch;
    }
  }

  private throwIfReadonlyAtEnd(): void {
    const log = this.#log;
    if (log.isReadonly && log.highWatermark >= log.newestOffset && this.#nextOffset > log.highWatermark) {
      throw new CommitLogError("readonly", "commit log is read-only and fully read");
    }
  }

  private async seek(): Promise<void> {
    const log = this.#log;
    this.#gen = log.generation;
    const segs = log.segments;
    let seg = segs[segs.length - 1]!;
    for (const s of segs) {
      if (s.nextOffset > this.#nextOffset) {
        seg = s;
        break;
      }
    }
    let pos = 0;
    if (this.#nextOffset > seg.baseOffset) {
      await log.ensureIndex(seg);
      pos = seg.lookupPosition(this.#nextOffset);
    }
    if (this.#gen !== log.generation) return; // changed while loading: seek again
    this.#seg = seg;
    this.#pos = pos;
  }

  /** Whether the log changed structure since this cursor positioned itself (or is changing now). */
  private changedUnder(seg: Segment): boolean {
    const log = this.#log;
    return seg !== this.#seg || seg.retired || this.#gen !== log.generation || log.restructuring;
  }

  /** After a structural change: wait until it is over, then make the next step re-seek. */
  private async settle(): Promise<null> {
    this.#seg = null;
    while (this.#log.restructuring && this.#log.state === "open") await this.#log.changed.wait();
    return null;
  }

  private async readChunk(seg: Segment, limit: number): Promise<RawBatch | null> {
    const avail = seg.size - this.#pos;
    const len = Math.min(avail, this.#readSize);
    let buf: Buffer;
    if (!this.#reuse) buf = Buffer.allocUnsafe(len);
    else {
      const kept = this.#buf;
      buf =
        kept !== undefined && kept.length >= len ? kept : Buffer.allocUnsafe(Math.max(len, this.#batchBytes));
      this.#buf = buf;
    }
    let got: number;
    seg.acquire();
    try {
      got = await seg.read(buf, 0, len, this.#pos);
    } catch (e) {
      // Removed or replaced under us (retention, compaction, truncation): re-seek by offset.
      if (this.changedUnder(seg)) return this.settle();
      throw e;
    } finally {
      await seg.release();
    }
    if (this.changedUnder(seg)) return this.settle();
    // Entries this process appended since the open are not CRC-checked again (options.verifyOwnWrites).
    const crcUntil = this.#log.options.verifyOwnWrites ? got : seg.ownFrom - this.#pos;
    let p = 0;
    let startP = -1;
    let first = -1;
    let last = -1;
    let count = 0;
    let n = 0;
    while (p < got) {
      n = checkEntry(buf, p, got, p < crcUntil);
      if (n === ENTRY_INVALID) {
        if (this.changedUnder(seg)) return this.settle();
        throw seg.corruptAt(this.#pos + p);
      }
      if (n < 0) break;
      const off = readU64(buf, p);
      if (off < this.#nextOffset) {
        if (count > 0) {
          if (this.changedUnder(seg)) return this.settle();
          throw seg.corruptAt(this.#pos + p);
        }
        p += n;
        continue;
      }
      if (off > limit) break;
      if (startP < 0) {
        startP = p;
        first = off;
      }
      last = off;
      count++;
      p += n;
    }
    if (p === 0 && n < 0 && got >= ENTRY_HEADER_SIZE) {
      // The first entry is larger than the read size: read it whole next time.
      this.#readSize = Math.max(this.#batchBytes, ENTRY_HEADER_SIZE + readU32(buf, 24));
      if (this.#readSize > avail) {
        if (this.changedUnder(seg)) return this.settle();
        throw seg.corruptAt(this.#pos);
      }
      return null;
    }
    if (p === 0 && got < ENTRY_HEADER_SIZE) {
      if (this.changedUnder(seg)) return this.settle();
      throw seg.corruptAt(this.#pos);
    }
    this.#readSize = this.#batchBytes;
    this.#pos += p;
    if (count === 0) {
      // Only skipped entries, or the next entry is beyond the limit (the loop then waits).
      return null;
    }
    this.#nextOffset = last + 1;
    return { bytes: buf.subarray(startP, p), firstOffset: first, lastOffset: last, count };
  }
}

function decodeBatch(b: RawBatch): LogRecord[] {
  const out = new Array<LogRecord>(b.count);
  const buf = b.bytes;
  let p = 0;
  for (let i = 0; i < b.count; i++) {
    out[i] = decodeEntry(buf, p);
    p += ENTRY_HEADER_SIZE + readU32(buf, p + 24);
  }
  return out;
}

/** A source of raw batches, forward ({@link LogCursor}) or newest first (`ReverseCursor`). */
export interface BatchCursor {
  /** The next batch, or `null` at the end. */
  next(): Promise<RawBatch | null>;
  stop(): void;
}

abstract class BaseIterator<T> implements AsyncIterableIterator<T> {
  protected readonly cursor: BatchCursor;
  constructor(cursor: BatchCursor) {
    this.cursor = cursor;
  }
  abstract next(): Promise<IteratorResult<T>>;
  return(): Promise<IteratorResult<T>> {
    this.cursor.stop();
    return Promise.resolve({ done: true, value: undefined });
  }
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/** @internal Iterator of raw batches. */
export class RawIterator extends BaseIterator<RawBatch> {
  async next(): Promise<IteratorResult<RawBatch>> {
    const b = await this.cursor.next();
    return b === null ? { done: true, value: undefined } : { done: false, value: b };
  }
}

/** @internal Iterator of decoded record arrays. */
export class RecordBatchIterator extends BaseIterator<LogRecord[]> {
  async next(): Promise<IteratorResult<LogRecord[]>> {
    const b = await this.cursor.next();
    return b === null ? { done: true, value: undefined } : { done: false, value: decodeBatch(b) };
  }
}

/** @internal Iterator of single records (decodes a batch at a time, in the order `decode` gives). */
export class RecordIterator extends BaseIterator<LogRecord> {
  readonly #decode: (b: RawBatch) => LogRecord[];
  #buf: LogRecord[] = [];
  #i = 0;
  constructor(cursor: BatchCursor, decode: (b: RawBatch) => LogRecord[] = decodeBatch) {
    super(cursor);
    this.#decode = decode;
  }
  next(): Promise<IteratorResult<LogRecord>> {
    if (this.#i < this.#buf.length) return Promise.resolve({ done: false, value: this.#buf[this.#i++]! });
    return this.refill();
  }
  private async refill(): Promise<IteratorResult<LogRecord>> {
    while (this.#i >= this.#buf.length) {
      const b = await this.cursor.next();
      if (b === null) return { done: true, value: undefined };
      this.#buf = this.#decode(b);
      this.#i = 0;
    }
    return { done: false, value: this.#buf[this.#i++]! };
  }
}
