/**
 * @internal Hooks for sibling packages and tests; outside semver.
 */

export { crc32cPortable, hasNativeCrc32c, NATIVE_MIN_BYTES } from "./codec/crc32c.js";
export * as indexEntry from "./codec/index-entry.js";
export { checkEntry, decodeEntry, messageSize, splitTimestamp, writeEntry } from "./codec/message-set.js";
export { EPOCH_CHECKPOINT_FILE, FileCommitLog, HW_CHECKPOINT_FILE } from "./commit-log.js";
export { LeaderEpochCache } from "./leader-epoch-cache.js";
export { LogCursor } from "./reader.js";
export { ReverseCursor } from "./reverse-reader.js";
export { Segment, segmentName } from "./segment.js";
export { SerialQueue } from "./serial-queue.js";
