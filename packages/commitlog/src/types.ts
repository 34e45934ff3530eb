import type { AppendRecord, LogRecord } from "./codec/message-set.js";
import type { EpochEntry } from "./leader-epoch-cache.js";
import type { RawBatch, ReadOptions } from "./reader.js";
import type { ReverseReadOptions } from "./reverse-reader.js";

/** Per-call options of {@link CommitLog.append}. */
export interface AppendOptions {
  /** Leader epoch stamped on every record; default the latest epoch in the cache (0 when empty). */
  readonly leaderEpoch?: number;
  /** Timestamp (Unix ns) for records that carry none; default the clock's now. */
  readonly timestamp?: bigint;
}

/** Options of the wait methods. */
export interface WaitOptions {
  readonly signal?: AbortSignal;
}

/**
 * A segmented, CRC-checked, file-backed write-ahead log whose `.log` entries are byte-identical
 * to upstream Liftbridge. Offsets are dense and start at 0; "none" is -1.
 *
 * Concurrency: all methods may be called concurrently from one event loop. Mutations (append,
 * truncate, roll, retention, checkpoints) are serialised by one internal writer; reads never block
 * writes.
 */
export interface CommitLog extends AsyncDisposable {
  /** The directory holding the segments. */
  readonly dir: string;
  /** First offset still stored, or -1 when the log holds no record. */
  readonly oldestOffset: number;
  /** Last offset written and visible to readers (LEO - 1), or -1 when empty. */
  readonly newestOffset: number;
  /** Last committed offset (-1 = none). May exceed `newestOffset` (spec §1.5). */
  readonly highWatermark: number;
  /** Whether {@link CommitLog.append} is refused (`readonly`). */
  readonly isReadonly: boolean;
  /** The leader-epoch cache, ascending. */
  readonly leaderEpochs: readonly EpochEntry[];
  /** Settles (never rejects) when the log is closed: `undefined`, or the error that closing hit. */
  readonly closed: Promise<Error | undefined>;

  /**
   * Appends records and resolves with their offsets (consecutive). Appends issued in the same
   * event-loop turn, and those issued while a write is in flight, share one write (group commit);
   * with sync `always` the promise resolves only after fsync. Rejects with `closed`, `deleted`,
   * `readonly`, `invalid_argument` or `io`.
   */
  append(records: readonly AppendRecord[], options?: AppendOptions): Promise<number[]>;
  /**
   * Appends a message set received from a leader, keeping its offsets, timestamps and epochs
   * (follower path; allowed in read-only mode). Every entry is CRC-checked and offsets must
   * increase beyond the log end, else `invalid_argument` and nothing is appended.
   */
  appendReplicated(messageSet: Uint8Array): Promise<number[]>;
  /** Raises the high watermark (lower values are ignored) and wakes committed readers. Checkpointed periodically and on close. */
  setHighWatermark(hw: number): void;
  /** Sets read-only mode: `append` fails with `readonly`; committed readers at the HW == LEO end with `readonly`. */
  setReadonly(readonly: boolean): void;

  /**
   * Reads records from `options.offset` (default: the oldest) as an async iterator. Uncommitted
   * readers stop at the log end, committed ones at the HW; with `wait` (default true) they then
   * wait for more without polling. `close()` or the signal ends iteration cleanly; a deleted log
   * throws `deleted`; a record failing its CRC throws `corrupt` naming file and position.
   */
  read(options?: ReadOptions): AsyncIterableIterator<LogRecord>;
  /** Like {@link CommitLog.read}, yielding arrays of records (one per read of up to `maxBatchBytes`). */
  readBatches(options?: ReadOptions): AsyncIterableIterator<LogRecord[]>;
  /** Like {@link CommitLog.read}, yielding raw message-set bytes (CRC-checked) for replication. */
  readRaw(options?: ReadOptions): AsyncIterableIterator<RawBatch>;
  /**
   * Reads records newest to oldest, from `options.offset` (capped at the newest offset, or at the HW
   * for committed readers) down to `options.stopOffset` (default the oldest), then ends; it never
   * waits. An empty log (or HW -1 when committed) ends at once. `close()` or the signal ends it
   * cleanly; a deleted log throws `deleted`; a record failing its CRC throws `corrupt`. Offsets are
   * found through the index, so compacted segments (offset gaps) read correctly.
   */
  readReverse(options?: ReverseReadOptions): AsyncIterableIterator<LogRecord>;
  /** Like {@link CommitLog.readReverse}, yielding raw batches whose entries are newest first (`firstOffset` is the highest). */
  readRawReverse(options?: ReverseReadOptions): AsyncIterableIterator<RawBatch>;
  /** Resolves `true` once `newestOffset > afterOffset`, `false` if closed or aborted first. */
  waitForData(afterOffset: number, options?: WaitOptions): Promise<boolean>;
  /** Resolves `true` once `highWatermark > afterHw`, `false` if closed or aborted first. */
  waitForHighWatermark(afterHw: number, options?: WaitOptions): Promise<boolean>;
  /** First offset whose timestamp is >= `timestamp` (ns), or `newestOffset + 1` when none is. */
  offsetForTimestamp(timestamp: bigint): Promise<number>;

  /** Removes every offset >= `offset` (follower truncation, spec §1.10) and trims the epoch cache. The HW is not lowered. */
  truncate(offset: number): Promise<void>;
  /** Records that `epoch` starts after the current newest offset (a new leader taking over). */
  newLeaderEpoch(epoch: number): Promise<void>;
  /** Start offset of the first epoch after `epoch`, or `newestOffset` when there is none (spec §1.5). */
  lastOffsetForLeaderEpoch(epoch: number): number;

  /** Runs retention and (when enabled) compaction now, as the background cleaner does. */
  clean(): Promise<void>;
  /** Writes pending appends and fsyncs the active segment. */
  sync(): Promise<void>;
  /** Flushes, checkpoints the HW, writes index trailers and closes files. Idempotent; waiting readers end. */
  close(): Promise<void>;
  /** Closes and removes the directory. Readers end with `deleted`. */
  delete(): Promise<void>;
}
