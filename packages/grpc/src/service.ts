/**
 * One RPC method of a service: its HTTP/2 path, its streaming shape and its message codecs.
 *
 * This is @grpc/grpc-js's `MethodDefinition` shape, so one generated definition object serves both this
 * package and grpc-js (interop tests use exactly that). Serializers are supplied by the caller (protobufjs
 * or hand-written code); this package never looks inside a message.
 *
 * `ReqInit`/`ResInit` are what the serializers accept when that is wider than what the deserializers
 * produce (e.g. a protobuf codec that encodes partial messages): clients send `ReqInit` and receive
 * `Res`, handlers receive `Req` and return `ResInit`. Declare `requestStream`/`responseStream` with
 * literal types (`as const`) so {@link Client} and `ServiceHandlers` pick each method's call kind.
 */
export interface MethodDefinition<Req, Res, ReqInit = Req, ResInit = Res> {
  /** `/package.Service/Method`. */
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize(value: ReqInit): Buffer;
  requestDeserialize(bytes: Buffer): Req;
  responseSerialize(value: ResInit): Buffer;
  responseDeserialize(bytes: Buffer): Res;
  /**
   * Optional fast path of the client: decodes the (uncompressed) response at `buf[start..end)` without
   * a `subarray` per message. Must return what `responseDeserialize(buf.subarray(start, end))` would.
   */
  responseDeserializeRange?(buf: Buffer, start: number, end: number): Res;
  /** The method's name as written in the `.proto` file, when it differs from the definition key. */
  originalName?: string;
}

/** A service: method definitions by name (grpc-js `ServiceDefinition`). */
// biome-ignore lint/suspicious/noExplicitAny: message types vary per method; same as grpc-js's definition.
export type ServiceDefinition = { readonly [method: string]: MethodDefinition<any, any, any, any> };

/** The request type of a method definition (what its request deserializer produces). */
export type RequestOf<M> = M extends { requestDeserialize(bytes: Buffer): infer Req } ? Req : never;
/** The response type of a method definition (what its response deserializer produces). */
export type ResponseOf<M> = M extends { responseDeserialize(bytes: Buffer): infer Res } ? Res : never;
/** What a client sends for a method definition (what its request serializer accepts). */
export type RequestInitOf<M> = M extends { requestSerialize(value: infer Req): Buffer } ? Req : never;
/** What a handler returns for a method definition (what its response serializer accepts). */
export type ResponseInitOf<M> = M extends { responseSerialize(value: infer Res): Buffer } ? Res : never;
