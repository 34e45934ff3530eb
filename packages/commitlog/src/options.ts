import type { Clock, Logger } from "./deps.js";
import { noopLogger, systemClock } from "./deps.js";
import { CommitLogError } from "./errors.js";
import { type FileSystem, nodeFs } from "./fs.js";

/** When the log fsyncs appended data. */
export type SyncPolicy = "none" | "interval" | "always";

/** Options of {@link openCommitLog}. Every field is optional; defaults in {@link resolveCommitLogOptions}. */
export interface CommitLogOptions {
  /** Roll the active segment once it holds this many bytes (checked before each write). Default 1 GiB. */
  readonly maxSegmentBytes?: number;
  /** Roll the active segment once its first record is this old; 0 = never. Default 0. */
  readonly maxSegmentAgeMs?: number;
  /** Bytes of `.log` between sparse index entries. Default 4096. */
  readonly indexIntervalBytes?: number;
  /** Retention: keep at most this many bytes (whole segments); 0 = unlimited. */
  readonly maxLogBytes?: number;
  /** Retention: keep at most this many records (whole segments); 0 = unlimited. */
  readonly maxLogMessages?: number;
  /** Retention: delete segments whose last record is older than this; 0 = unlimited. */
  readonly maxLogAgeMs?: number;
  /** Compact by key on each cleaner run (spec §1.9). Default false. */
  readonly compact?: boolean;
  /** Background cleaner period (retention, then compaction); 0 = only on {@link CommitLog.clean}. Default 300000. */
  readonly cleanerIntervalMs?: number;
  /** High-watermark checkpoint period. Default 5000. */
  readonly hwCheckpointIntervalMs?: number;
  /** `none` (default): never fsync appends; `interval`: fsync every `syncIntervalMs`; `always`: fsync before `append` resolves. */
  readonly sync?: SyncPolicy;
  /** Period of the `interval` sync policy. Default 1000. */
  readonly syncIntervalMs?: number;
  /**
   * CRC-check on read also the entries this log instance wrote itself. Default false: readers check
   * the CRC of every entry that came from disk (written before this open, or rewritten by the cleaner)
   * and only the framing of entries appended since the open, whose CRCs were computed or checked
   * moments before they were written. Set true to re-check everything (e.g. to catch storage that
   * corrupts data between the page cache and the disk).
   */
  readonly verifyOwnWrites?: boolean;
  /** Open in read-only mode ({@link CommitLog.setReadonly}). Default false. */
  readonly readonly?: boolean;
  /** File system; default the real one. */
  readonly fs?: FileSystem;
  /** Clock and timers; default the system clock. */
  readonly clock?: Clock;
  /** Logger; default silent. */
  readonly logger?: Logger;
}

/** {@link CommitLogOptions} with every default filled in. */
export type ResolvedCommitLogOptions = {
  readonly [K in keyof CommitLogOptions]-?: NonNullable<CommitLogOptions[K]>;
};

/** Fills in defaults and validates; throws `invalid_argument` on a bad value. */
export function resolveCommitLogOptions(o: CommitLogOptions = {}): ResolvedCommitLogOptions {
  const r: ResolvedCommitLogOptions = {
    maxSegmentBytes: o.maxSegmentBytes ?? 1024 * 1024 * 1024,
    maxSegmentAgeMs: o.maxSegmentAgeMs ?? 0,
    indexIntervalBytes: o.indexIntervalBytes ?? 4096,
    maxLogBytes: o.maxLogBytes ?? 0,
    maxLogMessages: o.maxLogMessages ?? 0,
    maxLogAgeMs: o.maxLogAgeMs ?? 0,
    compact: o.compact ?? false,
    cleanerIntervalMs: o.cleanerIntervalMs ?? 300_000,
    hwCheckpointIntervalMs: o.hwCheckpointIntervalMs ?? 5000,
    sync: o.sync ?? "none",
    syncIntervalMs: o.syncIntervalMs ?? 1000,
    verifyOwnWrites: o.verifyOwnWrites ?? false,
    readonly: o.readonly ?? false,
    fs: o.fs ?? nodeFs,
    clock: o.clock ?? systemClock,
    logger: o.logger ?? noopLogger,
  };
  const nonNeg = [
    "maxSegmentAgeMs",
    "maxLogBytes",
    "maxLogMessages",
    "maxLogAgeMs",
    "cleanerIntervalMs",
    "hwCheckpointIntervalMs",
  ] as const;
  for (const k of nonNeg) {
    if (!Number.isSafeInteger(r[k]) || r[k] < 0)
      throw new CommitLogError("invalid_argument", `${k} must be >= 0`);
  }
  for (const k of ["maxSegmentBytes", "indexIntervalBytes", "syncIntervalMs"] as const) {
    if (!Number.isSafeInteger(r[k]) || r[k] <= 0)
      throw new CommitLogError("invalid_argument", `${k} must be > 0`);
  }
  if (r.maxSegmentBytes > 2 ** 32 - 1)
    throw new CommitLogError("invalid_argument", "maxSegmentBytes must be < 4 GiB");
  if (!["none", "interval", "always"].includes(r.sync))
    throw new CommitLogError("invalid_argument", "bad sync policy");
  return r;
}
