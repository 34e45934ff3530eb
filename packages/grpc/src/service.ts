/**
 * One RPC method of a service: its HTTP/2 path, its streaming shape and its message codecs.
 *
 * This is @grpc/grpc-js's `MethodDefinition` shape, so one generated definition object serves both this
 * package and grpc-js (interop tests use exactly that). Serializers are supplied by the caller (protobufjs
 * or hand-written code); this package never looks inside a message.
 */
export interface MethodDefinition<Req, Res> {
  /** `/package.Service/Method`. */
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize(value: Req): Buffer;
  requestDeserialize(bytes: Buffer): Req;
  responseSerialize(value: Res): Buffer;
  responseDeserialize(bytes: Buffer): Res;
  /** The method's name as written in the `.proto` file, when it differs from the definition key. */
  originalName?: string;
}

/** A service: method definitions by name (grpc-js `ServiceDefinition`). */
// biome-ignore lint/suspicious/noExplicitAny: message types vary per method; same as grpc-js's definition.
export type ServiceDefinition = { readonly [method: string]: MethodDefinition<any, any> };

/** The request type of a method definition (what its request deserializer produces). */
export type RequestOf<M> = M extends { requestDeserialize(bytes: Buffer): infer Req } ? Req : never;
/** The response type of a method definition (what its response deserializer produces). */
export type ResponseOf<M> = M extends { responseDeserialize(bytes: Buffer): infer Res } ? Res : never;
