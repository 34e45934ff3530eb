/** Error codes thrown by `@liftbridge/raft`. */
export const RaftErrorCode = {
  /** The requested index was compacted into a snapshot. */
  Compacted: "compacted",
  /** The requested index is past the end of the log. */
  Unavailable: "unavailable",
  /** A snapshot older than the storage's current one was offered. */
  SnapshotOutOfDate: "snapshot_out_of_date",
  /** Invalid configuration or argument. */
  InvalidArgument: "invalid_argument",
  /** Durable state failed its CRC or structure checks beyond the torn tail. */
  Corrupt: "corrupt",
  /** The node or transport is closed. */
  Closed: "closed",
  /** The proposal was dropped (not leader, transfer in progress, backpressure, or pending conf change). */
  ProposalDropped: "proposal_dropped",
  /** This node is not the leader (or there is no leader). */
  NotLeader: "not_leader",
  /** The operation did not finish before its deadline. */
  Timeout: "timeout",
} as const;
/** Union of {@link RaftErrorCode} values. */
export type RaftErrorCode = (typeof RaftErrorCode)[keyof typeof RaftErrorCode];

/** The one error class of `@liftbridge/raft`; branch on `code` with {@link isRaftError}. */
export class RaftError extends Error {
  override readonly name = "RaftError";
  readonly code: RaftErrorCode;
  constructor(code: RaftErrorCode, message: string, options?: ErrorOptions) {
    super(`[${code}] ${message}`, options);
    this.code = code;
  }
}

/** True if `e` is a {@link RaftError} (optionally with the given code); works across duplicate installs. */
export const isRaftError = (e: unknown, code?: RaftErrorCode): e is RaftError =>
  typeof e === "object" &&
  e !== null &&
  (e as { name?: unknown }).name === "RaftError" &&
  typeof (e as { code?: unknown }).code === "string" &&
  (code === undefined || (e as { code: unknown }).code === code);

/** Thrown when an internal invariant breaks: a bug, never an expected condition (fail-stop). */
export class AssertionError extends Error {
  override readonly name = "AssertionError";
}

/** Throws {@link AssertionError} when `cond` is false. */
export function invariant(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionError(`raft invariant: ${message}`);
}
