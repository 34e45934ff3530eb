/**
 * gRPC service definitions in the shape grpc-js (and `@liftbridge/grpc`) consume.
 * @module
 */
import * as api from "./gen/api.js";
import { APIMethods } from "./gen/api.js";
import * as health from "./gen/health.js";
import { HealthMethods } from "./gen/health.js";
import { decodeSubscribeMessage } from "./subscribe-decoder.js";
import type { MessageCodec } from "./wire/codec.js";

/**
 * One RPC of a service: its HTTP/2 path, streaming flags and (de)serializers.
 *
 * This is the same contract as `@liftbridge/grpc`'s `MethodDefinition` (and grpc-js's), declared
 * here so that `@liftbridge/api` does not depend on the transport; the two are structurally
 * identical, so `APIService` can be passed to either. Serializers accept the codec's `…Init`
 * shape (a partial message: what a client sends and a handler returns); deserializers return
 * complete messages (what a handler receives and a client gets back). The streaming flags are
 * literal types (`RS`, `SS`), so `@liftbridge/grpc`'s `createClient` and `ServiceHandlers` type
 * each RPC by its call kind. Deserializers throw `ApiError` (`malformed`, `out_of_range`) on bad
 * bytes.
 */
export interface MethodDefinition<
  Req,
  Res,
  ReqInit = Req,
  ResInit = Res,
  RS extends boolean = boolean,
  SS extends boolean = boolean,
> {
  path: string;
  requestStream: RS;
  responseStream: SS;
  requestSerialize(value: ReqInit): Buffer;
  requestDeserialize(bytes: Buffer): Req;
  responseSerialize(value: ResInit): Buffer;
  responseDeserialize(bytes: Buffer): Res;
  originalName?: string;
}

function define<Req, ReqInit, Res, ResInit, RS extends boolean, SS extends boolean>(
  meta: {
    readonly path: string;
    readonly requestStream: RS;
    readonly responseStream: SS;
    readonly name: string;
  },
  req: MessageCodec<Req, ReqInit>,
  res: MessageCodec<Res, ResInit>,
): MethodDefinition<Req, Res, ReqInit, ResInit, RS, SS> {
  return {
    path: meta.path,
    requestStream: meta.requestStream,
    responseStream: meta.responseStream,
    requestSerialize: (value) => req.encode(value),
    requestDeserialize: (bytes) => req.decode(bytes),
    responseSerialize: (value) => res.encode(value),
    responseDeserialize: (bytes) => res.decode(bytes),
    originalName: meta.name.charAt(0).toLowerCase() + meta.name.slice(1),
  };
}

type ApiMethodMeta = (typeof APIMethods)[number];
/** The generated metadata of one API RPC, with its literal streaming flags. */
const m = <N extends ApiMethodMeta["name"]>(name: N) =>
  APIMethods.find((x) => x.name === name) as Extract<ApiMethodMeta, { name: N }>;

/**
 * The Liftbridge `proto.API` service: all 16 RPCs of spec §2.2, keyed by RPC name
 * (`originalName` is the lowerCamel name, as @grpc/proto-loader builds them). Paths are
 * `/proto.API/<Rpc>`; `Subscribe` is server streaming and `PublishAsync` bidirectional.
 */
export const APIService = {
  CreateStream: define(m("CreateStream"), api.CreateStreamRequest, api.CreateStreamResponse),
  DeleteStream: define(m("DeleteStream"), api.DeleteStreamRequest, api.DeleteStreamResponse),
  PauseStream: define(m("PauseStream"), api.PauseStreamRequest, api.PauseStreamResponse),
  SetStreamReadonly: define(
    m("SetStreamReadonly"),
    api.SetStreamReadonlyRequest,
    api.SetStreamReadonlyResponse,
  ),
  // Subscribe responses: the tuned decoder (same result as `Message.decode`), readers' hot path.
  Subscribe: {
    ...define(m("Subscribe"), api.SubscribeRequest, api.Message),
    responseDeserialize: decodeSubscribeMessage,
  },
  FetchMetadata: define(m("FetchMetadata"), api.FetchMetadataRequest, api.FetchMetadataResponse),
  FetchPartitionMetadata: define(
    m("FetchPartitionMetadata"),
    api.FetchPartitionMetadataRequest,
    api.FetchPartitionMetadataResponse,
  ),
  Publish: define(m("Publish"), api.PublishRequest, api.PublishResponse),
  PublishAsync: define(m("PublishAsync"), api.PublishRequest, api.PublishResponse),
  PublishToSubject: define(m("PublishToSubject"), api.PublishToSubjectRequest, api.PublishToSubjectResponse),
  SetCursor: define(m("SetCursor"), api.SetCursorRequest, api.SetCursorResponse),
  FetchCursor: define(m("FetchCursor"), api.FetchCursorRequest, api.FetchCursorResponse),
  JoinConsumerGroup: define(
    m("JoinConsumerGroup"),
    api.JoinConsumerGroupRequest,
    api.JoinConsumerGroupResponse,
  ),
  LeaveConsumerGroup: define(
    m("LeaveConsumerGroup"),
    api.LeaveConsumerGroupRequest,
    api.LeaveConsumerGroupResponse,
  ),
  FetchConsumerGroupAssignments: define(
    m("FetchConsumerGroupAssignments"),
    api.FetchConsumerGroupAssignmentsRequest,
    api.FetchConsumerGroupAssignmentsResponse,
  ),
  ReportConsumerGroupCoordinator: define(
    m("ReportConsumerGroupCoordinator"),
    api.ReportConsumerGroupCoordinatorRequest,
    api.ReportConsumerGroupCoordinatorResponse,
  ),
} as const satisfies Record<(typeof APIMethods)[number]["name"], MethodDefinition<unknown, unknown>>;

/** The type of {@link APIService}. */
export type APIServiceDefinition = typeof APIService;

/** Fully qualified name of the Liftbridge service: `proto.API`. */
export const API_SERVICE_NAME = "proto.API";

/**
 * The service name Liftbridge registers with the standard gRPC health service (upstream
 * server HEAD hard-codes and tests `"proto.API"`, spec §0.1). Health clients ask
 * `grpc.health.v1.Health/Check` with `{ service: "proto.API" }` (or `""` for the server).
 */
export const HEALTH_SERVICE_NAME = "proto.API";

type HealthMethodMeta = (typeof HealthMethods)[number];
const h = <N extends HealthMethodMeta["name"]>(name: N) =>
  HealthMethods.find((x) => x.name === name) as Extract<HealthMethodMeta, { name: N }>;

/** The standard `grpc.health.v1.Health` service (`Check` unary, `Watch` server streaming). */
export const HealthService = {
  Check: define(h("Check"), health.HealthCheckRequest, health.HealthCheckResponse),
  Watch: define(h("Watch"), health.HealthCheckRequest, health.HealthCheckResponse),
} as const satisfies Record<(typeof HealthMethods)[number]["name"], MethodDefinition<unknown, unknown>>;
