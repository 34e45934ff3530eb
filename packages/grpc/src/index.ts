export {
  type Channel,
  type ChannelCloseOptions,
  type ChannelOptions,
  type ClientTlsOptions,
  connect,
  normalizeTarget,
  type ResolvedChannelOptions,
  resolveChannelOptions,
} from "./channel.js";
export {
  type BidiStreamingMethod,
  type Client,
  type ClientMethodFor,
  type ClientStreamingMethod,
  createClient,
  type ServerStreamingMethod,
  type UnaryCallOptions,
  type UnaryMethod,
} from "./client.js";
export type {
  CallOptions,
  ClientCallInfo,
  ClientDuplexCall,
  ClientReadable,
  ClientReadableCall,
  ClientWritable,
  ClientWritableCall,
} from "./client-call.js";
export { ACCEPT_ENCODING } from "./compression.js";
export { GrpcError, isGrpcError } from "./errors.js";
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  frameMessage,
  MESSAGE_PREFIX_BYTES,
  MessageDecoder,
  writeMessagePrefix,
} from "./framing.js";
export { decodeGrpcMessage, encodeGrpcMessage } from "./grpc-message.js";
export { formatGrpcTimeout, parseGrpcTimeout } from "./grpc-timeout.js";
export {
  createHealthService,
  decodeHealthCheckRequest,
  decodeHealthCheckResponse,
  encodeHealthCheckRequest,
  encodeHealthCheckResponse,
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthDefinition,
  type HealthService,
  ServingStatus,
} from "./health.js";
export { type Logger, noopLogger } from "./logger.js";
export {
  getMetadataValue,
  type Metadata,
  type MetadataInit,
  type MetadataValue,
  metadataFromRawHeaders,
  metadataToHeaders,
} from "./metadata.js";
export {
  type AnyHandler,
  type BidiStreamingHandler,
  type ClientStreamingHandler,
  createServer,
  type GrpcServer,
  type HandlerFor,
  type ResolvedServerOptions,
  resolveServerOptions,
  type ServerCloseOptions,
  type ServerKeepaliveOptions,
  type ServerOptions,
  type ServerStreamingHandler,
  type ServerTlsOptions,
  type ServiceHandlers,
  type UnaryHandler,
} from "./server.js";
export type {
  ServerCall,
  ServerDuplexCall,
  ServerReadableCall,
  ServerWritableCall,
  TlsPeer,
} from "./server-call.js";
export type {
  MethodDefinition,
  RequestInitOf,
  RequestOf,
  ResponseInitOf,
  ResponseOf,
  ServiceDefinition,
} from "./service.js";
export { isStatus, Status, statusFromHttp, statusFromRstCode, statusName } from "./status.js";
