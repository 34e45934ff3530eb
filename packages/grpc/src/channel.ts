import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type ClientSessionOptions,
  connect as h2connect,
  type OutgoingHttpHeaders,
  type SecureClientSessionOptions,
} from "node:http2";
import type { Duplex } from "node:stream";
import { DEFAULT_MAX_MESSAGE_BYTES } from "./framing.js";
import { type Logger, noopLogger } from "./logger.js";

/** TLS settings of a client: `ca` to trust the server, `cert` + `key` for mutual TLS. */
export type ClientTlsOptions = Pick<
  SecureClientSessionOptions,
  | "ca"
  | "cert"
  | "key"
  | "pfx"
  | "passphrase"
  | "servername"
  | "rejectUnauthorized"
  | "minVersion"
  | "checkServerIdentity"
>;

/** Options of {@link connect}. */
export interface ChannelOptions {
  /** Use TLS (ALPN h2). `true` uses the system's trusted CAs. A `https://` target implies `true`. */
  readonly tls?: ClientTlsOptions | true;
  /** Largest response message accepted. Default 4 MiB. */
  readonly maxReceiveMessageBytes?: number;
  /** Largest request message sent. Default 4 MiB. */
  readonly maxSendMessageBytes?: number;
  /** HTTP/2 stream window announced to the server. Default 1 MiB. */
  readonly initialStreamWindowBytes?: number;
  /** HTTP/2 connection window. Default 16 MiB. */
  readonly connectionWindowBytes?: number;
  /** Response messages buffered per call before the stream is paused. Default 256. */
  readonly maxBufferedResponses?: number;
  /** Fail calls with UNAVAILABLE when the connection is not up within this time. Default 20 000 ms. */
  readonly connectTimeoutMs?: number;
  /** Client keepalive: PING every `timeMs` (0 = off, default), close if unacknowledged after `timeoutMs`. */
  readonly keepalive?: { readonly timeMs?: number; readonly timeoutMs?: number };
  /** Sent as `user-agent`. */
  readonly userAgent?: string;
  readonly logger?: Logger;
}

/**
 * A connection to one gRPC server: one HTTP/2 session at a time, opened on first use and reopened on the
 * next call after it closed or received GOAWAY (pick-first with reconnect). Long-lived: share one channel
 * between clients of the same target.
 */
export interface Channel {
  /** The authority URL, e.g. `http://127.0.0.1:50051`. */
  readonly target: string;
  /**
   * Closes the channel: sends GOAWAY, lets open calls finish, then resolves. New calls fail with
   * UNAVAILABLE. With `graceMs`, calls still open that long later are cut off (they end with CANCELLED)
   * and the connections destroyed, so the promise resolves even while a stream is open. Idempotent; a
   * later call can still set a time limit.
   */
  close(options?: ChannelCloseOptions): Promise<void>;
  /** Resolves (never rejects) once the channel is closed. */
  readonly closed: Promise<Error | undefined>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link Channel.close}. */
export interface ChannelCloseOptions {
  /** How long open calls may still run before they are cancelled; default: no limit. */
  readonly graceMs?: number;
}

/** Every option of {@link ChannelOptions}, defaults applied. */
export interface ResolvedChannelOptions {
  readonly tls: ClientTlsOptions | undefined;
  readonly maxReceiveMessageBytes: number;
  readonly maxSendMessageBytes: number;
  readonly initialStreamWindowBytes: number;
  readonly connectionWindowBytes: number;
  readonly maxBufferedResponses: number;
  readonly connectTimeoutMs: number;
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly userAgent: string;
  readonly logger: Logger;
}

/** Applies the defaults to {@link ChannelOptions}. */
export function resolveChannelOptions(target: string, options: ChannelOptions = {}): ResolvedChannelOptions {
  const tls = options.tls === true ? {} : options.tls;
  return {
    tls: tls ?? (target.startsWith("https://") ? {} : undefined),
    maxReceiveMessageBytes: options.maxReceiveMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    maxSendMessageBytes: options.maxSendMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    initialStreamWindowBytes: options.initialStreamWindowBytes ?? 1 << 20,
    connectionWindowBytes: options.connectionWindowBytes ?? 16 << 20,
    maxBufferedResponses: Math.max(1, options.maxBufferedResponses ?? 256),
    connectTimeoutMs: options.connectTimeoutMs ?? 20_000,
    keepaliveTimeMs: options.keepalive?.timeMs ?? 0,
    keepaliveTimeoutMs: options.keepalive?.timeoutMs ?? 20_000,
    userAgent: options.userAgent ?? "liftbridge-grpc-node/0",
    logger: options.logger ?? noopLogger,
  };
}

/**
 * Normalizes a target (`host:port`, `dns:///host:port`, `http://host:port`, `https://host:port`) to an
 * authority URL. Throws `TypeError` when it has no port.
 */
export function normalizeTarget(target: string, secure: boolean): string {
  let rest = target;
  if (rest.startsWith("dns:///")) rest = rest.slice("dns:///".length);
  else if (rest.startsWith("dns:")) rest = rest.slice("dns:".length);
  let scheme = secure ? "https" : "http";
  const match = /^(https?):\/\/(.*)$/.exec(rest);
  if (match) {
    scheme = match[1] === "https" || secure ? "https" : "http";
    rest = match[2] ?? "";
  }
  rest = rest.replace(/\/+$/, "");
  const url = new URL(`${scheme}://${rest}`);
  if (url.port === "") throw new TypeError(`target ${JSON.stringify(target)} has no port`);
  return `${scheme}://${url.host}`;
}

/**
 * Connects to a gRPC server. The connection is opened lazily, on the first call.
 */
export function connect(target: string, options: ChannelOptions = {}): Channel {
  return new Http2Channel(target, options);
}

/** The node:http2 implementation of {@link Channel}. @internal */
export class Http2Channel implements Channel {
  readonly target: string;
  readonly options: ResolvedChannelOptions;
  readonly log: Logger;
  #session: ClientHttp2Session | undefined;
  /** Every session not closed yet, including ones draining after GOAWAY. */
  readonly #sessions = new Set<ClientHttp2Session>();
  /**
   * Each session's own socket (from its `connect` event). A session destroyed after a graceful close
   * only half-closes its socket and waits for the peer's FIN, which a frozen peer never sends: the
   * hard paths below destroy the socket too.
   */
  readonly #sockets = new WeakMap<ClientHttp2Session, Duplex>();
  #graceTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #resolveClosed!: (e: Error | undefined) => void;
  readonly closed: Promise<Error | undefined>;

  constructor(target: string, options: ChannelOptions) {
    this.options = resolveChannelOptions(target, options);
    this.target = normalizeTarget(target, this.options.tls !== undefined);
    this.log = this.options.logger.child({ component: "grpc-channel" });
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Opens a request stream on the current session (opening a new session when there is none usable).
   * Throws when the channel is closed or the stream cannot be created. @internal
   */
  request(headers: OutgoingHttpHeaders): ClientHttp2Stream {
    if (this.#closed) throw new Error("channel closed");
    const session = this.#usableSession();
    return session.request(headers, { endStream: false });
  }

  #usableSession(): ClientHttp2Session {
    const current = this.#session;
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    const session = this.#open();
    this.#session = session;
    return session;
  }

  #open(): ClientHttp2Session {
    const o = this.options;
    const sessionOptions: ClientSessionOptions & SecureClientSessionOptions = {
      settings: { initialWindowSize: o.initialStreamWindowBytes, enablePush: false },
      maxSessionMemory: 1024,
      ...(o.tls ?? {}),
    };
    const session = h2connect(this.target, sessionOptions);
    this.#sessions.add(session);
    this.log.debug({ target: this.target }, "connecting");
    const connectTimer = setTimeout(() => {
      if (!session.connecting) return;
      this.log.info({ target: this.target }, "connect timed out");
      this.#destroy(session, new Error("connect timed out"));
    }, o.connectTimeoutMs);
    connectTimer.unref();
    let pingTimer: NodeJS.Timeout | undefined;
    session.on("error", (err) => this.log.debug({ err }, "connection error"));
    session.once("connect", (_session: ClientHttp2Session, socket: Duplex) => {
      this.#sockets.set(session, socket);
      clearTimeout(connectTimer);
      if (o.connectionWindowBytes > 65_535) {
        try {
          session.setLocalWindowSize(o.connectionWindowBytes);
        } catch (err) {
          this.log.debug({ err }, "cannot set connection window");
        }
      }
      if (o.keepaliveTimeMs > 0) {
        pingTimer = setInterval(() => this.#ping(session), o.keepaliveTimeMs);
        pingTimer.unref();
      }
    });
    // After GOAWAY the session takes no new streams: the next call opens a new one.
    session.once("goaway", () => {
      if (this.#session === session) this.#session = undefined;
    });
    session.once("close", () => {
      this.#sessions.delete(session);
      clearTimeout(connectTimer);
      if (pingTimer !== undefined) clearInterval(pingTimer);
      if (this.#session === session) this.#session = undefined;
    });
    return session;
  }

  /** Destroys `session` and its socket (see {@link #sockets}). */
  #destroy(session: ClientHttp2Session, error?: Error): void {
    session.destroy(error);
    this.#sockets.get(session)?.destroy();
  }

  #ping(session: ClientHttp2Session): void {
    if (session.closed || session.destroyed) return;
    const timer = setTimeout(() => {
      this.log.info({}, "keepalive ping timed out");
      this.#destroy(session, new Error("keepalive ping timed out"));
    }, this.options.keepaliveTimeoutMs);
    timer.unref();
    try {
      session.ping(() => clearTimeout(timer));
    } catch {
      clearTimeout(timer);
    }
  }

  close(options: ChannelCloseOptions = {}): Promise<void> {
    this.#closing ??= this.#shutdown();
    const graceMs = options.graceMs;
    if (graceMs !== undefined && this.#graceTimer === undefined && this.#sessions.size > 0) {
      this.#graceTimer = setTimeout(() => {
        for (const session of this.#sessions) {
          if (!session.destroyed)
            this.log.info({ target: this.target }, "close grace over: cancelling calls");
          this.#destroy(session);
        }
      }, graceMs);
    }
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#session = undefined;
    await Promise.all(
      [...this.#sessions].map(
        (session) =>
          new Promise<void>((resolve) => {
            if (session.destroyed) resolve();
            else session.close(() => resolve());
          }),
      ),
    );
    clearTimeout(this.#graceTimer);
    this.#resolveClosed(undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
