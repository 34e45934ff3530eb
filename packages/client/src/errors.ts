import { isGrpcError, Status } from "@liftbridge/grpc";

/**
 * Error codes of {@link LiftbridgeError}. The first group mirrors go-liftbridge's sentinel errors
 * (`ErrStreamExists` → `stream_exists`, …); the rest name the other outcomes a caller branches on.
 */
export const LiftbridgeErrorCode = {
  /** Go `ErrStreamExists`: CreateStream answered AlreadyExists. */
  StreamExists: "stream_exists",
  /** Go `ErrNoSuchStream`: the stream does not exist. */
  NoSuchStream: "no_such_stream",
  /** Go `ErrNoSuchPartition`: the stream partition does not exist. */
  NoSuchPartition: "no_such_partition",
  /** Go `ErrStreamDeleted`: the stream was deleted during a subscription. */
  StreamDeleted: "stream_deleted",
  /** Go `ErrPartitionPaused`: the partition was paused during a subscription. */
  PartitionPaused: "partition_paused",
  /** Go `ErrAckTimeout`: no ack arrived within the ack wait time (or PublishToSubject's deadline). */
  AckTimeout: "ack_timeout",
  /** Go `ErrReadonlyPartition`: the partition is read-only (publish), or a subscription reached its end. */
  ReadonlyPartition: "readonly_partition",
  /** The server rejected a publish because of its expected offset (optimistic concurrency). */
  IncorrectOffset: "incorrect_offset",
  /** Any other per-message publish failure (PublishAsyncError code other than the above). */
  PublishFailed: "publish_failed",
  /** No server could be reached, or the connection was lost. */
  Unavailable: "unavailable",
  /** The call's deadline (`timeoutMs`) passed. */
  DeadlineExceeded: "deadline_exceeded",
  /** The call was cancelled (AbortSignal, `close()`). */
  Canceled: "canceled",
  /** The client (or consumer) is closed. */
  Closed: "closed",
  /** An argument was rejected, by the client or by the server (InvalidArgument). */
  InvalidArgument: "invalid_argument",
  /** The partition leader, or a broker named in metadata, is unknown. */
  NoLeader: "no_leader",
  /** The server refused on preconditions (FailedPrecondition not otherwise mapped). */
  FailedPrecondition: "failed_precondition",
  /** The server does not implement the RPC. */
  Unimplemented: "unimplemented",
  /** Go `ConsumerError`: an asynchronous consumer-group failure. */
  Consumer: "consumer",
  /** Any other server failure (Internal, Unknown, …); the gRPC status is the `cause`. */
  Internal: "internal",
} as const;
/** One of {@link LiftbridgeErrorCode}. */
export type LiftbridgeErrorCode = (typeof LiftbridgeErrorCode)[keyof typeof LiftbridgeErrorCode];

/**
 * The one error class of `@liftbridge/client`. `code` is the contract; `cause` holds the gRPC status
 * (`GrpcError`) when the error came from the server. Branch with {@link isLiftbridgeError}.
 */
export class LiftbridgeError extends Error {
  override readonly name = "LiftbridgeError";
  readonly code: LiftbridgeErrorCode;
  constructor(code: LiftbridgeErrorCode, message: string, options?: ErrorOptions) {
    super(`[${code}] ${message}`, options);
    this.code = code;
  }
}

/** True when `e` is a {@link LiftbridgeError} (checked structurally), optionally with `code`. */
export function isLiftbridgeError(e: unknown, code?: LiftbridgeErrorCode): e is LiftbridgeError {
  if (typeof e !== "object" || e === null) return false;
  const c = e as { name?: unknown; code?: unknown };
  if (c.name !== "LiftbridgeError" || typeof c.code !== "string") return false;
  return code === undefined || c.code === code;
}

/** The gRPC status code of `e` when it is a GrpcError (directly or as a LiftbridgeError cause). @internal */
export function statusOf(e: unknown): Status | undefined {
  if (isGrpcError(e)) return e.code;
  if (isLiftbridgeError(e) && isGrpcError(e.cause)) return e.cause.code;
  return undefined;
}

/** True for errors worth retrying on another broker (Unavailable). @internal */
export function isUnavailable(e: unknown): boolean {
  return statusOf(e) === Status.UNAVAILABLE;
}
