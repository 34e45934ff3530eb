export type { ConfigMappingDeps } from "./config.js";
export { natsServerOptionsFromConfig, parseConfigDurationMs, parseConfigSize } from "./config.js";
export { isNatsServerError, NatsServerError, NatsServerErrorCode } from "./errors.js";
export type { MsgHeaders } from "./headers.js";
export { createHeaders, decodeHeaders } from "./headers.js";
export type {
  InProcessConnection,
  InProcessConnectionOptions,
  InProcessSubscription,
  NatsMsg,
  PublishOptions,
  RequestOptions,
  SubscribeOptions,
} from "./in-process.js";
export type {
  Clock,
  Logger,
  NatsAuthorization,
  NatsServerOptions,
  NatsTlsOptions,
  NatsUser,
  ResolvedNatsServerOptions,
  TimerHandle,
} from "./options.js";
export {
  DEFAULT_AUTH_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONTROL_LINE,
  DEFAULT_MAX_PAYLOAD,
  DEFAULT_MAX_PENDING_BYTES,
  DEFAULT_MAX_PINGS_OUT,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_PORT,
  DEFAULT_WRITE_DEADLINE_MS,
  noopLogger,
  resolveNatsServerOptions,
  systemClock,
} from "./options.js";
export type { NatsServer } from "./server.js";
export { SERVER_VERSION, startNatsServer } from "./server.js";
export { isValidLiteralSubject, isValidQueueName, isValidSubject, subjectMatches } from "./subject.js";
