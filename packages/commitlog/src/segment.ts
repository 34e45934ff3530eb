/**
 * One segment: a `.log` file of message-set entries and its sparse `.index` (design.md).
 * Internal; all mutation goes through the log's single writer.
 */
import {
  decodeTrailer,
  encodeTrailer,
  INDEX_ENTRY_SIZE,
  type SegmentTrailer,
  TRAILER_SIZE,
  validEntryPrefix,
} from "./codec/index-entry.js";
import { checkEntry, ENTRY_HEADER_SIZE, readU64 } from "./codec/message-set.js";
import { CommitLogError } from "./errors.js";
import type { FileHandle, FileSystem } from "./fs.js";

/** Zero-padded 20-digit base offset, as upstream (`%020d`). */
export const segmentName = (base: number): string => String(base).padStart(20, "0");

const SCAN_CHUNK = 1024 * 1024;
const NS_PER_MS = 1_000_000n;

/** Converts ns to ms as a number (for policy decisions only). */
export const nsToMs = (ns: bigint): number => Number(ns / NS_PER_MS);

/** Mutable summary of a segment, for undoing a failed write. */
export interface SegmentSnapshot {
  readonly size: number;
  readonly count: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly firstTimestamp: bigint;
  readonly lastTimestamp: bigint;
  readonly idxCount: number;
  readonly idxWritten: number;
  readonly lastIndexedPos: number;
}

/** Visitor for {@link Segment.scan}: gets a buffer, entry position in it, and the entry's file position. */
export type EntryVisitor = (buf: Buffer, p: number, size: number, filePos: number) => boolean | undefined;

export class Segment {
  readonly baseOffset: number;
  readonly logPath: string;
  readonly indexPath: string;
  readonly #fs: FileSystem;
  #log: FileHandle | null = null;
  #opening: Promise<FileHandle> | null = null;
  #index: FileHandle | null = null;
  /** Valid bytes in the .log (the append position). */
  size = 0;
  count = 0;
  firstOffset = -1;
  lastOffset = -1;
  firstTimestamp = 0n;
  lastTimestamp = 0n;
  /** In-memory index entries (`null` = not loaded, for sealed segments). */
  idx: Buffer | null = null;
  idxCount = 0;
  /** Entries already written to the index file. */
  idxWritten = 0;
  /** Position of the last indexed entry (0 = none; position 0 is implicit). */
  lastIndexedPos = 0;
  sealed = false;
  /** Deleted or replaced: readers must re-seek; the file handle closes when the last read ends. */
  retired = false;
  /**
   * Start of the bytes this process wrote itself, up to {@link size} (their CRCs were computed or
   * checked before the write): readers skip the CRC there. Infinity = none (opened from disk).
   */
  ownFrom = Number.POSITIVE_INFINITY;
  /** Bumped when the segment's content changes in place (truncation). */
  version = 0;
  #refs = 0;

  constructor(fs: FileSystem, dir: string, baseOffset: number, suffix = "") {
    this.#fs = fs;
    this.baseOffset = baseOffset;
    this.logPath = `${dir}/${segmentName(baseOffset)}.log${suffix}`;
    this.indexPath = `${dir}/${segmentName(baseOffset)}.index${suffix}`;
  }

  /** Creates new, empty files (exclusively) and makes this the writable active segment. */
  async create(): Promise<void> {
    this.#log = await this.#fs.open(this.logPath, "wx+");
    this.#index = await this.#fs.open(this.indexPath, "wx+");
    this.idx = Buffer.alloc(64 * INDEX_ENTRY_SIZE);
    this.ownFrom = 0;
  }

  /** Next offset to write here: last offset + 1, or the base offset when empty. */
  get nextOffset(): number {
    return this.lastOffset >= 0 ? this.lastOffset + 1 : this.baseOffset;
  }

  /** The first record's timestamp in ms (0 when empty). */
  get firstTimestampMs(): number {
    return this.count > 0 ? nsToMs(this.firstTimestamp) : 0;
  }

  /** The last record's timestamp in ms (0 when empty). */
  get lastTimestampMs(): number {
    return this.count > 0 ? nsToMs(this.lastTimestamp) : 0;
  }

  async logHandle(): Promise<FileHandle> {
    if (this.#log !== null) return this.#log;
    // A removed or replaced segment must not reopen its path (it may now name a different file).
    if (this.retired) throw new CommitLogError("segment_replaced", `${this.logPath} was removed or replaced`);
    if (this.#opening === null) {
      this.#opening = this.#fs.open(this.logPath, this.sealed ? "r" : "r+").then((h) => {
        this.#log = h;
        return h;
      });
    }
    return this.#opening;
  }

  /** Opens the .log for writing (active segment at open). */
  async openWritable(): Promise<void> {
    await this.closeFiles();
    this.#log = await this.#fs.open(this.logPath, "r+");
    this.#index = await this.#fs
      .open(this.indexPath, "r+")
      .catch(async () => this.#fs.open(this.indexPath, "w+"));
  }

  acquire(): void {
    this.#refs++;
  }

  async release(): Promise<void> {
    this.#refs--;
    if (this.retired && this.#refs === 0) await this.closeFiles();
  }

  /** Marks the segment gone from the log; closes files once no read uses them. */
  async retire(): Promise<void> {
    this.retired = true;
    if (this.#refs === 0) await this.closeFiles();
  }

  /** Positional read into `buf`; returns bytes read. Throws `corrupt` naming the file on I/O failure. */
  async read(buf: Buffer, off: number, len: number, pos: number): Promise<number> {
    const h = await this.logHandle();
    return h.read(buf, off, len, pos);
  }

  /** Appends raw entry bytes at the end of the .log. */
  async write(buf: Buffer, start: number, end: number): Promise<void> {
    await this.writeAt(buf, start, end, this.size);
  }

  /** Writes raw entry bytes at file position `pos`. */
  async writeAt(buf: Buffer, start: number, end: number, pos: number): Promise<void> {
    const h = this.#log ?? (await this.logHandle());
    await h.write(buf, start, end - start, pos);
  }

  /** Captures the mutable summary (to undo a failed write). */
  snapshot(): SegmentSnapshot {
    return {
      size: this.size,
      count: this.count,
      firstOffset: this.firstOffset,
      lastOffset: this.lastOffset,
      firstTimestamp: this.firstTimestamp,
      lastTimestamp: this.lastTimestamp,
      idxCount: this.idxCount,
      idxWritten: this.idxWritten,
      lastIndexedPos: this.lastIndexedPos,
    };
  }

  restore(s: SegmentSnapshot): void {
    this.size = s.size;
    if (this.ownFrom > s.size) this.ownFrom = s.size;
    this.count = s.count;
    this.firstOffset = s.firstOffset;
    this.lastOffset = s.lastOffset;
    this.firstTimestamp = s.firstTimestamp;
    this.lastTimestamp = s.lastTimestamp;
    this.idxCount = s.idxCount;
    this.idxWritten = Math.min(this.idxWritten, s.idxWritten);
    this.lastIndexedPos = s.lastIndexedPos;
  }

  async datasync(): Promise<void> {
    if (this.#log !== null) await this.#log.datasync();
  }

  /** Adds an index entry for the record at `pos`, copying its 8 timestamp bytes from `src[tsAt..]`. */
  addIndexEntry(rel: number, pos: number, src: Buffer, tsAt: number): void {
    let idx = this.idx;
    if (idx === null) throw new Error("index not loaded on active segment");
    const at = this.idxCount * INDEX_ENTRY_SIZE;
    if (at + INDEX_ENTRY_SIZE > idx.length) {
      const grown = Buffer.alloc(idx.length * 2);
      idx.copy(grown, 0, 0, at);
      idx = grown;
      this.idx = grown;
    }
    idx.writeUInt32BE(rel, at);
    idx.writeUInt32BE(pos, at + 4);
    src.copy(idx, at + 8, tsAt, tsAt + 8);
    this.idxCount++;
    this.lastIndexedPos = pos;
  }

  /** Writes index entries not yet in the file, in one write. */
  async flushIndex(): Promise<void> {
    if (this.#index === null || this.idx === null || this.idxWritten === this.idxCount) return;
    const from = this.idxWritten * INDEX_ENTRY_SIZE;
    const to = this.idxCount * INDEX_ENTRY_SIZE;
    await this.#index.write(this.idx, from, to - from, from);
    this.idxWritten = this.idxCount;
  }

  trailer(): SegmentTrailer {
    return {
      logSize: this.size,
      count: this.count,
      firstOffset: this.firstOffset,
      lastOffset: this.lastOffset,
      firstTimestamp: this.firstTimestamp,
      lastTimestamp: this.lastTimestamp,
    };
  }

  /**
   * Writes remaining index entries plus the trailer, cuts the index file to size and optionally
   * fsyncs both files. Used by roll (seal) and clean close.
   */
  async writeTrailer(sync: boolean): Promise<void> {
    if (this.#index === null) return;
    await this.flushIndex();
    const at = this.idxCount * INDEX_ENTRY_SIZE;
    const t = encodeTrailer(this.trailer());
    await this.#index.write(t, 0, t.length, at);
    await this.#index.truncate(at + TRAILER_SIZE);
    if (sync) {
      await this.#index.sync();
      if (this.#log !== null) await this.#log.datasync();
    }
  }

  /** Seals: trailer written, index file closed, log reopened read-only on next use. */
  async seal(sync: boolean): Promise<void> {
    await this.writeTrailer(sync);
    this.sealed = true;
    if (this.#index !== null) {
      await this.#index.close();
      this.#index = null;
    }
  }

  /**
   * Rewrites the index file from the in-memory entries, without a trailer (the active segment
   * at open or after truncation): a crash from now on means "scan at next open".
   */
  async resetIndexFile(): Promise<void> {
    if (this.#index === null) return;
    await this.#index.truncate(0);
    this.idxWritten = 0;
    await this.flushIndex();
  }

  async closeFiles(): Promise<void> {
    if (this.#opening !== null) await this.#opening.catch(() => undefined);
    const l = this.#log;
    const i = this.#index;
    this.#log = null;
    this.#opening = null;
    this.#index = null;
    if (l !== null) await l.close();
    if (i !== null) await i.close();
  }

  /**
   * Reads the index file and its trailer. Returns the trailer when it is valid and matches the
   * .log size, else `null` (caller must scan). Loads the valid entry prefix either way.
   */
  async loadIndex(logSize: number): Promise<SegmentTrailer | null> {
    const raw = await this.#fs.readFile(this.indexPath);
    if (raw === null) {
      this.idx = Buffer.alloc(64 * INDEX_ENTRY_SIZE);
      this.idxCount = 0;
      return null;
    }
    const trailer = decodeTrailer(raw);
    const entriesLen =
      trailer !== null ? raw.length - TRAILER_SIZE : raw.length - (raw.length % INDEX_ENTRY_SIZE);
    const entries = raw.subarray(0, entriesLen);
    const n = validEntryPrefix(entries, logSize);
    this.idx = Buffer.alloc(Math.max(64, n * 2) * INDEX_ENTRY_SIZE);
    entries.copy(this.idx, 0, 0, n * INDEX_ENTRY_SIZE);
    this.idxCount = n;
    this.idxWritten = n;
    this.lastIndexedPos = n > 0 ? this.idx.readUInt32BE((n - 1) * INDEX_ENTRY_SIZE + 4) : 0;
    if (trailer === null || trailer.logSize !== logSize || n * INDEX_ENTRY_SIZE !== entriesLen) return null;
    return trailer;
  }

  /** Applies a trailer's summary. */
  applyTrailer(t: SegmentTrailer): void {
    this.size = t.logSize;
    this.count = t.count;
    this.firstOffset = t.firstOffset;
    this.lastOffset = t.lastOffset;
    this.firstTimestamp = t.firstTimestamp;
    this.lastTimestamp = t.lastTimestamp;
  }

  /** Byte position to start scanning for `offset` (the last indexed entry at or before it). */
  lookupPosition(offset: number): number {
    const idx = this.idx;
    if (idx === null || this.idxCount === 0) return 0;
    const rel = offset - this.baseOffset;
    let lo = 0;
    let hi = this.idxCount - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (idx.readUInt32BE(mid * INDEX_ENTRY_SIZE) <= rel) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best < 0 ? 0 : idx.readUInt32BE(best * INDEX_ENTRY_SIZE + 4);
  }

  /** Byte position to start scanning for the first timestamp >= `ts` (assumes non-decreasing timestamps). */
  lookupTimestampPosition(ts: bigint): number {
    const idx = this.idx;
    if (idx === null || this.idxCount === 0) return 0;
    let lo = 0;
    let hi = this.idxCount - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (idx.readBigInt64BE(mid * INDEX_ENTRY_SIZE + 8) < ts) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best < 0 ? 0 : idx.readUInt32BE(best * INDEX_ENTRY_SIZE + 4);
  }

  /**
   * Reads entries sequentially from `from` up to `end`, checking each (CRC, framing). Calls
   * `visit` for each valid entry (return `false` to stop). Returns the position where scanning
   * stopped and whether it stopped on invalid or incomplete bytes.
   */
  async scan(
    from: number,
    end: number,
    visit: EntryVisitor,
    afterChunk?: () => Promise<void>,
  ): Promise<{ pos: number; bad: boolean }> {
    let pos = from;
    let buf = Buffer.allocUnsafe(Math.min(SCAN_CHUNK, Math.max(end - from, ENTRY_HEADER_SIZE)));
    while (pos < end) {
      const want = Math.min(buf.length, end - pos);
      const got = await this.read(buf, 0, want, pos);
      let p = 0;
      while (p < got) {
        const n = checkEntry(buf, p, got);
        if (n === -2) return { pos: pos + p, bad: true };
        if (n === -1) break;
        if (visit(buf, p, n, pos + p) === false) return { pos: pos + p, bad: false };
        p += n;
      }
      if (p === 0) {
        // The entry does not fit in the buffer (or the file ends inside it).
        if (got < ENTRY_HEADER_SIZE) return { pos, bad: got > 0 || pos < end };
        const need = ENTRY_HEADER_SIZE + buf.readUInt32BE(24);
        if (need <= got || pos + need > end) return { pos, bad: true };
        buf = Buffer.allocUnsafe(need);
        continue;
      }
      pos += p;
      if (afterChunk !== undefined) await afterChunk();
    }
    return { pos, bad: false };
  }

  /** Describes where corrupt bytes are, for `corrupt` errors. */
  corruptAt(pos: number): CommitLogError {
    return new CommitLogError("corrupt", `${this.logPath}: invalid entry at byte ${pos}`);
  }

  /** Reads the offset of the entry at `pos` (header only), or -1. */
  async offsetAt(pos: number): Promise<number> {
    const b = Buffer.allocUnsafe(8);
    const n = await this.read(b, 0, 8, pos);
    return n === 8 ? readU64(b, 0) : -1;
  }
}
