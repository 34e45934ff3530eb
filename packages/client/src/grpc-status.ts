/**
 * gRPC status → {@link LiftbridgeError} mapping, the client side of spec §5 / §6.5 (go-liftbridge maps
 * `codes.AlreadyExists` → `ErrStreamExists` and so on). Every server error reaches the caller through
 * {@link fromGrpcError}; the GrpcError is kept as `cause`.
 */
import { PublishAsyncErrorCode } from "@liftbridge/api";
import { isGrpcError, Status } from "@liftbridge/grpc";
import { LiftbridgeErrorCode as C, isLiftbridgeError, LiftbridgeError } from "./errors.js";

/** Which RPC context the status came from: the same status means different things per RPC (Go does so). */
export type StatusContext =
  | "createStream"
  | "deleteStream"
  | "pauseStream"
  | "setStreamReadonly"
  | "subscribeSetup"
  | "subscribe"
  | "publish"
  | "publishToSubject"
  | "other";

/** The generic mapping for a status code, used when the context adds nothing. */
export const STATUS_CODES: Readonly<Record<number, C>> = {
  [Status.CANCELLED]: C.Canceled,
  [Status.DEADLINE_EXCEEDED]: C.DeadlineExceeded,
  [Status.UNAVAILABLE]: C.Unavailable,
  [Status.INVALID_ARGUMENT]: C.InvalidArgument,
  [Status.ALREADY_EXISTS]: C.StreamExists,
  [Status.NOT_FOUND]: C.NoSuchPartition,
  [Status.FAILED_PRECONDITION]: C.FailedPrecondition,
  [Status.RESOURCE_EXHAUSTED]: C.ReadonlyPartition,
  [Status.UNIMPLEMENTED]: C.Unimplemented,
};

/** The client code for status `status` in `context` (Go's per-method mapping, spec §6.2 / §6.5). */
export function codeForStatus(status: Status, context: StatusContext): C {
  switch (context) {
    case "deleteStream":
      if (status === Status.NOT_FOUND) return C.NoSuchStream;
      break;
    case "subscribe":
      // Mid-stream: NotFound = deleted, FailedPrecondition = paused (spec §6.5).
      if (status === Status.NOT_FOUND) return C.StreamDeleted;
      if (status === Status.FAILED_PRECONDITION) return C.PartitionPaused;
      break;
    case "publishToSubject":
      if (status === Status.DEADLINE_EXCEEDED) return C.AckTimeout;
      break;
    default:
      break;
  }
  return STATUS_CODES[status] ?? C.Internal;
}

/** Wraps any failure into a LiftbridgeError (a LiftbridgeError passes through unchanged). */
export function fromGrpcError(e: unknown, context: StatusContext = "other"): LiftbridgeError {
  if (isLiftbridgeError(e)) return e;
  if (isGrpcError(e)) return new LiftbridgeError(codeForStatus(e.code, context), e.details, { cause: e });
  const message = e instanceof Error ? e.message : String(e);
  return new LiftbridgeError(C.Internal, message, { cause: e });
}

/** The client code for a per-message PublishAsyncError code (spec §6.5: other codes are plain errors). */
export function codeForAsyncError(code: number): C {
  switch (code) {
    case PublishAsyncErrorCode.NOT_FOUND:
      return C.NoSuchPartition;
    case PublishAsyncErrorCode.READONLY:
      return C.ReadonlyPartition;
    case PublishAsyncErrorCode.INCORRECT_OFFSET:
      return C.IncorrectOffset;
    default:
      return C.PublishFailed;
  }
}
