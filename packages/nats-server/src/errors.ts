/**
 * Error codes thrown by `@liftbridge/nats-server`. The union is the package's error contract.
 */
export const NatsServerErrorCode = {
  /** The options object is invalid (bad port, negative limit, unreadable TLS file...). */
  InvalidOptions: "invalid_options",
  /** The server or connection is closed. */
  Closed: "closed",
  /** A subject or queue name is not valid for the requested operation. */
  InvalidSubject: "invalid_subject",
  /** The payload is larger than `maxPayload`. */
  MaxPayload: "max_payload",
  /** A request got no reply before its deadline. */
  Timeout: "timeout",
  /** A request was sent to a subject nobody listens on. */
  NoResponders: "no_responders",
  /** A request was aborted through its `AbortSignal`. */
  Canceled: "canceled",
  /** The listener could not be started (address in use...). */
  ListenFailed: "listen_failed",
} as const;
/** See {@link NatsServerErrorCode}. */
export type NatsServerErrorCode = (typeof NatsServerErrorCode)[keyof typeof NatsServerErrorCode];

/** The one error class of this package; branch on `code` via {@link isNatsServerError}. */
export class NatsServerError extends Error {
  override readonly name = "NatsServerError";
  readonly code: NatsServerErrorCode;
  constructor(code: NatsServerErrorCode, message: string, options?: ErrorOptions) {
    super(`[${code}] ${message}`, options);
    this.code = code;
  }
}

/** True when `e` is a {@link NatsServerError} (optionally with the given code), across duplicate installs. */
export const isNatsServerError = (e: unknown, code?: NatsServerErrorCode): e is NatsServerError =>
  typeof e === "object" &&
  e !== null &&
  (e as { name?: unknown }).name === "NatsServerError" &&
  typeof (e as { code?: unknown }).code === "string" &&
  (code === undefined || (e as { code: unknown }).code === code);
