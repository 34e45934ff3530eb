/**
 * gRPC service definitions in the shape grpc-js (and `@liftbridge/grpc`) consume.
 * @module
 */
import * as api from "./gen/api.js";
import { APIMethods } from "./gen/api.js";
import * as health from "./gen/health.js";
import { HealthMethods } from "./gen/health.js";
import type { MessageCodec } from "./wire/codec.js";

/**
 * One RPC of a service: its HTTP/2 path, streaming flags and (de)serializers.
 *
 * This is the same contract as `@liftbridge/grpc`'s `MethodDefinition` (and grpc-js's), declared
 * here so that `@liftbridge/api` does not depend on the transport; the two are structurally
 * identical, so `APIService` can be passed to either. Serializers accept the codec's `…Init`
 * shape at run time (a partial message); deserializers return complete messages.
 * Deserializers throw `ApiError` (`malformed`, `out_of_range`) on bad bytes.
 */
export interface MethodDefinition<Req, Res> {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize(value: Req): Buffer;
  requestDeserialize(bytes: Buffer): Req;
  responseSerialize(value: Res): Buffer;
  responseDeserialize(bytes: Buffer): Res;
  originalName?: string;
}

function define<Req, ReqInit, Res, ResInit>(
  meta: {
    readonly path: string;
    readonly requestStream: boolean;
    readonly responseStream: boolean;
    readonly name: string;
  },
  req: MessageCodec<Req, ReqInit>,
  res: MessageCodec<Res, ResInit>,
): MethodDefinition<Req, Res> {
  return {
    path: meta.path,
    requestStream: meta.requestStream,
    responseStream: meta.responseStream,
    // A decoded message is also a valid encoder input (every Init field accepts the full type).
    requestSerialize: (value) => req.encode(value as unknown as ReqInit),
    requestDeserialize: (bytes) => req.decode(bytes),
    responseSerialize: (value) => res.encode(value as unknown as ResInit),
    responseDeserialize: (bytes) => res.decode(bytes),
    originalName: meta.name.charAt(0).toLowerCase() + meta.name.slice(1),
  };
}

const m = (name: (typeof APIMethods)[number]["name"]) => APIMethods.find((x) => x.name === name)!;

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
  Subscribe: define(m("Subscribe"), api.SubscribeRequest, api.Message),
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

const h = (name: (typeof HealthMethods)[number]["name"]) => HealthMethods.find((x) => x.name === name)!;

/** The standard `grpc.health.v1.Health` service (`Check` unary, `Watch` server streaming). */
export const HealthService = {
  Check: define(h("Check"), health.HealthCheckRequest, health.HealthCheckResponse),
  Watch: define(h("Watch"), health.HealthCheckRequest, health.HealthCheckResponse),
} as const satisfies Record<(typeof HealthMethods)[number]["name"], MethodDefinition<unknown, unknown>>;
