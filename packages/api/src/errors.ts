/**
 * Error codes of `@liftbridge/api`: the package's error contract.
 *
 * - `malformed`: bytes that are not a valid protobuf encoding of the expected message
 *   (truncated, bad varint, bad wire type, invalid length).
 * - `out_of_range`: a valid 64-bit integer that the TypeScript type cannot hold exactly
 *   (an int64 field typed `number` outside `Number.MIN_SAFE_INTEGER..MAX_SAFE_INTEGER`).
 * - `invalid_value`: a value given to an encoder that its field cannot carry (a non-integer or
 *   unsafe integer for an int64 field, a number outside int32/uint32 range, a bigint outside int64).
 * - `not_envelope`: NATS data without the Liftbridge envelope magic, or shorter than its header.
 * - `unsupported_version`: an envelope version other than 0.
 * - `unexpected_type`: an envelope whose message type is not the expected one.
 * - `checksum_mismatch`: an envelope whose CRC-32C does not match its payload, or whose
 *   header length is inconsistent with its CRC flag.
 */
export const ApiErrorCode = {
  Malformed: "malformed",
  OutOfRange: "out_of_range",
  InvalidValue: "invalid_value",
  NotEnvelope: "not_envelope",
  UnsupportedVersion: "unsupported_version",
  UnexpectedType: "unexpected_type",
  ChecksumMismatch: "checksum_mismatch",
} as const;
/** One of the {@link ApiErrorCode} values. */
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

/**
 * The one error class of `@liftbridge/api`. Its `code` says what went wrong; the message starts
 * with `[code]`. Branch with {@link isApiError}, not `instanceof`.
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  /** What went wrong. */
  readonly code: ApiErrorCode;
  constructor(code: ApiErrorCode, message: string, options?: ErrorOptions) {
    super(`[${code}] ${message}`, options);
    this.code = code;
  }
}

/**
 * Tells whether `e` is an {@link ApiError} (optionally with the given code). Works across
 * duplicate installs of the package because it checks the shape, not the prototype.
 */
export const isApiError = (e: unknown, code?: ApiErrorCode): e is ApiError =>
  e instanceof Error &&
  e.name === "ApiError" &&
  typeof (e as { code?: unknown }).code === "string" &&
  (code === undefined || (e as { code?: unknown }).code === code);
