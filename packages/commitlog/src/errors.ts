/**
 * Error codes thrown by `@liftbridge/commitlog`. The union is the package's error contract.
 */
export const CommitLogErrorCode = {
  /** The log was closed; the operation cannot run. */
  Closed: "closed",
  /** The log was deleted. */
  Deleted: "deleted",
  /** The log is read-only and the operation writes (see {@link CommitLog.setReadonly}). */
  Readonly: "readonly",
  /** An offset lies outside the log (e.g. a timestamp before the first record). */
  OffsetOutOfRange: "offset_out_of_range",
  /** Stored bytes fail their CRC or framing; the message names file and byte position. */
  Corrupt: "corrupt",
  /** A segment was replaced by compaction while in use (handled internally by readers). */
  SegmentReplaced: "segment_replaced",
  /** An argument is invalid (bad record, non-increasing replicated offsets, bad option). */
  InvalidArgument: "invalid_argument",
  /** The file system failed (write, fsync, rename); the cause carries the system error. */
  Io: "io",
} as const;

/** One of the {@link CommitLogErrorCode} values. */
export type CommitLogErrorCode = (typeof CommitLogErrorCode)[keyof typeof CommitLogErrorCode];

/** The one error class of this package; branch on `code` with {@link isCommitLogError}. */
export class CommitLogError extends Error {
  override readonly name = "CommitLogError";
  /** Machine-readable reason. */
  readonly code: CommitLogErrorCode;
  constructor(code: CommitLogErrorCode, message: string, options?: ErrorOptions) {
    super(`[${code}] ${message}`, options);
    this.code = code;
  }
}

/**
 * Tells whether `e` is a {@link CommitLogError} (optionally with the given code). Works across
 * duplicate installs because it checks the shape, not the prototype.
 */
export const isCommitLogError = (e: unknown, code?: CommitLogErrorCode): e is CommitLogError =>
  typeof e === "object" &&
  e !== null &&
  (e as { name?: unknown }).name === "CommitLogError" &&
  typeof (e as { code?: unknown }).code === "string" &&
  (code === undefined || (e as { code: string }).code === code);

/** Thrown when an internal invariant breaks (a bug, not an operational error). */
export class AssertionError extends Error {
  override readonly name = "AssertionError";
}

/** Throws {@link AssertionError} when `cond` is false. */
export function invariant(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionError(message);
}
