/**
 * @liftbridge/broker: a Liftbridge server core. Metadata is a Raft FSM (a cluster of one here),
 * partitions are commit logs under `data.dir`, leaders ingest NATS messages (enveloped or plain) in
 * per-turn batches and ack by policy, and the `proto.API` gRPC service is served on @liftbridge/grpc.
 * @packageDocumentation
 */
export {
  ACTIVITY_MAX_BACKOFF_MS,
  ACTIVITY_MIN_BACKOFF_MS,
  ACTIVITY_STREAM,
  type ActivityAckPolicy,
  ActivityDispatcher,
  type ActivityHost,
  type ActivityOptions,
  activitySubject,
  DEFAULT_ACTIVITY_OPTIONS,
  joinConsumerGroupEvent,
  leaveConsumerGroupEvent,
  resolveActivityOptions,
  toActivityEvent,
} from "./activity.js";
export { type ApiHandlerOptions, createApiHandlers, MAX_PARTITIONS } from "./api-service.js";
export {
  type Authorizer,
  type AuthzAction,
  type AuthzEnforcer,
  type AuthzModel,
  type AuthzOptions,
  type AuthzPolicy,
  type AuthzRule,
  authzError,
  CLIENT_ID_ERROR,
  clientIdOf,
  createEnforcer,
  keyMatch,
  openAuthorizer,
  parseAuthzModel,
  parseAuthzPolicy,
  SAMPLE_AUTHZ_MODEL,
} from "./authz.js";
export {
  type AckListener,
  BrokerCore,
  type BrokerOptions,
  DEFAULT_STREAM_DEFAULTS,
  type ResolvedBrokerOptions,
  resolveBrokerOptions,
} from "./broker.js";
export { type BrokerClock, systemBrokerClock, type TimerHandle } from "./clock.js";
export type { ServerInfo } from "./cluster-membership.js";
export {
  type ConsumerGroupOptions,
  DEFAULT_GROUP_OPTIONS,
} from "./consumer-group-coordinator.js";
export type {
  ConsumerGroupOp,
  ConsumerGroupState,
  GroupAssignment,
  GroupMember,
} from "./consumer-groups.js";
export {
  CURSORS_STREAM,
  type CursorCallOptions,
  CursorManager,
  type CursorsHost,
  type CursorsLog,
  type CursorsOptions,
  type CursorsRawBatch,
  cursorKey,
  cursorsPartitionOf,
  DEFAULT_CURSORS_CACHE_SIZE,
  DEFAULT_CURSORS_TIMEOUT_MS,
  type FetchCursorInput,
  LATE_ACK_WAIT_MS,
  type PendingAck,
  type ResolvedCursorsOptions,
  resolveCursorsOptions,
  type SetCursorInput,
} from "./cursors.js";
export { AssertionError, BrokerError, BrokerErrorCode, isBrokerError } from "./errors.js";
export { type Logger, noopLogger } from "./logger.js";
export type {
  ApplyResult,
  EventTimestamps,
  MetadataOp,
  PartitionState,
  StreamConfig,
  StreamState,
} from "./metadata.js";
export {
  fromNatsJs,
  type NatsConnection,
  type NatsJsConnectionLike,
  type NatsMessage,
  type NatsSubscribeOptions,
  type NatsSubscriptionHandle,
} from "./nats.js";
export type { StreamDefaults } from "./partition.js";
export { type Broker, type StartBrokerOptions, startBroker } from "./serve.js";
export { isValidStreamSubject, newId, partitionSubject, streamDirName } from "./util.js";
