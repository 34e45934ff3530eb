import type * as A from "@liftbridge/api";
import { APIService, decodeSubscribeMessageRange } from "@liftbridge/api";
import {
  type BidiStreamingMethod,
  type Channel,
  createClient,
  type ServerStreamingMethod,
  type UnaryMethod,
} from "@liftbridge/grpc";

/**
 * The typed `proto.API` client used internally: requests take the encoder-input (`…Init`) shapes.
 * (`APIService`'s streaming flags are plain booleans, so `@liftbridge/grpc`'s `Client<S>` cannot infer
 * call kinds from it; this names them.)
 * @internal
 */
export interface Api {
  CreateStream: UnaryMethod<A.CreateStreamRequestInit, A.CreateStreamResponse>;
  DeleteStream: UnaryMethod<A.DeleteStreamRequestInit, A.DeleteStreamResponse>;
  PauseStream: UnaryMethod<A.PauseStreamRequestInit, A.PauseStreamResponse>;
  SetStreamReadonly: UnaryMethod<A.SetStreamReadonlyRequestInit, A.SetStreamReadonlyResponse>;
  Subscribe: ServerStreamingMethod<A.SubscribeRequestInit, A.Message>;
  FetchMetadata: UnaryMethod<A.FetchMetadataRequestInit, A.FetchMetadataResponse>;
  FetchPartitionMetadata: UnaryMethod<A.FetchPartitionMetadataRequestInit, A.FetchPartitionMetadataResponse>;
  Publish: UnaryMethod<A.PublishRequestInit, A.PublishResponse>;
  PublishAsync: BidiStreamingMethod<A.PublishRequestInit, A.PublishResponse>;
  PublishToSubject: UnaryMethod<A.PublishToSubjectRequestInit, A.PublishToSubjectResponse>;
  SetCursor: UnaryMethod<A.SetCursorRequestInit, A.SetCursorResponse>;
  FetchCursor: UnaryMethod<A.FetchCursorRequestInit, A.FetchCursorResponse>;
  JoinConsumerGroup: UnaryMethod<A.JoinConsumerGroupRequestInit, A.JoinConsumerGroupResponse>;
  LeaveConsumerGroup: UnaryMethod<A.LeaveConsumerGroupRequestInit, A.LeaveConsumerGroupResponse>;
  FetchConsumerGroupAssignments: UnaryMethod<
    A.FetchConsumerGroupAssignmentsRequestInit,
    A.FetchConsumerGroupAssignmentsResponse
  >;
  ReportConsumerGroupCoordinator: UnaryMethod<
    A.ReportConsumerGroupCoordinatorRequestInit,
    A.ReportConsumerGroupCoordinatorResponse
  >;
}

/** `APIService` with the range form of the Subscribe response decoder (no `subarray` per message). */
const CLIENT_SERVICE = {
  ...APIService,
  Subscribe: { ...APIService.Subscribe, responseDeserializeRange: decodeSubscribeMessageRange },
};

/** Creates the typed API client on `channel`. @internal */
export function createApi(channel: Channel): Api {
  return createClient(CLIENT_SERVICE, channel) as unknown as Api;
}
