import { type Channel, Http2Channel } from "./channel.js";
import {
  type CallOptions,
  ClientCallImpl,
  type ClientDuplexCall,
  type ClientReadableCall,
  type ClientWritableCall,
} from "./client-call.js";
import type { Metadata } from "./metadata.js";
import type { MethodDefinition, RequestInitOf, ResponseOf, ServiceDefinition } from "./service.js";

/** Per-call options of a unary call: {@link CallOptions} plus metadata callbacks. */
export interface UnaryCallOptions extends CallOptions {
  /** Called with the response header metadata. */
  readonly onHeader?: (metadata: Metadata) => void;
  /** Called with the trailing metadata (also for a failed call). */
  readonly onTrailer?: (metadata: Metadata) => void;
}

/** A unary method: resolves with the response, rejects with a {@link GrpcError}. */
export type UnaryMethod<Req, Res> = (request: Req, options?: UnaryCallOptions) => Promise<Res>;
/** A server-streaming method. */
export type ServerStreamingMethod<Req, Res> = (
  request: Req,
  options?: CallOptions,
) => ClientReadableCall<Res>;
/** A client-streaming method. */
export type ClientStreamingMethod<Req, Res> = (options?: CallOptions) => ClientWritableCall<Req, Res>;
/** A bidirectional-streaming method. */
export type BidiStreamingMethod<Req, Res> = (options?: CallOptions) => ClientDuplexCall<Req, Res>;

/** The client method type matching one method definition's streaming shape. */
export type ClientMethodFor<M> = M extends { requestStream: true; responseStream: true }
  ? BidiStreamingMethod<RequestInitOf<M>, ResponseOf<M>>
  : M extends { requestStream: true; responseStream: false }
    ? ClientStreamingMethod<RequestInitOf<M>, ResponseOf<M>>
    : M extends { requestStream: false; responseStream: true }
      ? ServerStreamingMethod<RequestInitOf<M>, ResponseOf<M>>
      : M extends { requestStream: false; responseStream: false }
        ? UnaryMethod<RequestInitOf<M>, ResponseOf<M>>
        : (...args: unknown[]) => unknown;

/** A typed client: one method per key of the service definition. */
export type Client<S extends ServiceDefinition> = { readonly [K in keyof S]: ClientMethodFor<S[K]> };

/**
 * Creates a typed client for `definition` on `channel` (from {@link connect}). Methods are named by the
 * definition's keys. Throws `TypeError` when `channel` did not come from this package's `connect`.
 */
export function createClient<S extends ServiceDefinition>(definition: S, channel: Channel): Client<S> {
  if (!(channel instanceof Http2Channel)) throw new TypeError("channel must come from connect()");
  const client: Record<string, unknown> = {};
  for (const key of Object.keys(definition)) {
    client[key] = makeMethod(channel, definition[key] as MethodDefinition<unknown, unknown>);
  }
  return client as Client<S>;
}

function makeMethod(channel: Http2Channel, method: MethodDefinition<unknown, unknown>): unknown {
  if (!method.requestStream && !method.responseStream) {
    return (request: unknown, options: UnaryCallOptions = {}): Promise<unknown> => {
      const call = new ClientCallImpl(channel, method, options);
      if (options.onHeader !== undefined) void call.headers.then(options.onHeader);
      if (options.onTrailer !== undefined) void call.trailers.then(options.onTrailer);
      call.send(request);
      call.end();
      return call.response;
    };
  }
  if (!method.requestStream) {
    return (request: unknown, options: CallOptions = {}): ClientReadableCall<unknown> => {
      const call = new ClientCallImpl(channel, method, options);
      call.send(request);
      call.end();
      return call;
    };
  }
  return (options: CallOptions = {}) => new ClientCallImpl(channel, method, options);
}
