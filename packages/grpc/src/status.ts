import { constants as h2 } from "node:http2";

/**
 * The standard gRPC status codes (grpc `doc/statuscodes.md`), as sent in the `grpc-status` trailer.
 *
 * The numeric values are the wire values; {@link statusName} gives the canonical upper-case name.
 */
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
/** One of the {@link Status} values. */
export type Status = (typeof Status)[keyof typeof Status];

const NAMES: readonly string[] = Object.keys(Status);

/** Returns the canonical name of a status code (`"NOT_FOUND"`), or `"UNKNOWN"` for a value outside 0-16. */
export function statusName(code: number): string {
  return NAMES[code] ?? "UNKNOWN";
}

/** Returns true when `code` is one of the 17 defined status codes. */
export function isStatus(code: unknown): code is Status {
  return typeof code === "number" && Number.isInteger(code) && code >= 0 && code <= 16;
}

/**
 * Maps a non-200 HTTP status of a gRPC response to a gRPC status (grpc `doc/http-grpc-status-mapping.md`).
 */
export function statusFromHttp(httpStatus: number): Status {
  switch (httpStatus) {
    case 400:
      return Status.INTERNAL;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.UNAVAILABLE;
    default:
      return Status.UNKNOWN;
  }
}

/**
 * Maps the RST_STREAM error code of a stream that closed without a `grpc-status` to a gRPC status
 * (PROTOCOL-HTTP2.md "Errors").
 */
export function statusFromRstCode(rstCode: number): Status {
  switch (rstCode) {
    case h2.NGHTTP2_REFUSED_STREAM:
      return Status.UNAVAILABLE;
    case h2.NGHTTP2_CANCEL:
      return Status.CANCELLED;
    case h2.NGHTTP2_ENHANCE_YOUR_CALM:
      return Status.RESOURCE_EXHAUSTED;
    case h2.NGHTTP2_INADEQUATE_SECURITY:
      return Status.PERMISSION_DENIED;
    default:
      return Status.INTERNAL;
  }
}
