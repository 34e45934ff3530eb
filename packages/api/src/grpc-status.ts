/**
 * gRPC status codes and Liftbridge's error-condition → status table (spec liftbridge-api.md §5).
 * This is the server side of the mapping: the broker looks conditions up here. The client maps
 * statuses back to its own error codes (spec §6.5) in its own grpc-status file.
 * @module
 */
import { AckError, PublishAsyncErrorCode } from "./gen/api.js";

/** The standard gRPC status codes (same names and numbers as grpc-js `status`). */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
/** A gRPC status code number. */
export type Status = (typeof Status)[keyof typeof Status];

const STATUS_NAMES: readonly string[] = Object.keys(Status);

/** Name of a status code (`"NOT_FOUND"`), or `"CODE_<n>"` for an unknown number. */
export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? `CODE_${code}`;
}

/** One row of {@link LiftbridgeErrors}: the status a condition answers with. */
export interface ErrorCondition {
  /** The gRPC status code. */
  readonly status: Status;
  /**
   * Upstream's status message, or its fixed prefix when upstream appends details after `": "`
   * (e.g. `"no such stream"` → `"no such stream: foo"`); `""` where the text is free-form.
   */
  readonly message: string;
  /** RPCs (or phases) that raise it. */
  readonly rpcs: readonly string[];
}

const c = (status: Status, message: string, ...rpcs: string[]): ErrorCondition => ({ status, message, rpcs });
const S = Status;

/**
 * Every error condition of spec §5 with its gRPC status and upstream message. The broker
 * answers `LiftbridgeErrors.<condition>`; the codes are part of the wire contract (clients
 * branch on them: AlreadyExists → stream exists, FailedPrecondition → not leader, refresh and
 * retry, ResourceExhausted → end of read-only partition or stop position, …).
 *
 * Messages with details take them after the prefix, as upstream: `"Invalid replicationFactor 5,
 * cluster size 3"`, `"Stop offset is before start offset: …"`.
 */
export const LiftbridgeErrors = {
  // --- general (every metadata write) ---
  /** No Raft leader known before the deadline. */
  noMetadataLeader: c(S.INTERNAL, "no known metadata leader", "metadata writes"),
  /** Forwarding to the controller over NATS failed. */
  forwardFailed: c(S.INTERNAL, "", "metadata writes"),
  /** Raft apply or barrier failure, including lost leadership. */
  raftFailed: c(S.INTERNAL, "", "metadata writes"),
  /** Authorization denied: upstream returns a plain error, hence Unknown. */
  notAuthorized: c(S.UNKNOWN, "The client is not authorized to call", "all"),
  /** Request bytes that do not decode (grpc-go and grpc-js answer Internal, too). */
  malformedRequest: c(S.INTERNAL, "grpc: error unmarshalling request", "all"),
  /** An RPC this server does not implement. */
  unimplemented: c(S.UNIMPLEMENTED, "", "all"),

  // --- CreateStream ---
  nameEmpty: c(S.INVALID_ARGUMENT, "Name cannot be empty", "CreateStream"),
  subjectInvalid: c(S.INVALID_ARGUMENT, "Subject is invalid", "CreateStream"),
  streamReserved: c(S.INVALID_ARGUMENT, "Stream is reserved", "CreateStream", "DeleteStream"),
  encryptionPrecondition: c(
    S.FAILED_PRECONDITION,
    "Failed on preconditions for stream's encryption handler",
    "CreateStream",
  ),
  invalidReplicationFactor: c(S.INVALID_ARGUMENT, "Invalid replicationFactor", "CreateStream"),
  /** TS port: upstream does not validate a negative partition count (the Go server panics). */
  invalidPartitions: c(S.INVALID_ARGUMENT, "Invalid partitions", "CreateStream"),
  streamExists: c(S.ALREADY_EXISTS, "stream already exists", "CreateStream"),
  createPrecondition: c(S.FAILED_PRECONDITION, "", "CreateStream"),

  // --- DeleteStream / PauseStream / SetStreamReadonly ---
  streamNotExist: c(S.NOT_FOUND, "stream does not exist", "DeleteStream", "PauseStream", "SetStreamReadonly"),
  /** Pause / SetReadonly with an empty partition list on an unknown stream. */
  streamNotFound: c(S.NOT_FOUND, "stream not found", "PauseStream", "SetStreamReadonly"),
  partitionNotExist: c(S.NOT_FOUND, "partition does not exist", "PauseStream", "SetStreamReadonly"),

  // --- Subscribe, at setup (returned instead of the first empty message) ---
  consumerIdEmpty: c(
    S.INVALID_ARGUMENT,
    "Consumer id cannot be empty when group id is provided",
    "Subscribe",
  ),
  noSuchPartition: c(S.NOT_FOUND, "No such partition", "Subscribe"),
  notPartitionLeader: c(S.FAILED_PRECONDITION, "Server not partition leader", "Subscribe"),
  groupsWithReadIsrReplica: c(
    S.INVALID_ARGUMENT,
    "Consumer groups not compatible with ReadISRReplica",
    "Subscribe",
  ),
  resumeFailed: c(S.INTERNAL, "Failed to resume stream", "Subscribe"),
  consumerNotAssigned: c(
    S.FAILED_PRECONDITION,
    "Consumer is not currently assigned this partition",
    "Subscribe",
  ),
  unknownStartPosition: c(S.INVALID_ARGUMENT, "Unknown StartPosition", "Subscribe"),
  unknownStopPosition: c(S.INVALID_ARGUMENT, "Unknown StopPosition", "Subscribe"),
  timestampLookupFailed: c(S.INTERNAL, "", "Subscribe"),
  /** STOP_LATEST on an empty partition. */
  streamEmpty: c(S.RESOURCE_EXHAUSTED, "Stream is empty", "Subscribe"),
  stopBeforeStart: c(S.INVALID_ARGUMENT, "Stop offset is before start offset", "Subscribe"),
  readerFailed: c(S.INTERNAL, "Failed to create stream reader", "Subscribe"),

  // --- Subscribe, mid-stream endings ---
  partitionDeleted: c(S.NOT_FOUND, "", "Subscribe (mid-stream)"),
  partitionPaused: c(S.FAILED_PRECONDITION, "", "Subscribe (mid-stream)"),
  /** Log closed for another reason: leader change, shutdown. */
  logClosed: c(S.INTERNAL, "", "Subscribe (mid-stream)"),
  /** Partition became read-only, or STOP_ON_CANCEL on a read-only partition reached its end. */
  endOfReadonlyPartition: c(S.RESOURCE_EXHAUSTED, "End of readonly partition", "Subscribe (mid-stream)"),
  stopOffsetReached: c(S.RESOURCE_EXHAUSTED, "Stop offset reached", "Subscribe (mid-stream)"),
  /**
   * A reverse subscription delivered the oldest message (or the message at its stop offset). Upstream
   * sends Go's io.EOF, which reaches clients as Unknown "EOF" (spec §5, inferred); we answer
   * ResourceExhausted like every other bounded end (stop offset reached, end of read-only partition),
   * so clients can tell "done" from a failure. Documented in the broker README.
   */
  reverseEnd: c(S.RESOURCE_EXHAUSTED, "Oldest offset reached", "Subscribe (mid-stream)"),
  /**
   * A stored value of an encrypted stream does not open: the server's LIFTBRIDGE_ENCRYPTION_KEY is
   * missing or is not the key the data was written with (a TS-port condition; upstream has none).
   */
  decryptionFailed: c(S.INTERNAL, "Failed to decrypt message", "Subscribe (mid-stream)"),

  // --- FetchMetadata / FetchPartitionMetadata ---
  raftConfigUnreadable: c(S.INTERNAL, "", "FetchMetadata"),
  partitionNotFound: c(S.NOT_FOUND, "partition not found", "FetchPartitionMetadata"),
  notLeaderForPartitionMetadata: c(
    S.FAILED_PRECONDITION,
    "The request should be sent to partition leader",
    "FetchPartitionMetadata",
  ),

  // --- Publish (unary) ---
  noStreamProvided: c(S.INVALID_ARGUMENT, "no stream provided", "Publish"),
  noSuchStream: c(S.NOT_FOUND, "no such stream", "Publish"),
  noSuchPartitionPublish: c(S.NOT_FOUND, "no such partition", "Publish"),
  readonlyPartition: c(S.FAILED_PRECONDITION, "readonly partition", "Publish"),
  concurrencyControlNeedsAck: c(
    S.INVALID_ARGUMENT,
    "stream with concurrency control must have AckPolicy set",
    "Publish",
  ),
  ackTimeout: c(S.DEADLINE_EXCEEDED, "", "Publish", "PublishToSubject"),
  /** Ack with TOO_LARGE. */
  messageTooLarge: c(S.INVALID_ARGUMENT, "message exceeds max replication size", "Publish"),
  /** Ack with ENCRYPTION. */
  encryptionFailed: c(S.INTERNAL, "encryption failed on partition", "Publish"),
  /** Ack with INCORRECT_OFFSET: upstream has no mapping for it, hence Unknown. */
  incorrectOffset: c(S.UNKNOWN, "incorrect expected offset", "Publish"),

  // --- SetCursor / FetchCursor ---
  cursorNoStream: c(S.INVALID_ARGUMENT, "No stream provided", "SetCursor", "FetchCursor"),
  cursorNoCursorId: c(S.INVALID_ARGUMENT, "No cursorId provided", "SetCursor", "FetchCursor"),
  cursorsDisabled: c(S.INTERNAL, "Cursors stream does not exist", "SetCursor", "FetchCursor"),
  notCursorsLeader: c(
    S.FAILED_PRECONDITION,
    "Server not leader for cursors partition",
    "SetCursor",
    "FetchCursor",
  ),
  cursorsFailed: c(S.INTERNAL, "", "SetCursor", "FetchCursor"),

  // --- consumer groups ---
  noGroupId: c(S.INVALID_ARGUMENT, "No groupId provided", "JoinConsumerGroup", "LeaveConsumerGroup"),
  noConsumerId: c(S.INVALID_ARGUMENT, "No consumerId provided", "JoinConsumerGroup", "LeaveConsumerGroup"),
  noStreams: c(S.INVALID_ARGUMENT, "No streams provided", "JoinConsumerGroup"),
  noCoordinator: c(S.INVALID_ARGUMENT, "No coordinator provided", "ReportConsumerGroupCoordinator"),
  groupNotExist: c(S.NOT_FOUND, "consumer group does not exist", "JoinConsumerGroup", "LeaveConsumerGroup"),
  /** Already a member, not a member, a stream missing, not the coordinator, epoch differs. */
  groupPrecondition: c(
    S.FAILED_PRECONDITION,
    "",
    "JoinConsumerGroup",
    "LeaveConsumerGroup",
    "FetchConsumerGroupAssignments",
  ),
  noSuchGroupReport: c(S.FAILED_PRECONDITION, "No such consumer group", "ReportConsumerGroupCoordinator"),
  coordinatorMismatch: c(
    S.FAILED_PRECONDITION,
    "Coordinator generation mismatch",
    "ReportConsumerGroupCoordinator",
  ),
} as const satisfies Record<string, ErrorCondition>;

/** Name of one row of {@link LiftbridgeErrors}. */
export type LiftbridgeErrorCondition = keyof typeof LiftbridgeErrors;

/**
 * Unary `Publish`: the status for an ack that came back with `ackError` set (spec §5). `OK`
 * has no entry; unknown ack errors map to Unknown.
 */
export const ACK_ERROR_STATUS: Readonly<Record<number, ErrorCondition>> = {
  [AckError.UNKNOWN]: c(S.UNKNOWN, "", "Publish"),
  [AckError.INCORRECT_OFFSET]: LiftbridgeErrors.incorrectOffset,
  [AckError.TOO_LARGE]: LiftbridgeErrors.messageTooLarge,
  [AckError.ENCRYPTION]: LiftbridgeErrors.encryptionFailed,
};

/**
 * `PublishAsync`: the `PublishAsyncError.code` for an ack that came back with `ackError` set
 * (spec §5). Any other non-OK ack error maps to `UNKNOWN`.
 */
export const ACK_ERROR_ASYNC_CODE: Readonly<Record<number, PublishAsyncErrorCode>> = {
  [AckError.INCORRECT_OFFSET]: PublishAsyncErrorCode.INCORRECT_OFFSET,
  [AckError.TOO_LARGE]: PublishAsyncErrorCode.BAD_REQUEST,
  [AckError.ENCRYPTION]: PublishAsyncErrorCode.ENCRYPTION_FAILED,
};

/** The async error code for an ack error (spec §5): see {@link ACK_ERROR_ASYNC_CODE}. */
export function ackErrorToAsyncCode(ackError: number): PublishAsyncErrorCode {
  return ACK_ERROR_ASYNC_CODE[ackError] ?? PublishAsyncErrorCode.UNKNOWN;
}

/**
 * `PublishAsync` per-message failures (spec §5), sent as
 * `PublishResponse{correlationId, ack: {}, asyncError: {code, message}}`.
 */
export const PUBLISH_ASYNC_ERRORS = {
  notAuthorized: PublishAsyncErrorCode.PERMISSION_DENIED,
  /** Stream or partition missing (an empty stream name also lands here upstream). */
  notFound: PublishAsyncErrorCode.NOT_FOUND,
  readonly: PublishAsyncErrorCode.READONLY,
  /** Concurrency control with AckPolicy NONE. */
  concurrencyControlNeedsAck: PublishAsyncErrorCode.BAD_REQUEST,
  /** Resume, marshal or NATS publish failure. */
  internal: PublishAsyncErrorCode.INTERNAL,
} as const satisfies Record<string, PublishAsyncErrorCode>;
