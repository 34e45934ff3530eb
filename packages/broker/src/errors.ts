/**
 * Typed errors of the broker. Every failure a caller can act on carries a {@link BrokerErrorCode};
 * the API layer maps them to gRPC statuses (see `grpc-status.ts`).
 * @module
 */

/** Error codes of {@link BrokerError} (snake_case, like gRPC codes). */
export const BrokerErrorCode = {
  /** A request argument is invalid (bad name, subject, partition count, ...). */
  InvalidArgument: "invalid_argument",
  /** The stream already exists. */
  StreamExists: "stream_exists",
  /** No such stream. */
  NoSuchStream: "no_such_stream",
  /** No such partition. */
  NoSuchPartition: "no_such_partition",
  /** The metadata Raft group failed (apply, persistence, no leader). */
  Raft: "raft",
  /** The broker is closed. */
  Closed: "closed",
  /** Data directory or log I/O failed. */
  Io: "io",
  /** Encryption at rest: missing or invalid master key, a value that does not open (wrong key, tampering). */
  Encryption: "encryption",
  /** An internal wait (e.g. the ack of an activity event) ran out of time. */
  Timeout: "timeout",
} as const;
/** Union of {@link BrokerErrorCode} values. */
export type BrokerErrorCode = (typeof BrokerErrorCode)[keyof typeof BrokerErrorCode];

/** The broker's error class: a string {@link BrokerErrorCode} plus a message. */
export class BrokerError extends Error {
  override readonly name = "BrokerError";
  readonly code: BrokerErrorCode;
  constructor(code: BrokerErrorCode, message: string, options?: ErrorOptions) {
    super(`[${code}] ${message}`, options);
    this.code = code;
  }
}

/** Tells whether `e` is a {@link BrokerError} (optionally with `code`); duplicate installs safe. */
export const isBrokerError = (e: unknown, code?: BrokerErrorCode): e is BrokerError =>
  e instanceof Error &&
  e.name === "BrokerError" &&
  typeof (e as { code?: unknown }).code === "string" &&
  (code === undefined || (e as BrokerError).code === code);

/** Thrown when an internal invariant breaks: a bug, never a user error (fail-stop). */
export class AssertionError extends Error {
  override readonly name = "AssertionError";
}

/** Throws {@link AssertionError} when `cond` is false. */
export function invariant(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionError(message);
}
