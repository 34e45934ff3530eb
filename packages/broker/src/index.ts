/**
 * @liftbridge/broker: a Liftbridge server core. Metadata is a Raft FSM (a cluster of one here),
 * partitions are commit logs under `data.dir`, leaders ingest NATS messages (enveloped or plain) in
 * per-turn batches and ack by policy, and the `proto.API` gRPC service is served on @liftbridge/grpc.
 * @packageDocumentation
 */
export { createApiHandlers, MAX_PARTITIONS } from "./api-service.js";
export {
  type AckListener,
  BrokerCore,
  type BrokerOptions,
  DEFAULT_STREAM_DEFAULTS,
  type ResolvedBrokerOptions,
  resolveBrokerOptions,
} from "./broker.js";
export type { ServerInfo } from "./cluster-membership.js";
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
