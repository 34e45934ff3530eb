import { describe, expect, it } from "vitest";
import {
  ACK_ERROR_STATUS,
  AckError,
  ApiError,
  ApiErrorCode,
  ackErrorToAsyncCode,
  isApiError,
  LiftbridgeErrors,
  PUBLISH_ASYNC_ERRORS,
  PublishAsyncErrorCode,
  Status,
  statusName,
} from "../src/index.js";

describe("Status", () => {
  it("uses the standard gRPC numbers", () => {
    expect(Object.entries(Status)).toEqual(
      "OK CANCELLED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND ALREADY_EXISTS PERMISSION_DENIED RESOURCE_EXHAUSTED FAILED_PRECONDITION ABORTED OUT_OF_RANGE UNIMPLEMENTED INTERNAL UNAVAILABLE DATA_LOSS UNAUTHENTICATED"
        .split(" ")
        .map((n, i) => [n, i]),
    );
    expect(statusName(5)).toBe("NOT_FOUND");
    expect(statusName(99)).toBe("CODE_99");
  });
});

describe("LiftbridgeErrors (spec §5)", () => {
  it.each([
    ["streamExists", Status.ALREADY_EXISTS, "stream already exists"],
    ["nameEmpty", Status.INVALID_ARGUMENT, "Name cannot be empty"],
    ["subjectInvalid", Status.INVALID_ARGUMENT, "Subject is invalid"],
    ["streamReserved", Status.INVALID_ARGUMENT, "Stream is reserved"],
    ["streamNotExist", Status.NOT_FOUND, "stream does not exist"],
    ["noSuchPartition", Status.NOT_FOUND, "No such partition"],
    ["notPartitionLeader", Status.FAILED_PRECONDITION, "Server not partition leader"],
    ["streamEmpty", Status.RESOURCE_EXHAUSTED, "Stream is empty"],
    ["endOfReadonlyPartition", Status.RESOURCE_EXHAUSTED, "End of readonly partition"],
    ["stopOffsetReached", Status.RESOURCE_EXHAUSTED, "Stop offset reached"],
    ["partitionDeleted", Status.NOT_FOUND, ""],
    ["partitionPaused", Status.FAILED_PRECONDITION, ""],
    [
      "notLeaderForPartitionMetadata",
      Status.FAILED_PRECONDITION,
      "The request should be sent to partition leader",
    ],
    ["noStreamProvided", Status.INVALID_ARGUMENT, "no stream provided"],
    ["readonlyPartition", Status.FAILED_PRECONDITION, "readonly partition"],
    ["incorrectOffset", Status.UNKNOWN, "incorrect expected offset"],
    ["notAuthorized", Status.UNKNOWN, "The client is not authorized to call"],
    ["noMetadataLeader", Status.INTERNAL, "no known metadata leader"],
    ["notCursorsLeader", Status.FAILED_PRECONDITION, "Server not leader for cursors partition"],
    ["ackTimeout", Status.DEADLINE_EXCEEDED, ""],
  ] as const)("%s -> %s %j", (name, status, message) => {
    expect(LiftbridgeErrors[name].status).toBe(status);
    expect(LiftbridgeErrors[name].message).toBe(message);
  });

  it("every row has a valid status and at least one RPC", () => {
    for (const [name, row] of Object.entries(LiftbridgeErrors)) {
      expect(Object.values(Status), name).toContain(row.status);
      expect(row.rpcs.length, name).toBeGreaterThan(0);
    }
  });

  it("ack errors map to unary statuses and async codes", () => {
    expect(ACK_ERROR_STATUS[AckError.TOO_LARGE]?.status).toBe(Status.INVALID_ARGUMENT);
    expect(ACK_ERROR_STATUS[AckError.ENCRYPTION]?.status).toBe(Status.INTERNAL);
    expect(ACK_ERROR_STATUS[AckError.INCORRECT_OFFSET]?.status).toBe(Status.UNKNOWN);
    expect(ACK_ERROR_STATUS[AckError.OK]).toBeUndefined();
    expect(ackErrorToAsyncCode(AckError.INCORRECT_OFFSET)).toBe(PublishAsyncErrorCode.INCORRECT_OFFSET);
    expect(ackErrorToAsyncCode(AckError.TOO_LARGE)).toBe(PublishAsyncErrorCode.BAD_REQUEST);
    expect(ackErrorToAsyncCode(AckError.ENCRYPTION)).toBe(PublishAsyncErrorCode.ENCRYPTION_FAILED);
    expect(ackErrorToAsyncCode(AckError.UNKNOWN)).toBe(PublishAsyncErrorCode.UNKNOWN);
    expect(ackErrorToAsyncCode(42)).toBe(PublishAsyncErrorCode.UNKNOWN);
    expect(PUBLISH_ASYNC_ERRORS.notFound).toBe(PublishAsyncErrorCode.NOT_FOUND);
    expect(PUBLISH_ASYNC_ERRORS.readonly).toBe(PublishAsyncErrorCode.READONLY);
  });
});

describe("ApiError", () => {
  it("carries its code in the message and is recognised by shape", () => {
    const cause = new Error("inner");
    const e = new ApiError(ApiErrorCode.Malformed, "bad bytes", { cause });
    expect(e.message).toBe("[malformed] bad bytes");
    expect(e.cause).toBe(cause);
    expect(isApiError(e)).toBe(true);
    expect(isApiError(e, ApiErrorCode.Malformed)).toBe(true);
    expect(isApiError(e, ApiErrorCode.OutOfRange)).toBe(false);
    expect(isApiError(new Error("x"))).toBe(false);
    expect(isApiError("malformed")).toBe(false);
  });
});
