/**
 * @liftbridge/client: the TypeScript client for Liftbridge, mirroring go-liftbridge v2 with TypeScript
 * idioms (async iterators, AbortSignal, typed errors).
 * @packageDocumentation
 */
export { type Client, connect } from "./client.js";
export type { AutoOffset, Consumer, ConsumerHandler, ConsumerOptions } from "./consumer.js";
export { crc32 } from "./crc32.js";
export { type EnvelopeMessageOptions, newMessage, unmarshalAck, unmarshalMessage } from "./envelope.js";
export { isLiftbridgeError, LiftbridgeError, LiftbridgeErrorCode } from "./errors.js";
export { codeForStatus, fromGrpcError } from "./grpc-status.js";
export type {
  BrokerInfo,
  ConsumerGroupInfo,
  Metadata,
  PartitionEventTimestamps,
  PartitionInfo,
  StreamInfo,
} from "./metadata.js";
export {
  type AckPolicyName,
  type CallOptions,
  type ClientOptions,
  DEFAULT_ACK_WAIT_TIME_MS,
  DEFAULT_KEEPALIVE_TIME_MS,
  DEFAULT_RESUBSCRIBE_WAIT_TIME_MS,
  type Logger,
  MAX_REPLICATION_FACTOR,
  type MessageOptions,
  type MetadataOptions,
  noopLogger,
  type Partitioner,
  type PauseOptions,
  type ReadonlyOptions,
  type ResolvedClientOptions,
  resolveClientOptions,
  type ServerSelection,
  type StartAt,
  type StopAt,
  type StreamOptions,
} from "./options.js";
export type { Ack, AckHandler } from "./publisher.js";
export type { Message, SubscribeOptions, Subscription } from "./subscription.js";
