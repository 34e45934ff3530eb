export { decodeMessage, encodeMessage } from "./core/codec.js";
export { decodeConfChange, encodeConfChange } from "./core/conf-codec.js";
export type { RawNode, RawNodeOptions, ResolvedRawNodeOptions } from "./core/raw-node.js";
export { confChangeOf, createRawNode, resolveRawNodeOptions } from "./core/raw-node.js";
export type { Storage } from "./core/storage.js";
export { bootstrapEntry, bootstrapMemoryStorage, MemoryStorage } from "./core/storage.js";
export type {
  ConfChange,
  ConfChangeSingle,
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  PeerStatus,
  ProposeResult,
  ReadState,
  Ready,
  Snapshot,
  SnapshotChunk,
  SnapshotMeta,
  SoftState,
  Status,
} from "./core/types.js";
export { DropReason, EMPTY_CONF, EntryKind, MsgType, msg, ProgressState, Role } from "./core/types.js";
export { AssertionError, isRaftError, RaftError, RaftErrorCode } from "./errors.js";
export type { RecoveryInfo } from "./file-storage.js";
export { FileStorage } from "./file-storage.js";
export type { RaftFs } from "./fs.js";
export { nodeRaftFs } from "./fs.js";
export type { Logger } from "./logger.js";
export { noopLogger } from "./logger.js";
export type { MemoryNetwork } from "./memory-transport.js";
export { createMemoryNetwork } from "./memory-transport.js";
export type {
  CallOptions,
  RaftClock,
  RaftNode,
  RaftNodeOptions,
  RaftTimer,
  RaftTransport,
  StateMachine,
} from "./raft-node.js";
export { createRaftNode, systemClock } from "./raft-node.js";
export type { DurableStorage, ReadyHooks } from "./ready-loop.js";
export { completeReady, writeReady } from "./ready-loop.js";
export type { PeerAddress, TcpTransport, TcpTransportOptions } from "./tcp-transport.js";
export { openTcpTransport } from "./tcp-transport.js";
