/**
 * Internals for sibling packages and the simulation. Not covered by semver.
 * @internal
 * @packageDocumentation
 */

export { decodeEntries, decodeSnapshotMeta, encodeEntries, encodeSnapshotMeta } from "./core/codec.js";
export { RaftLog } from "./core/raft-log.js";
export type { RaftMutations } from "./core/raw-node.js";
export { RaftCore, resolveRawNodeOptions } from "./core/raw-node.js";
export { Config, changeConfig, majorityCommitted, majorityVote } from "./core/tracker.js";
