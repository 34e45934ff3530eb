/**
 * FileCommitLog: the file-backed implementation of {@link CommitLog}. One writer (a SerialQueue)
 * does every mutation; appends are group-committed (all appends of one event-loop turn, plus all
 * that arrive while a write is in flight, go out in one write and, with sync `always`, one fsync).
 */
import { TMP_SUFFIX, writeFileAtomic } from "./checkpoint.js";
import { encodeTrailer, INDEX_ENTRY_SIZE } from "./codec/index-entry.js";
import {
  type AppendRecord,
  checkEntry,
  ENTRY_HEADER_SIZE,
  entryKeyString,
  type LogRecord,
  messageSize,
  readU32,
  readU64,
  splitTimestamp,
  writeEntry,
} from "./codec/message-set.js";
import type { Clock, Logger } from "./deps.js";
import { CommitLogError, invariant, isCommitLogError } from "./errors.js";
import type { FileSystem } from "./fs.js";
import { type EpochEntry, LeaderEpochCache } from "./leader-epoch-cache.js";
import { Notifier, raceAbort } from "./notifier.js";
import { type CommitLogOptions, type ResolvedCommitLogOptions, resolveCommitLogOptions } from "./options.js";
import {
  LogCursor,
  type RawBatch,
  RawIterator,
  type ReadOptions,
  RecordBatchIterator,
  RecordIterator,
} from "./reader.js";
import { planRetention } from "./retention.js";
import { decodeReversed, ReverseCursor, type ReverseReadOptions } from "./reverse-reader.js";
import { Segment } from "./segment.js";
import { SerialQueue } from "./serial-queue.js";
import type { AppendOptions, CommitLog, WaitOptions } from "./types.js";

/** File holding the high watermark as ASCII decimal (upstream name). */
export const HW_CHECKPOINT_FILE = "replication-offset-checkpoint";
/** File holding the leader-epoch cache (upstream name and format). */
export const EPOCH_CHECKPOINT_FILE = "leader-epoch-checkpoint";

const INITIAL_PENDING = 1024 * 1024;
const MAX_SPARE = 16 * 1024 * 1024;
const LOADED_INDEX_LIMIT = 16;
/** Unwritten sparse-index entries of the active segment that trigger an index write (64 KiB). */
const INDEX_FLUSH_ENTRIES = 4096;
const SEGMENT_RE = /^(\d{20})\.log$/;

interface PendingOp {
  /** End of this op's bytes in the pending buffer. */
  end: number;
  offsets: number[];
  resolve: (offsets: number[]) => void;
  reject: (e: unknown) => void;
}

type State = "open" | "closing" | "closed" | "deleted";

/**
 * Opens (creating if needed) the log in `dir`, recovering from any crash: stale temporary files
 * are removed, segments without a valid index trailer are scanned, a torn or corrupt tail is cut
 * and indexes are rebuilt (design.md). Opening a cleanly closed log reads no record.
 *
 * Throws `invalid_argument` for bad options, `corrupt` for an unreadable checkpoint file or a
 * `.log` file whose name is not a 20-digit offset, and file-system errors as they come.
 */
export async function openCommitLog(dir: string, options: CommitLogOptions = {}): Promise<CommitLog> {
  const log = new FileCommitLog(dir, resolveCommitLogOptions(options));
  try {
    await log.open();
  } catch (e) {
    await log.abandon();
    throw e;
  }
  return log;
}

/** @internal The implementation; exported from `./internal` only. */
export class FileCommitLog implements CommitLog {
  readonly dir: string;
  readonly options: ResolvedCommitLogOptions;
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly log: Logger;
  segments: Segment[] = [];
  state: State = "open";
  /** Bumped whenever segments are removed, replaced or truncated: readers re-seek. */
  generation = 0;
  /** True while a truncation rewrites segments in place (readers back off and re-seek). */
  restructuring = false;
  /** Appends issued while a truncation renumbers the log; replayed when it ends. */
  #deferred: Array<() => void> = [];
  /** Woken on any data, HW, roll, truncation, close or read-only change. */
  readonly changed = new Notifier();
  #hw = -1;
  #hwDirty = false;
  #readonly: boolean;
  #epochs = new LeaderEpochCache();
  readonly #queue = new SerialQueue();
  /** Next offset to assign (includes appends not yet written). */
  #nextOffset = 0;
  /** Newest offset visible to readers (written and, under `always`, synced). */
  #newest = -1;
  #pend: Buffer = Buffer.allocUnsafe(INITIAL_PENDING);
  #pendLen = 0;
  #pendOps: PendingOp[] = [];
  #spare: Buffer | null = null;
  #flushScheduled = false;
  #unsynced = false;
  #loadedIndexes: Segment[] = [];
  #timers: Array<() => void> = [];
  #background = new Set<Promise<void>>();
  #compacting = false;
  #closing: Promise<void> | null = null;
  #closedResolve!: (e: Error | undefined) => void;
  readonly closed: Promise<Error | undefined>;

  constructor(dir: string, options: ResolvedCommitLogOptions) {
    this.dir = dir;
    this.options = options;
    this.fs = options.fs;
    this.clock = options.clock;
    this.log = options.logger.child({ component: "commitlog" });
    this.#readonly = options.readonly;
    this.closed = new Promise((r) => (this.#closedResolve = r));
  }

  // ---------------------------------------------------------------- open and recovery

  async open(): Promise<void> {
    const { fs, dir } = this;
    await fs.mkdir(dir);
    const names = (await fs.readdir(dir)).sort();
    const bases: number[] = [];
    const logNames = new Set<string>();
    for (const name of names) {
      if (name.endsWith(TMP_SUFFIX) || name.endsWith(".cleaned") || name.endsWith(".truncated")) {
        await fs.unlink(`${dir}/${name}`);
        this.log.info({ file: name }, "removed stale temporary file");
        continue;
      }
      if (name.endsWith(".log")) {
        const m = SEGMENT_RE.exec(name);
        if (m === null)
          throw new CommitLogError("corrupt", `${dir}/${name}: segment name is not a 20-digit offset`);
        bases.push(Number(m[1]));
        logNames.add(m[1]!);
      }
    }
    for (const name of names) {
      if (name.endsWith(".index") && !logNames.has(name.slice(0, -6))) await fs.unlink(`${dir}/${name}`);
    }
    const recovered = new Set<Segment>();
    for (let i = 0; i < bases.length; i++) {
      const seg = new Segment(fs, dir, bases[i]!);
      const logSize = await fs.fileSize(seg.logPath);
      const trailer = await seg.loadIndex(logSize);
      const isLast = i === bases.length - 1;
      if (trailer !== null) {
        seg.applyTrailer(trailer);
      } else {
        recovered.add(seg);
        const cut = await this.recoverSegment(seg, logSize);
        if (cut && !isLast) {
          // Longest valid prefix: everything after a damaged sealed segment goes.
          for (const b of bases.slice(i + 1)) {
            const s = new Segment(fs, dir, b);
            await fs.unlink(s.logPath);
            await fs.unlink(s.indexPath);
          }
          bases.length = i + 1;
          this.segments.push(seg);
          break;
        }
      }
      this.segments.push(seg);
    }
    if (this.segments.length === 0) {
      const seg = new Segment(fs, dir, 0);
      await seg.create();
      await fs.syncDir(dir);
      this.segments.push(seg);
    } else {
      // Sealed segments whose index was rebuilt get a fresh index file with a trailer.
      for (let i = 0; i < this.segments.length - 1; i++) {
        const s = this.segments[i]!;
        s.sealed = true;
        if (recovered.has(s)) await this.rewriteIndexFile(s, true);
        s.idx = null;
      }
      const active = this.active;
      await active.openWritable();
      await active.resetIndexFile();
    }
    for (const s of this.segments) s.sealed = s !== this.active;
    this.#nextOffset = this.active.nextOffset;
    this.#newest = this.#nextOffset - 1;

    const hwText = await fs.readFile(`${dir}/${HW_CHECKPOINT_FILE}`);
    if (hwText !== null) {
      const hw = Number(hwText.toString("utf8").trim());
      if (!Number.isSafeInteger(hw) || hw < -1)
        throw new CommitLogError("corrupt", `${dir}/${HW_CHECKPOINT_FILE}: not an offset`);
      this.#hw = hw;
    }
    const epText = await fs.readFile(`${dir}/${EPOCH_CHECKPOINT_FILE}`);
    if (epText !== null) {
      try {
        this.#epochs = LeaderEpochCache.fromCheckpoint(epText.toString("utf8"));
      } catch (cause) {
        throw new CommitLogError("corrupt", `${dir}/${EPOCH_CHECKPOINT_FILE}: unreadable`, { cause });
      }
    }
    const a = this.#epochs.clearLatest(this.#newest + 1);
    const b = this.#epochs.clearEarliest(Math.max(this.oldestOffset, 0));
    if (a || b) await this.persistEpochs();
    this.startLoops();
    this.log.info(
      { segments: this.segments.length, leo: this.#newest + 1, hw: this.#hw },
      "commit log opened",
    );
  }

  /** Scans a segment whose index had no valid trailer: verifies every entry, rebuilds the index, cuts a bad tail. Returns whether it cut. */
  private async recoverSegment(seg: Segment, logSize: number): Promise<boolean> {
    seg.idx = Buffer.alloc(64 * INDEX_ENTRY_SIZE);
    seg.idxCount = 0;
    seg.idxWritten = 0;
    seg.lastIndexedPos = 0;
    seg.size = 0;
    seg.count = 0;
    seg.firstOffset = -1;
    seg.lastOffset = -1;
    let prev = seg.baseOffset - 1;
    let orderBroken = false;
    const interval = this.options.indexIntervalBytes;
    const { pos, bad } = await seg.scan(0, logSize, (buf, p, n, filePos) => {
      const off = readU64(buf, p);
      if (off <= prev) {
        orderBroken = true;
        return false;
      }
      prev = off;
      this.noteEntry(seg, buf, p, off, filePos, interval);
      seg.size = filePos + n;
      return true;
    });
    const cut = bad || orderBroken || pos < logSize;
    if (cut) {
      this.log.warn({ file: seg.logPath, position: pos, size: logSize }, "cutting invalid log tail");
      const h = await this.fs.open(seg.logPath, "r+");
      try {
        await h.truncate(pos);
        await h.sync();
      } finally {
        await h.close();
      }
    }
    seg.size = pos;
    if (seg.ownFrom > pos) seg.ownFrom = pos;
    return cut;
  }

  /** Updates a segment's summary and sparse index for one entry written at `filePos`. */
  private noteEntry(
    seg: Segment,
    buf: Buffer,
    p: number,
    off: number,
    filePos: number,
    interval: number,
  ): void {
    if (seg.count === 0) {
      seg.firstOffset = off;
      seg.firstTimestamp = buf.readBigInt64BE(p + 8);
    }
    seg.count++;
    seg.lastOffset = off;
    if (filePos - seg.lastIndexedPos >= interval)
      seg.addIndexEntry(off - seg.baseOffset, filePos, buf, p + 8);
  }

  private async rewriteIndexFile(seg: Segment, withTrailer: boolean): Promise<void> {
    const { fs } = this;
    const h = await fs.open(seg.indexPath, "w");
    try {
      if (seg.idx !== null && seg.idxCount > 0) await h.write(seg.idx, 0, seg.idxCount * INDEX_ENTRY_SIZE, 0);
      if (withTrailer) {
        const t = encodeTrailer(seg.trailer());
        await h.write(t, 0, t.length, seg.idxCount * INDEX_ENTRY_SIZE);
      }
      await h.sync();
    } finally {
      await h.close();
    }
    seg.idxWritten = seg.idxCount;
  }

  // ---------------------------------------------------------------- properties

  get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  get oldestOffset(): number {
    for (const s of this.segments) if (s.count > 0) return s.firstOffset;
    return -1;
  }

  get newestOffset(): number {
    return this.#newest;
  }

  get highWatermark(): number {
    return this.#hw;
  }

  get isReadonly(): boolean {
    return this.#readonly;
  }

  get leaderEpochs(): readonly EpochEntry[] {
    return this.#epochs.entries;
  }

  /** The offset the next `append` will get. */
  get nextOffset(): number {
    return this.#nextOffset;
  }

  private assertOpen(): void {
    if (this.state === "open") return;
    throw new CommitLogError(
      this.state === "deleted" ? "deleted" : "closed",
      `commit log ${this.dir} is ${this.state}`,
    );
  }

  // ---------------------------------------------------------------- append

  append(records: readonly AppendRecord[], options?: AppendOptions): Promise<number[]> {
    if (this.state !== "open") {
      return Promise.reject(
        new CommitLogError(this.state === "deleted" ? "deleted" : "closed", "commit log is closed"),
      );
    }
    if (this.#readonly) return Promise.reject(new CommitLogError("readonly", "commit log is read-only"));
    if (this.restructuring) return this.defer(() => this.append(records, options));
    const n = records.length;
    if (n === 0) return Promise.resolve([]);
    const epoch = options?.leaderEpoch ?? Math.max(this.#epochs.latestEpoch, 0);
    if (!Number.isSafeInteger(epoch) || epoch < 0) {
      return Promise.reject(
        new CommitLogError("invalid_argument", "leaderEpoch must be a safe integer >= 0"),
      );
    }
    const ts = options?.timestamp ?? BigInt(this.clock.now()) * 1_000_000n;
    const [tsHi, tsLo] = splitTimestamp(ts);
    const startLen = this.#pendLen;
    const offsets = new Array<number>(n);
    let off = this.#nextOffset;
    try {
      for (let i = 0; i < n; i++) {
        const r = records[i]!;
        const size = ENTRY_HEADER_SIZE + messageSize(r);
        if (this.#pendLen + size > this.#pend.length) this.growPending(this.#pendLen + size);
        if (r.timestamp === undefined) {
          this.#pendLen = writeEntry(this.#pend, this.#pendLen, off, tsHi, tsLo, epoch, r);
        } else {
          const [h, l] = splitTimestamp(r.timestamp);
          this.#pendLen = writeEntry(this.#pend, this.#pendLen, off, h, l, epoch, r);
        }
        offsets[i] = off++;
      }
    } catch (cause) {
      this.#pendLen = startLen;
      return Promise.reject(new CommitLogError("invalid_argument", "record cannot be encoded", { cause }));
    }
    this.#nextOffset = off;
    return this.enqueue(offsets);
  }

  appendReplicated(messageSet: Uint8Array): Promise<number[]> {
    if (this.state !== "open") {
      return Promise.reject(
        new CommitLogError(this.state === "deleted" ? "deleted" : "closed", "commit log is closed"),
      );
    }
    if (this.restructuring) return this.defer(() => this.appendReplicated(messageSet));
    const buf = Buffer.isBuffer(messageSet)
      ? messageSet
      : Buffer.from(messageSet.buffer, messageSet.byteOffset, messageSet.byteLength);
    const offsets: number[] = [];
    let prev = this.#nextOffset - 1;
    let p = 0;
    while (p < buf.length) {
      const n = checkEntry(buf, p, buf.length);
      if (n < 0) {
        return Promise.reject(
          new CommitLogError("invalid_argument", `replicated message set invalid at byte ${p}`),
        );
      }
      const off = readU64(buf, p);
      if (off <= prev) {
        return Promise.reject(
          new CommitLogError(
            "invalid_argument",
            `replicated offset ${off} not above log end ${prev} at byte ${p}`,
          ),
        );
      }
      offsets.push(off);
      prev = off;
      p += n;
    }
    if (offsets.length === 0) return Promise.resolve([]);
    if (this.#pendLen + buf.length > this.#pend.length) this.growPending(this.#pendLen + buf.length);
    buf.copy(this.#pend, this.#pendLen);
    this.#pendLen += buf.length;
    this.#nextOffset = prev + 1;
    return this.enqueue(offsets);
  }

  /** Queues an append until the running truncation has renumbered the log. */
  private defer(run: () => Promise<number[]>): Promise<number[]> {
    return new Promise<number[]>((resolve, reject) => {
      this.#deferred.push(() => run().then(resolve, reject));
    });
  }

  private enqueue(offsets: number[]): Promise<number[]> {
    return new Promise<number[]>((resolve, reject) => {
      this.#pendOps.push({ end: this.#pendLen, offsets, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(this.#scheduleFlush);
      }
    });
  }

  readonly #scheduleFlush = (): void => {
    void this.#queue.run(this.#flushTask);
  };

  readonly #flushTask = async (): Promise<void> => {
    this.#flushScheduled = false;
    await this.flushPending();
  };

  private growPending(need: number): void {
    let cap = this.#pend.length * 2;
    while (cap < need) cap *= 2;
    const b = Buffer.allocUnsafe(cap);
    this.#pend.copy(b, 0, 0, this.#pendLen);
    this.#pend = b;
  }

  /** Writes everything pending. Runs only inside the queue. */
  private async flushPending(): Promise<void> {
    if (this.#pendLen === 0) return;
    const buf = this.#pend;
    const len = this.#pendLen;
    const ops = this.#pendOps;
    this.#pend = this.#spare ?? Buffer.allocUnsafe(INITIAL_PENDING);
    this.#spare = null;
    this.#pendLen = 0;
    this.#pendOps = [];
    try {
      await this.writeChunk(buf, len, ops);
    } catch (cause) {
      const err = isCommitLogError(cause) ? cause : new CommitLogError("io", "append failed", { cause });
      this.log.error({ err }, "append failed");
      for (const op of ops) op.reject(err);
      // Later appends were numbered after the failed ones: fail them too and renumber from the log end.
      const later = this.#pendOps;
      this.#pendOps = [];
      this.#pendLen = 0;
      for (const op of later) op.reject(err);
      this.#nextOffset = this.active.nextOffset;
      return;
    } finally {
      if (buf.length <= MAX_SPARE) this.#spare = buf;
    }
    for (const op of ops) op.resolve(op.offsets);
  }

  private async writeChunk(buf: Buffer, len: number, ops: PendingOp[]): Promise<void> {
    const max = this.options.maxSegmentBytes;
    const always = this.options.sync === "always";
    let start = 0;
    let i = 0;
    let epochsChanged = false;
    const touched: Segment[] = [];
    while (i < ops.length) {
      await this.rollIfNeeded(buf, start);
      const seg = this.active;
      let end = ops[i]!.end;
      i++;
      while (i < ops.length && seg.size + (end - start) < max) {
        end = ops[i]!.end;
        i++;
      }
      // Start the data write, then (while it runs) update summary and sparse index. The active
      // segment's index file is only a hint that an unclean open discards (it rescans the
      // segment), so new entries stay in memory and reach the file in 64 KiB writes, at the
      // latest when the segment is sealed or the log closed: one threadpool task per batch.
      const before = seg.snapshot();
      // From here on the segment's tail is bytes this process wrote (CRCs computed or checked).
      if (seg.ownFrom > before.size) seg.ownFrom = before.size;
      const epochsBefore = [...this.#epochs.entries];
      const dataWrite = seg.writeAt(buf, start, end, before.size);
      let indexWrite: Promise<void> = Promise.resolve();
      try {
        epochsChanged = this.indexWritten(seg, buf, start, end, this.#epochs) || epochsChanged;
        if (seg.idxCount - seg.idxWritten >= INDEX_FLUSH_ENTRIES) indexWrite = seg.flushIndex();
        // Promise.all handles both rejections at once (no unhandled rejection if both fail).
        await Promise.all([dataWrite, indexWrite]);
      } catch (cause) {
        await dataWrite.catch(() => undefined);
        await indexWrite.catch(() => undefined);
        seg.restore(before);
        this.#epochs.replace(epochsBefore);
        // Best effort: drop a partial write so the file ends on an entry boundary.
        await (await seg.logHandle()).truncate(before.size).catch(() => undefined);
        throw cause;
      }
      if (!touched.includes(seg)) touched.push(seg);
      start = end;
    }
    invariant(start === len, "flush wrote a different number of bytes than pending");
    // Index files need no fsync: an unclean open rescans the active segment.
    if (always) {
      for (const s of touched) if (!s.retired) await s.datasync();
    } else {
      this.#unsynced = true;
    }
    if (epochsChanged) await this.persistEpochs();
    this.#newest = this.active.nextOffset - 1;
    this.changed.notify();
  }

  /** Updates segment state and sparse index for bytes just written; returns whether the epoch cache changed. */
  private indexWritten(
    seg: Segment,
    buf: Buffer,
    start: number,
    end: number,
    epochs: LeaderEpochCache,
  ): boolean {
    const interval = this.options.indexIntervalBytes;
    const base = seg.size - start;
    let changed = false;
    let latest = epochs.latestEpoch;
    let p = start;
    let lastP = start;
    while (p < end) {
      const filePos = base + p;
      const epHi = readU32(buf, p + 16);
      const epLo = readU32(buf, p + 20);
      const epoch = epHi * 4294967296 + epLo;
      if (seg.count === 0) {
        seg.firstOffset = readU64(buf, p);
        seg.firstTimestamp = buf.readBigInt64BE(p + 8);
      }
      if (epoch > latest) {
        if (epochs.assign(epoch, readU64(buf, p))) changed = true;
        latest = epochs.latestEpoch;
      }
      if (filePos - seg.lastIndexedPos >= interval)
        seg.addIndexEntry(readU64(buf, p) - seg.baseOffset, filePos, buf, p + 8);
      seg.count++;
      lastP = p;
      p += ENTRY_HEADER_SIZE + readU32(buf, p + 24);
    }
    seg.lastOffset = readU64(buf, lastP);
    seg.lastTimestamp = buf.readBigInt64BE(lastP + 8);
    seg.size = base + end;
    return changed;
  }

  /** Rolls the active segment when full or old (spec §1.4). `buf[at]` is the next entry to write, if any. */
  private async rollIfNeeded(buf: Buffer | null, at: number): Promise<boolean> {
    const seg = this.active;
    if (seg.size === 0) return false;
    const full = seg.size >= this.options.maxSegmentBytes;
    const age = this.options.maxSegmentAgeMs;
    const old = age > 0 && seg.count > 0 && this.clock.now() - seg.firstTimestampMs >= age;
    if (!full && !old) return false;
    const base = buf !== null ? readU64(buf, at) : seg.nextOffset;
    await this.roll(base);
    return true;
  }

  private async roll(base: number): Promise<void> {
    const old = this.active;
    const sync = this.options.sync !== "none";
    const seg = new Segment(this.fs, this.dir, base);
    await seg.create();
    await old.seal(sync);
    if (sync) await this.fs.syncDir(this.dir);
    this.segments.push(seg);
    this.dropLoadedIndex(old);
    this.log.debug({ baseOffset: base, bytes: old.size }, "segment rolled");
    this.changed.notify();
  }

  // ---------------------------------------------------------------- high watermark, epochs, read-only

  setHighWatermark(hw: number): void {
    if (!Number.isSafeInteger(hw) || hw < -1)
      throw new CommitLogError("invalid_argument", "high watermark must be >= -1");
    this.assertOpen();
    if (hw <= this.#hw) return;
    this.#hw = hw;
    this.#hwDirty = true;
    this.changed.notify();
  }

  /** @internal Sets the HW even when lower (tests and follower truncation only). */
  overrideHighWatermark(hw: number): void {
    this.#hw = hw;
    this.#hwDirty = true;
    this.changed.notify();
  }

  setReadonly(readonly: boolean): void {
    this.#readonly = readonly;
    this.changed.notify();
  }

  newLeaderEpoch(epoch: number): Promise<void> {
    if (!Number.isSafeInteger(epoch) || epoch < 0) {
      return Promise.reject(new CommitLogError("invalid_argument", "epoch must be a safe integer >= 0"));
    }
    return this.#queue.run(async () => {
      this.assertOpen();
      await this.flushPending();
      if (this.#epochs.assign(epoch, this.#newest)) await this.persistEpochs();
    });
  }

  lastOffsetForLeaderEpoch(epoch: number): number {
    const o = this.#epochs.lastOffsetForLeaderEpoch(epoch);
    return o === -1 ? this.#newest : o;
  }

  private async persistEpochs(): Promise<void> {
    await writeFileAtomic(
      this.fs,
      this.dir,
      `${this.dir}/${EPOCH_CHECKPOINT_FILE}`,
      this.#epochs.toCheckpoint(),
    );
  }

  private async checkpointHw(): Promise<void> {
    if (!this.#hwDirty) return;
    this.#hwDirty = false;
    await writeFileAtomic(this.fs, this.dir, `${this.dir}/${HW_CHECKPOINT_FILE}`, String(this.#hw));
  }

  // ---------------------------------------------------------------- background loops

  private startLoops(): void {
    const o = this.options;
    this.every(o.hwCheckpointIntervalMs, () => this.#queue.run(() => this.checkpointHw()));
    if (o.sync === "interval") this.every(o.syncIntervalMs, () => this.sync());
    if (o.cleanerIntervalMs > 0) this.every(o.cleanerIntervalMs, () => this.cleanerTick());
  }

  private every(ms: number, fn: () => Promise<void>): void {
    if (ms <= 0) return;
    const idx = this.#timers.length;
    const arm = (): void => {
      this.#timers[idx] = this.clock.setTimer(ms, () => {
        if (this.state !== "open") return;
        const p = fn()
          .catch((err: unknown) => {
            if (this.state === "open") this.log.warn({ err }, "background task failed");
          })
          .finally(() => {
            this.#background.delete(p);
            if (this.state === "open") arm();
          });
        this.#background.add(p);
      });
    };
    this.#timers.push(() => undefined);
    arm();
  }

  // ---------------------------------------------------------------- sync, retention, compaction

  sync(): Promise<void> {
    return this.#queue.run(async () => {
      this.assertOpen();
      await this.flushPending();
      if (this.#unsynced) {
        this.#unsynced = false;
        await this.active.datasync();
      }
    });
  }

  /** Runs retention then (if enabled) compaction now, without a roll check. */
  async clean(): Promise<void> {
    await this.#queue.run(async () => {
      this.assertOpen();
      await this.flushPending();
      await this.applyRetention();
    });
    if (this.options.compact) await this.compact();
  }

  /** One background cleaner tick: roll check first; a tick that rolls skips cleaning (upstream). */
  private async cleanerTick(): Promise<void> {
    const rolled = await this.#queue.run(async () => {
      if (this.state !== "open") return true;
      await this.flushPending();
      return this.rollIfNeeded(null, 0);
    });
    if (!rolled) await this.clean();
  }

  private async applyRetention(): Promise<void> {
    if (this.state !== "open") return;
    const o = this.options;
    if (o.maxLogBytes === 0 && o.maxLogMessages === 0 && o.maxLogAgeMs === 0) return;
    const stats = this.segments.map((s) => ({
      baseOffset: s.baseOffset,
      sizeBytes: s.size,
      recordCount: s.count,
      lastTimestampMs: s.lastTimestampMs,
    }));
    const cut = planRetention(stats, o, this.clock.now());
    if (cut === 0) return;
    const victims = this.segments.slice(0, cut);
    this.segments = this.segments.slice(cut);
    this.generation++;
    let firstError: unknown;
    for (const v of victims) {
      this.dropLoadedIndex(v);
      try {
        await v.retire();
        await this.fs.unlink(v.logPath);
        await this.fs.unlink(v.indexPath);
      } catch (e) {
        firstError ??= e;
        this.log.error({ err: e, file: v.logPath }, "failed to delete segment");
      }
    }
    this.log.info(
      { deleted: victims.length, baseOffset: this.segments[0]!.baseOffset },
      "retention deleted segments",
    );
    if (this.#epochs.clearEarliest(this.segments[0]!.baseOffset)) await this.persistEpochs();
    this.changed.notify();
    if (firstError !== undefined)
      throw new CommitLogError("io", "deleting a segment failed", { cause: firstError });
  }

  /** Compaction by key (spec §1.9). Reads and rewrites outside the writer queue; swaps inside it. */
  private async compact(): Promise<void> {
    if (this.#compacting || this.state !== "open") return;
    this.#compacting = true;
    try {
      const snapshot = this.segments.slice();
      if (snapshot.length <= 1) return;
      const hw = this.#hw;
      const sealed = snapshot.slice(0, -1);
      const versions = sealed.map((s) => s.version);
      const results: Array<{ seg: Segment; cleaned: Segment; epochs: EpochEntry[] }> = [];
      try {
        const latest = new Map<string, number>();
        for (const seg of snapshot) {
          let past = false;
          const size = seg.size;
          seg.acquire();
          try {
            await seg.scan(0, size, (buf, p) => {
              const off = readU64(buf, p);
              if (off > hw) {
                past = true;
                return false;
              }
              const key = entryKeyString(buf, p);
              if (key !== null) latest.set(key, off);
              return true;
            });
          } finally {
            await seg.release();
          }
          if (past) break;
        }
        for (const seg of sealed) {
          if (seg.retired) continue;
          results.push(await this.rewriteCompacted(seg, latest, hw));
        }
      } catch (e) {
        // A truncation or retention removed a segment under us: drop this run, the next one redoes it.
        for (const r of results) {
          await r.cleaned.closeFiles();
          await this.fs.unlink(r.cleaned.logPath);
          await this.fs.unlink(r.cleaned.indexPath);
        }
        if (snapshot.some((x, i) => x.retired || (i < versions.length && x.version !== versions[i]))) return;
        throw e;
      }
      await this.#queue.run(async () => {
        let changed = false;
        for (let k = 0; k < results.length; k++) {
          const { seg, cleaned } = results[k]!;
          const idx = this.segments.indexOf(seg);
          if (
            this.state !== "open" ||
            idx < 0 ||
            seg === this.active ||
            seg.version !== versions[sealed.indexOf(seg)]
          ) {
            await cleaned.closeFiles();
            await this.fs.unlink(cleaned.logPath);
            await this.fs.unlink(cleaned.indexPath);
            results[k] = { ...results[k]!, epochs: [] };
            continue;
          }
          changed = true;
          this.dropLoadedIndex(seg);
          await cleaned.closeFiles();
          if (cleaned.count === 0) {
            this.segments.splice(idx, 1);
            await seg.retire();
            await this.fs.unlink(seg.logPath);
            await this.fs.unlink(seg.indexPath);
            await this.fs.unlink(cleaned.logPath);
            await this.fs.unlink(cleaned.indexPath);
          } else {
            await this.fs.rename(cleaned.indexPath, seg.indexPath);
            await this.fs.rename(cleaned.logPath, seg.logPath);
            const fresh = new Segment(this.fs, this.dir, seg.baseOffset);
            fresh.applyTrailer(cleaned.trailer());
            fresh.sealed = true;
            this.segments[idx] = fresh;
            await seg.retire();
          }
        }
        if (!changed) return;
        await this.fs.syncDir(this.dir);
        this.generation++;
        // Rebuild the epoch cache from survivors, then rebase what lies after the compacted range.
        const rebuilt = new LeaderEpochCache();
        for (const r of results) for (const e of r.epochs) rebuilt.assign(e.epoch, e.startOffset);
        const tailBase = this.active.baseOffset;
        for (const e of this.#epochs.entries)
          if (e.startOffset >= tailBase) rebuilt.assign(e.epoch, e.startOffset);
        await this.scanActiveEpochs(rebuilt);
        this.#epochs = rebuilt;
        await this.persistEpochs();
        this.log.info({ segments: results.length }, "compaction replaced segments");
        this.changed.notify();
      });
    } finally {
      this.#compacting = false;
    }
  }

  private async scanActiveEpochs(cache: LeaderEpochCache): Promise<void> {
    const seg = this.active;
    let latest = cache.latestEpoch;
    await seg.scan(0, seg.size, (buf, p) => {
      const epoch = readU64(buf, p + 16);
      if (epoch > latest) {
        cache.assign(epoch, readU64(buf, p));
        latest = cache.latestEpoch;
      }
      return true;
    });
  }

  private async rewriteCompacted(
    seg: Segment,
    latest: Map<string, number>,
    hw: number,
  ): Promise<{ seg: Segment; cleaned: Segment; epochs: EpochEntry[] }> {
    const cleaned = new Segment(this.fs, this.dir, seg.baseOffset, ".cleaned");
    await this.fs.unlink(cleaned.logPath);
    await this.fs.unlink(cleaned.indexPath);
    await cleaned.create();
    const epochs = new LeaderEpochCache();
    const scratch = new LeaderEpochCache();
    let out = Buffer.allocUnsafe(1024 * 1024);
    let outLen = 0;
    const flush = async (): Promise<void> => {
      if (outLen === 0) return;
      await cleaned.write(out, 0, outLen);
      this.indexWritten(cleaned, out, 0, outLen, scratch);
      outLen = 0;
    };
    seg.acquire();
    try {
      const { bad, pos } = await seg.scan(
        0,
        seg.size,
        (buf, p, n) => {
          const off = readU64(buf, p);
          const key = entryKeyString(buf, p);
          if (key !== null && off !== latest.get(key) && off < hw) return true;
          if (outLen + n > out.length) {
            const b = Buffer.allocUnsafe(Math.max(out.length * 2, outLen + n));
            out.copy(b, 0, 0, outLen);
            out = b;
          }
          buf.copy(out, outLen, p, p + n);
          outLen += n;
          epochs.assign(readU64(buf, p + 16), off);
          return true;
        },
        flush,
      );
      if (bad) throw seg.corruptAt(pos);
      await flush();
      await cleaned.writeTrailer(true);
    } catch (e) {
      await cleaned.closeFiles();
      await this.fs.unlink(cleaned.logPath);
      await this.fs.unlink(cleaned.indexPath);
      throw e;
    } finally {
      await seg.release();
    }
    return { seg, cleaned, epochs: [...epochs.entries] };
  }

  // ---------------------------------------------------------------- truncate

  truncate(offset: number): Promise<void> {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      return Promise.reject(new CommitLogError("invalid_argument", "offset must be a safe integer >= 0"));
    }
    return this.#queue.run(async () => {
      this.assertOpen();
      await this.flushPending();
      this.restructuring = true;
      this.generation++;
      try {
        await this.truncateLocked(offset);
      } finally {
        this.restructuring = false;
        this.generation++;
        this.changed.notify();
        for (const run of this.#deferred.splice(0)) run();
      }
    });
  }

  private async truncateLocked(offset: number): Promise<void> {
    {
      const i = this.segments.findIndex((s) => s.nextOffset > offset);
      if (i < 0) return;
      const later = this.segments.splice(i + 1);
      for (const s of later) {
        this.dropLoadedIndex(s);
        await s.retire();
        await this.fs.unlink(s.logPath);
        await this.fs.unlink(s.indexPath);
      }
      let seg = this.segments[i]!;
      if (seg.baseOffset >= offset && i > 0) {
        this.segments.splice(i, 1);
        this.dropLoadedIndex(seg);
        await seg.retire();
        await this.fs.unlink(seg.logPath);
        await this.fs.unlink(seg.indexPath);
        seg = this.segments[i - 1]!;
      }
      // Find the first byte at or after `offset` in `seg` and cut there.
      await this.ensureIndex(seg);
      let cutAt = seg.size;
      await seg.scan(seg.lookupPosition(offset), seg.size, (buf, p, _n, filePos) => {
        if (readU64(buf, p) >= offset) {
          cutAt = filePos;
          return false;
        }
        return true;
      });
      const wasActive = seg === this.active && !seg.sealed;
      if (!wasActive) {
        seg.sealed = false;
        this.dropLoadedIndex(seg);
        await seg.closeFiles();
        await seg.openWritable();
      }
      const h = await seg.logHandle();
      await h.truncate(cutAt);
      if (this.options.sync !== "none") await h.datasync();
      await this.recoverSegment(seg, cutAt);
      seg.version++;
      await seg.resetIndexFile();
      this.generation++;
      this.#nextOffset = seg.nextOffset;
      this.#newest = this.#nextOffset - 1;
      if (this.#epochs.clearLatest(offset)) await this.persistEpochs();
      this.log.info({ offset, leo: this.#nextOffset }, "log truncated");
    }
  }

  // ---------------------------------------------------------------- reads

  read(options: ReadOptions = {}): AsyncIterableIterator<LogRecord> {
    // Decoded records are views into the read buffer: never reused.
    return new RecordIterator(new LogCursor(this, { ...options, reuseBuffer: false }));
  }

  readBatches(options: ReadOptions = {}): AsyncIterableIterator<LogRecord[]> {
    return new RecordBatchIterator(new LogCursor(this, { ...options, reuseBuffer: false }));
  }

  readRaw(options: ReadOptions = {}): AsyncIterableIterator<RawBatch> {
    return new RawIterator(new LogCursor(this, options));
  }

  readReverse(options: ReverseReadOptions = {}): AsyncIterableIterator<LogRecord> {
    return new RecordIterator(new ReverseCursor(this, options), decodeReversed);
  }

  readRawReverse(options: ReverseReadOptions = {}): AsyncIterableIterator<RawBatch> {
    return new RawIterator(new ReverseCursor(this, options));
  }

  async waitForData(afterOffset: number, options: WaitOptions = {}): Promise<boolean> {
    for (;;) {
      if (this.state !== "open" || options.signal?.aborted) return false;
      if (this.#newest > afterOffset) return true;
      await raceAbort(this.changed.wait(), options.signal);
    }
  }

  async waitForHighWatermark(afterHw: number, options: WaitOptions = {}): Promise<boolean> {
    for (;;) {
      if (this.state !== "open" || options.signal?.aborted) return false;
      if (this.#hw > afterHw) return true;
      await raceAbort(this.changed.wait(), options.signal);
    }
  }

  async offsetForTimestamp(timestamp: bigint): Promise<number> {
    this.assertOpen();
    for (const seg of this.segments.slice()) {
      if (seg.count === 0 || seg.lastTimestamp < timestamp) continue;
      await this.ensureIndex(seg);
      let found = -1;
      seg.acquire();
      try {
        await seg.scan(seg.lookupTimestampPosition(timestamp), seg.size, (buf, p) => {
          if (buf.readBigInt64BE(p + 8) >= timestamp) {
            found = readU64(buf, p);
            return false;
          }
          return true;
        });
      } finally {
        await seg.release();
      }
      if (found >= 0) return found;
    }
    return this.#newest + 1;
  }

  /** Loads a sealed segment's index if needed (keeps a bounded number loaded). */
  async ensureIndex(seg: Segment): Promise<void> {
    if (seg.idx !== null) return;
    await seg.loadIndex(seg.size);
    if (!seg.sealed) return;
    this.#loadedIndexes.push(seg);
    if (this.#loadedIndexes.length > LOADED_INDEX_LIMIT) {
      const old = this.#loadedIndexes.shift()!;
      if (old.sealed) old.idx = null;
    }
  }

  private dropLoadedIndex(seg: Segment): void {
    const i = this.#loadedIndexes.indexOf(seg);
    if (i >= 0) this.#loadedIndexes.splice(i, 1);
    if (seg.sealed) seg.idx = null;
  }

  /** The segment after `seg` in the list, or `null`. */
  segmentAfter(seg: Segment): Segment | null {
    const i = this.segments.indexOf(seg);
    if (i >= 0) return this.segments[i + 1] ?? null;
    for (const s of this.segments) if (s.baseOffset > seg.baseOffset) return s;
    return null;
  }

  // ---------------------------------------------------------------- close and delete

  close(): Promise<void> {
    this.#closing ??= this.shutdown(false);
    return this.#closing;
  }

  async delete(): Promise<void> {
    if (this.state === "deleted") return;
    if (this.#closing === null) this.#closing = this.shutdown(true);
    else await this.#closing.catch(() => undefined);
    await this.#closing.catch(() => undefined);
    this.state = "deleted";
    this.changed.notify();
    await this.fs.rmdir(this.dir);
  }

  private async shutdown(deleting: boolean): Promise<void> {
    let error: Error | undefined;
    try {
      await this.#queue.run(async () => {
        await this.flushPending();
      });
      this.state = "closing";
      for (const cancel of this.#timers) cancel();
      await Promise.allSettled([...this.#background]);
      await this.#queue.run(async () => {
        await this.flushPending();
        if (!deleting) {
          this.#hwDirty = true;
          await this.checkpointHw();
          await this.active.writeTrailer(true);
        }
        for (const s of this.segments) await s.retire();
      });
    } catch (e) {
      error = e instanceof Error ? e : new Error(String(e));
      this.log.error({ err: error }, "close failed");
    }
    this.state = deleting ? "deleted" : "closed";
    this.changed.notify();
    this.#closedResolve(error);
    if (error !== undefined) throw new CommitLogError("io", "close failed", { cause: error });
  }

  /** @internal Releases files after a failed open. */
  async abandon(): Promise<void> {
    this.state = "closed";
    for (const cancel of this.#timers) cancel();
    for (const s of this.segments) await s.retire().catch(() => undefined);
    this.#closedResolve(undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
