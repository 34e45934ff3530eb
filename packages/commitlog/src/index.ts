/**
 * @liftbridge/commitlog: a segmented, CRC-checked, file-backed write-ahead log whose `.log`
 * format is byte-identical to upstream Liftbridge.
 */

export { crc32c } from "./codec/crc32c.js";
export {
  type AppendRecord,
  decodeMessageSet,
  ENTRY_HEADER_SIZE,
  type EntryInput,
  encodeMessage,
  encodeMessageSet,
  type LogRecord,
  type RecordHeader,
} from "./codec/message-set.js";
export { openCommitLog } from "./commit-log.js";
export { type Clock, type Logger, noopLogger, systemClock } from "./deps.js";
export { AssertionError, CommitLogError, CommitLogErrorCode, isCommitLogError } from "./errors.js";
export { createNodeFs, type FileHandle, type FileSystem, type NodeFsOptions, nodeFs } from "./fs.js";
export type { EpochEntry } from "./leader-epoch-cache.js";
export {
  type CommitLogOptions,
  type ResolvedCommitLogOptions,
  resolveCommitLogOptions,
  type SyncPolicy,
} from "./options.js";
export type { RawBatch, ReadOptions } from "./reader.js";
export { planRetention, type RetentionPolicy, type SegmentStats } from "./retention.js";
export type { ReverseReadOptions } from "./reverse-reader.js";
export type { AppendOptions, CommitLog, WaitOptions } from "./types.js";
