import {
  createServer as createH2cServer,
  createSecureServer,
  type Http2SecureServer,
  type Http2Server,
  constants as h2,
  type IncomingHttpHeaders,
  type SecureServerOptions,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { ACCEPT_ENCODING, decompressMessage, isSupportedEncoding } from "./compression.js";
import { GrpcError } from "./errors.js";
import { DEFAULT_MAX_MESSAGE_BYTES, MessageDecoder } from "./framing.js";
import { encodeGrpcMessage } from "./grpc-message.js";
import { parseGrpcTimeout } from "./grpc-timeout.js";
import { type Logger, noopLogger } from "./logger.js";
import { metadataFromRawHeaders } from "./metadata.js";
import {
  type ServerCall,
  ServerCallImpl,
  type ServerCallSettings,
  type ServerDuplexCall,
  type ServerReadableCall,
  type ServerWritableCall,
} from "./server-call.js";
import type { MethodDefinition, RequestOf, ResponseInitOf, ServiceDefinition } from "./service.js";
import { Status } from "./status.js";

/** A reset arriving this close to the deadline is taken as the client's deadline firing. */
const DEADLINE_SLACK_MS = 50;

/** A unary handler: one request in, one response out (return it, or throw a {@link GrpcError}). */
export type UnaryHandler<Req, Res> = (request: Req, call: ServerCall) => Res | Promise<Res>;
/**
 * A server-streaming handler. Either send with `call.send`/`call.write` and resolve when done, or return
 * an async iterable (e.g. an `async function*`) whose items are sent with backpressure.
 */
export type ServerStreamingHandler<Req, Res> = (
  request: Req,
  call: ServerWritableCall<Res>,
) => void | Promise<void> | AsyncIterable<Res>;
/** A client-streaming handler: read the requests from `call`, return the one response. */
export type ClientStreamingHandler<Req, Res> = (call: ServerReadableCall<Req>) => Res | Promise<Res>;
/**
 * A bidirectional handler: read from `call` (iteration or `onMessage`), send with `call.send`; the call
 * ends with OK when the returned promise resolves (or the returned async iterable is exhausted).
 */
export type BidiStreamingHandler<Req, Res> = (
  call: ServerDuplexCall<Req, Res>,
) => void | Promise<void> | AsyncIterable<Res>;

/** The handler type matching one method definition's streaming shape. */
export type HandlerFor<M> = M extends { requestStream: true; responseStream: true }
  ? BidiStreamingHandler<RequestOf<M>, ResponseInitOf<M>>
  : M extends { requestStream: true; responseStream: false }
    ? ClientStreamingHandler<RequestOf<M>, ResponseInitOf<M>>
    : M extends { requestStream: false; responseStream: true }
      ? ServerStreamingHandler<RequestOf<M>, ResponseInitOf<M>>
      : M extends { requestStream: false; responseStream: false }
        ? UnaryHandler<RequestOf<M>, ResponseInitOf<M>>
        : AnyHandler<RequestOf<M>, ResponseInitOf<M>>;

/** Any of the four handler kinds (used when a definition's streaming flags are plain booleans). */
export type AnyHandler<Req, Res> =
  | UnaryHandler<Req, Res>
  | ServerStreamingHandler<Req, Res>
  | ClientStreamingHandler<Req, Res>
  | BidiStreamingHandler<Req, Res>;

/** Handlers for every method of a service definition, by the definition's keys. */
export type ServiceHandlers<S extends ServiceDefinition> = { readonly [K in keyof S]: HandlerFor<S[K]> };

/** TLS settings of a secure server; set `ca` and `requestCert: true` for mutual TLS. */
export type ServerTlsOptions = Pick<
  SecureServerOptions,
  | "key"
  | "cert"
  | "ca"
  | "pfx"
  | "passphrase"
  | "requestCert"
  | "rejectUnauthorized"
  | "minVersion"
  | "ciphers"
>;

/** Keepalive settings of a server. */
export interface ServerKeepaliveOptions {
  /** Send a PING on every connection this often; 0 (default) disables server pings. */
  readonly pingIntervalMs?: number;
  /** Close a connection whose PING is not acknowledged within this time. Default 20 000. */
  readonly pingTimeoutMs?: number;
  /**
   * Ping limit: a client may send on average one PING per this interval, with bursts of
   * {@link maxPingStrikes} more; beyond that the connection gets GOAWAY(ENHANCE_YOUR_CALM,
   * "too_many_pings") and is closed (in the spirit of grpc-go's enforcement policy). A token bucket
   * rather than a per-gap rule, so that PINGs queued while this process was busy and read in one go
   * are not mistaken for a flood. Default 100 ms, which tolerates every common client setting;
   * 0 disables the limit.
   */
  readonly minPeerPingIntervalMs?: number;
  /** Burst of PINGs allowed above the average rate. Default 10. */
  readonly maxPingStrikes?: number;
}

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** Serve TLS (ALPN h2) instead of cleartext HTTP/2 (h2c). */
  readonly tls?: ServerTlsOptions;
  /** Largest request message accepted, after decompression. Default 4 MiB. */
  readonly maxReceiveMessageBytes?: number;
  /** Largest response message sent. Default 4 MiB. */
  readonly maxSendMessageBytes?: number;
  /** HTTP/2 stream flow-control window announced to clients. Default 1 MiB. */
  readonly initialStreamWindowBytes?: number;
  /** HTTP/2 connection flow-control window. Default 16 MiB. */
  readonly connectionWindowBytes?: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS. Default 1000. */
  readonly maxConcurrentStreams?: number;
  /** Largest header list (metadata) accepted. Default 16 KiB. */
  readonly maxHeaderListBytes?: number;
  /** Request messages buffered per call before the stream is paused. Default 256. */
  readonly maxBufferedRequests?: number;
  /** Delay between a deadline firing and its RST_STREAM(CANCEL). Default 20 ms (spec §4 bug 3). */
  readonly deadlineRstGraceMs?: number;
  readonly keepalive?: ServerKeepaliveOptions;
  readonly logger?: Logger;
}

/** Options of {@link GrpcServer.close}. */
export interface ServerCloseOptions {
  /**
   * How long in-flight calls may run after GOAWAY before they are cancelled and their connections
   * destroyed. Default 5000 ms; 0 cancels at once.
   */
  readonly graceMs?: number;
}

/**
 * A gRPC server on node:http2.
 *
 * Concurrency: `addService` may be called before or after `listen`. `close` is idempotent.
 */
export interface GrpcServer {
  /**
   * Registers the handlers of a service. Throws `TypeError` when a method has no handler or a path is
   * already registered.
   */
  addService<S extends ServiceDefinition>(definition: S, handlers: ServiceHandlers<S>): void;
  /** Starts listening; resolves with the bound port (pass 0 for an ephemeral port). */
  listen(port: number, host?: string): Promise<number>;
  /** The bound address once listening. */
  readonly address: AddressInfo | undefined;
  /**
   * Graceful shutdown: stops accepting connections, sends GOAWAY on every connection, lets in-flight
   * calls finish for `graceMs`, then cancels the rest (their handlers' signals abort with CANCELLED) and
   * destroys the connections. Resolves when everything is closed.
   */
  close(options?: ServerCloseOptions): Promise<void>;
  /** Resolves (never rejects) once the server is closed; with the error that closed it, if any. */
  readonly closed: Promise<Error | undefined>;
  /** Number of calls in progress. */
  readonly activeCalls: number;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Every option of {@link ServerOptions}, defaults applied. */
export interface ResolvedServerOptions {
  readonly tls: ServerTlsOptions | undefined;
  readonly maxReceiveMessageBytes: number;
  readonly maxSendMessageBytes: number;
  readonly initialStreamWindowBytes: number;
  readonly connectionWindowBytes: number;
  readonly maxConcurrentStreams: number;
  readonly maxHeaderListBytes: number;
  readonly maxBufferedRequests: number;
  readonly deadlineRstGraceMs: number;
  readonly keepalive: Required<ServerKeepaliveOptions>;
  readonly logger: Logger;
}

/** Applies the defaults to {@link ServerOptions}; throws `RangeError` on an invalid value. */
export function resolveServerOptions(options: ServerOptions = {}): ResolvedServerOptions {
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const v = value ?? fallback;
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer`);
    return v;
  };
  return {
    tls: options.tls,
    maxReceiveMessageBytes: positive(
      "maxReceiveMessageBytes",
      options.maxReceiveMessageBytes,
      DEFAULT_MAX_MESSAGE_BYTES,
    ),
    maxSendMessageBytes: positive(
      "maxSendMessageBytes",
      options.maxSendMessageBytes,
      DEFAULT_MAX_MESSAGE_BYTES,
    ),
    initialStreamWindowBytes: positive("initialStreamWindowBytes", options.initialStreamWindowBytes, 1 << 20),
    connectionWindowBytes: positive("connectionWindowBytes", options.connectionWindowBytes, 16 << 20),
    maxConcurrentStreams: positive("maxConcurrentStreams", options.maxConcurrentStreams, 1000),
    maxHeaderListBytes: positive("maxHeaderListBytes", options.maxHeaderListBytes, 16 * 1024),
    maxBufferedRequests: Math.max(1, positive("maxBufferedRequests", options.maxBufferedRequests, 256)),
    deadlineRstGraceMs: positive("deadlineRstGraceMs", options.deadlineRstGraceMs, 20),
    keepalive: {
      pingIntervalMs: positive("keepalive.pingIntervalMs", options.keepalive?.pingIntervalMs, 0),
      pingTimeoutMs: positive("keepalive.pingTimeoutMs", options.keepalive?.pingTimeoutMs, 20_000),
      minPeerPingIntervalMs: positive(
        "keepalive.minPeerPingIntervalMs",
        options.keepalive?.minPeerPingIntervalMs,
        100,
      ),
      maxPingStrikes: positive("keepalive.maxPingStrikes", options.keepalive?.maxPingStrikes, 10),
    },
    logger: options.logger ?? noopLogger,
  };
}

/**
 * Creates a gRPC server (not yet listening). Cleartext HTTP/2 with prior knowledge (h2c), or TLS with
 * ALPN `h2` when `tls` is given.
 */
export function createServer(options: ServerOptions = {}): GrpcServer {
  return new NodeGrpcServer(resolveServerOptions(options));
}

// biome-ignore lint/suspicious/noExplicitAny: registered methods have heterogeneous message types.
type AnyMethod = MethodDefinition<any, any>;
// biome-ignore lint/suspicious/noExplicitAny: see above.
type AnyCall = ServerCallImpl<any, any>;

interface Route {
  readonly method: AnyMethod;
  // biome-ignore lint/suspicious/noExplicitAny: see above.
  readonly handler: AnyHandler<any, any>;
}

/** The node:http2 implementation of {@link GrpcServer}. @internal */
export class NodeGrpcServer implements GrpcServer {
  readonly #options: ResolvedServerOptions;
  readonly #log: Logger;
  readonly #routes = new Map<string, Route>();
  readonly #http2: Http2Server | Http2SecureServer;
  readonly #sessions = new Set<ServerHttp2Session>();
  readonly #calls = new Set<AnyCall>();
  readonly #callSettings: ServerCallSettings;
  #closing: Promise<void> | undefined;
  #resolveClosed!: (e: Error | undefined) => void;
  readonly closed: Promise<Error | undefined>;

  constructor(options: ResolvedServerOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: "grpc-server" });
    this.#callSettings = {
      maxSendMessageBytes: options.maxSendMessageBytes,
      maxBufferedRequests: options.maxBufferedRequests,
      rstGraceMs: options.deadlineRstGraceMs,
    };
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    const h2Options = {
      settings: {
        initialWindowSize: options.initialStreamWindowBytes,
        maxConcurrentStreams: options.maxConcurrentStreams,
        maxHeaderListSize: options.maxHeaderListBytes,
        enablePush: false,
      },
      maxHeaderListPairs: 256,
      // node's default (10 MB) refuses streams under load; grpc-js sets it to "unlimited".
      maxSessionMemory: 1024,
    };
    this.#http2 =
      options.tls === undefined
        ? createH2cServer(h2Options)
        : createSecureServer({ ...h2Options, ...options.tls, allowHTTP1: false });
    // Both server kinds emit the same events; type them through the cleartext one.
    const events = this.#http2 as Http2Server;
    events.on("session", (session) => this.#onSession(session));
    // The fourth argument, rawHeaders, keeps duplicate metadata values apart (missing from @types/node).
    events.on(
      "stream" as string,
      (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) =>
        this.#onStream(stream, headers, rawHeaders),
    );
    events.on("sessionError", (err) => this.#log.debug({ err }, "session error"));
    // Errors after listen() resolved (listen's own errors reject it) must not crash the process.
    events.on("error", (err) => this.#log.error({ err }, "server error"));
    // A TLS client that did not negotiate h2 through ALPN: drop it (gRPC requires h2).
    this.#http2.on("unknownProtocol", (socket) => socket.destroy());
  }

  get address(): AddressInfo | undefined {
    const a = this.#http2.address();
    return a !== null && typeof a === "object" ? a : undefined;
  }

  get activeCalls(): number {
    return this.#calls.size;
  }

  addService<S extends ServiceDefinition>(definition: S, handlers: ServiceHandlers<S>): void {
    const added: [string, Route][] = [];
    for (const key of Object.keys(definition)) {
      const method = definition[key] as AnyMethod;
      const handler =
        (handlers as Record<string, unknown>)[key] ??
        (method.originalName === undefined
          ? undefined
          : (handlers as Record<string, unknown>)[method.originalName]);
      if (typeof handler !== "function") throw new TypeError(`no handler for method ${key} (${method.path})`);
      if (this.#routes.has(method.path)) throw new TypeError(`method ${method.path} is already registered`);
      // biome-ignore lint/suspicious/noExplicitAny: see AnyMethod.
      added.push([method.path, { method, handler: handler as AnyHandler<any, any> }]);
    }
    for (const [path, route] of added) this.#routes.set(path, route);
  }

  listen(port: number, host?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#http2.once("error", onError);
      const done = (): void => {
        this.#http2.off("error", onError);
        this.#log.info({ port: this.address?.port }, "listening");
        resolve(this.address?.port ?? port);
      };
      if (host === undefined) this.#http2.listen(port, done);
      else this.#http2.listen(port, host, done);
    });
  }

  close(options: ServerCloseOptions = {}): Promise<void> {
    this.#closing ??= this.#shutdown(options.graceMs ?? 5000);
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #shutdown(graceMs: number): Promise<void> {
    const serverClosed = new Promise<void>((resolve) => {
      if (!this.#http2.listening) resolve();
      else this.#http2.close(() => resolve());
    });
    for (const session of this.#sessions) if (!session.closed && !session.destroyed) session.close();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([serverClosed, expired]);
    clearTimeout(timer);
    if (this.#sessions.size > 0 || this.#calls.size > 0) {
      const reason = new GrpcError(Status.CANCELLED, "server shutting down");
      for (const call of [...this.#calls]) call.cancel(reason, h2.NGHTTP2_CANCEL);
      for (const session of [...this.#sessions]) session.destroy();
      await serverClosed;
    }
    this.#log.info({}, "closed");
    this.#resolveClosed(undefined);
  }

  #onSession(session: ServerHttp2Session): void {
    this.#sessions.add(session);
    const keepalive = this.#options.keepalive;
    let pingTimer: NodeJS.Timeout | undefined;
    session.on("error", (err) => this.#log.debug({ err }, "connection error"));
    session.once("close", () => {
      this.#sessions.delete(session);
      if (pingTimer !== undefined) clearInterval(pingTimer);
    });
    if (this.#options.connectionWindowBytes > 65_535) {
      try {
        session.setLocalWindowSize(this.#options.connectionWindowBytes);
      } catch (err) {
        this.#log.debug({ err }, "cannot set connection window");
      }
    }
    if (keepalive.pingIntervalMs > 0) {
      pingTimer = setInterval(() => this.#ping(session, keepalive.pingTimeoutMs), keepalive.pingIntervalMs);
      pingTimer.unref();
    }
    if (keepalive.minPeerPingIntervalMs > 0) {
      const capacity = keepalive.maxPingStrikes + 1;
      let tokens = capacity;
      let last = Date.now();
      session.on("ping", () => {
        const now = Date.now();
        tokens = Math.min(capacity, tokens + (now - last) / keepalive.minPeerPingIntervalMs) - 1;
        last = now;
        if (tokens < 0 && !session.closed) {
          this.#log.warn({}, "too many pings");
          session.goaway(h2.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from("too_many_pings"));
          session.close();
        }
      });
    }
  }

  #ping(session: ServerHttp2Session, timeoutMs: number): void {
    if (session.closed || session.destroyed) return;
    const timer = setTimeout(() => {
      this.#log.info({}, "keepalive ping timed out");
      session.destroy();
    }, timeoutMs);
    timer.unref();
    try {
      session.ping((err) => {
        clearTimeout(timer);
        if (err !== null) this.#log.debug({ err }, "ping failed");
      });
    } catch (err) {
      clearTimeout(timer);
      this.#log.debug({ err }, "ping failed");
    }
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]): void {
    // Errors (RST from the client, connection loss) surface through 'close'.
    stream.on("error", () => {});
    const method = headers[":method"];
    const contentType = headers["content-type"] ?? "";
    if (method !== "POST") {
      stream.respond({ ":status": 405, allow: "POST" }, { endStream: true });
      return;
    }
    if (
      !(
        contentType === "application/grpc" ||
        contentType.startsWith("application/grpc+") ||
        contentType.startsWith("application/grpc;")
      )
    ) {
      stream.respond({ ":status": 415, "content-type": "text/plain" }, { endStream: true });
      return;
    }
    const path = headers[":path"] ?? "";
    const route = this.#routes.get(path);
    if (route === undefined) {
      respondTrailersOnly(stream, Status.UNIMPLEMENTED, `unknown method ${path}`);
      return;
    }
    const encoding = firstHeader(headers, "grpc-encoding");
    if (encoding !== undefined && !isSupportedEncoding(encoding)) {
      respondTrailersOnly(stream, Status.UNIMPLEMENTED, `unsupported grpc-encoding ${encoding}`);
      return;
    }
    let timeoutMs: number | undefined;
    const timeoutHeader = firstHeader(headers, "grpc-timeout");
    if (timeoutHeader !== undefined) {
      timeoutMs = parseGrpcTimeout(timeoutHeader);
      if (timeoutMs === undefined) {
        respondTrailersOnly(stream, Status.INTERNAL, `malformed grpc-timeout ${timeoutHeader}`);
        return;
      }
    }
    if (this.#closing !== undefined) {
      respondTrailersOnly(stream, Status.UNAVAILABLE, "server shutting down");
      return;
    }
    const call: AnyCall = new ServerCallImpl(
      stream,
      path,
      metadataFromRawHeaders(rawHeaders),
      route.method,
      this.#callSettings,
    );
    this.#calls.add(call);
    call.onDone = (c) => this.#calls.delete(c);
    if (timeoutMs !== undefined) call.armDeadline(timeoutMs);
    stream.once("close", () => {
      if (call.isDone) return;
      const rst = stream.rstCode;
      // A client whose own deadline timer fired resets the stream just before ours would fire: report it
      // to the handler as the deadline it is.
      if (Date.now() >= call.deadline - DEADLINE_SLACK_MS) {
        call.cancel(new GrpcError(Status.DEADLINE_EXCEEDED, "deadline exceeded"));
        return;
      }
      call.cancel(
        new GrpcError(
          Status.CANCELLED,
          rst === h2.NGHTTP2_CANCEL || rst === h2.NGHTTP2_NO_ERROR
            ? "cancelled by client"
            : `stream closed (RST_STREAM ${rst})`,
        ),
      );
    });
    this.#readRequests(stream, call, route, encoding);
  }

  #readRequests(stream: ServerHttp2Stream, call: AnyCall, route: Route, encoding: string | undefined): void {
    const { method } = route;
    const maxBytes = this.#options.maxReceiveMessageBytes;
    const decoder = new MessageDecoder(maxBytes);
    const single = !method.requestStream;
    let count = 0;
    let request: unknown;
    const onMessage = (payload: Buffer, compressed: boolean): void => {
      if (call.isDone) return;
      const bytes = compressed ? decompressMessage(encoding, payload, maxBytes) : payload;
      let message: unknown;
      try {
        message = method.requestDeserialize(bytes);
      } catch (e) {
        throw new GrpcError(Status.INTERNAL, "cannot deserialize request", undefined, { cause: e });
      }
      if (single) {
        if (++count > 1)
          throw new GrpcError(Status.INTERNAL, "more than one request message for a unary request");
        request = message;
      } else {
        call.deliver(message);
      }
    };
    stream.on("data", (chunk: Buffer) => {
      if (call.isDone) return;
      try {
        decoder.push(chunk, onMessage);
      } catch (e) {
        call.fail(e);
      }
    });
    stream.once("end", () => {
      if (call.isDone) return;
      if (decoder.pendingBytes > 0) {
        call.fail(new GrpcError(Status.INTERNAL, "request stream ended inside a message (truncated frame)"));
        return;
      }
      if (!single) {
        call.halfClose();
        return;
      }
      if (count !== 1) {
        call.fail(new GrpcError(Status.INTERNAL, "no request message for a unary request"));
        return;
      }
      call.halfClose();
      this.#run(call, route, request);
    });
    if (!single) this.#run(call, route, undefined);
  }

  #run(call: AnyCall, route: Route, request: unknown): void {
    const { method, handler } = route;
    let result: unknown;
    try {
      if (!method.requestStream) {
        result = (handler as (r: unknown, c: AnyCall) => unknown)(request, call);
      } else {
        result = (handler as (c: AnyCall) => unknown)(call);
      }
    } catch (e) {
      call.fail(e);
      return;
    }
    if (!method.responseStream) {
      Promise.resolve(result).then(
        (response) => {
          if (call.isDone) return;
          call.send(response);
          call.finishOk();
        },
        (e: unknown) => call.fail(e),
      );
      return;
    }
    if (isAsyncIterable(result)) {
      pump(call, result).then(
        () => call.finishOk(),
        (e: unknown) => call.fail(e),
      );
      return;
    }
    Promise.resolve(result).then(
      () => call.finishOk(),
      (e: unknown) => call.fail(e),
    );
  }
}

async function pump(call: AnyCall, source: AsyncIterable<unknown>): Promise<void> {
  for await (const item of source) {
    if (call.isDone) return;
    if (!call.send(item)) await call.drain();
    if (call.isDone) return;
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function"
  );
}

function firstHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function respondTrailersOnly(stream: ServerHttp2Stream, code: Status, message: string): void {
  stream.respond(
    {
      ":status": 200,
      "content-type": "application/grpc",
      "grpc-accept-encoding": ACCEPT_ENCODING,
      "grpc-status": String(code),
      "grpc-message": encodeGrpcMessage(message),
    },
    { endStream: true },
  );
  // Discard any request body, then reset if the client has not half-closed (early server closure).
  stream.resume();
  setImmediate(() => {
    if (!stream.readableEnded && !stream.destroyed && !stream.closed) stream.close(h2.NGHTTP2_NO_ERROR);
  });
}
