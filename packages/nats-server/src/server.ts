import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import { NatsServerError, NatsServerErrorCode } from "./errors.js";
import {
  createInProcessConnection,
  type InProcessConnection,
  type InProcessConnectionOptions,
} from "./in-process.js";
import {
  type NatsServerOptions,
  type ResolvedNatsServerOptions,
  resolveNatsServerOptions,
} from "./options.js";
import { ChunkPool } from "./outbound.js";
import { Router } from "./router.js";
import { type ClientHost, CloseReason, passwordMatches, SocketClient } from "./socket-client.js";

/** Protocol version announced in INFO (nats-server's, for client feature checks). */
export const SERVER_VERSION = "2.9.0";

/** A running embedded NATS server. */
export interface NatsServer {
  /** `nats://host:port` (or `tls://` when TLS is on) of the client listener. */
  readonly url: string;
  /** The bound port (useful with `port: 0`). */
  readonly port: number;
  /** Generated server id, as reported in INFO. */
  readonly serverId: string;
  /** Number of open socket connections. */
  readonly connectionCount: number;
  /** Number of subscriptions across all clients, in-process ones included. */
  readonly subscriptionCount: number;
  /**
   * Opens an in-process connection: same routing and semantics as a socket client, without sockets
   * or protocol encoding. It is closed when the server closes.
   */
  connect(options?: InProcessConnectionOptions): InProcessConnection;
  /**
   * Graceful shutdown: stops accepting, flushes queued messages to every client, closes the
   * connections and resolves when all sockets are closed. Idempotent.
   */
  close(): Promise<void>;
  /**
   * Drain: stops accepting, waits (up to `timeoutMs`, default 5000) until every client's queued bytes
   * reached the kernel, then closes like {@link NatsServer.close}.
   */
  drain(options?: { timeoutMs?: number }): Promise<void>;
  /** Resolves when the server is closed; never rejects. */
  readonly closed: Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** @internal The implementation behind {@link NatsServer}. */
export class EmbeddedNatsServer implements NatsServer, ClientHost {
  readonly options: ResolvedNatsServerOptions;
  readonly router: Router;
  readonly chunkPool = new ChunkPool();
  readonly serverId: string;
  readonly closed: Promise<void>;
  currentProducer: SocketClient | undefined;
  earlyFlush = false;
  private resolveClosed!: () => void;
  private readonly listener: net.Server;
  private readonly secureContext: tls.SecureContext | undefined;
  private readonly clients = new Set<SocketClient>();
  private readonly inProcess = new Set<InProcessConnection>();
  private dirty: SocketClient[] = [];
  private flushScheduled = false;
  private nextId = 1;
  private boundPort = 0;
  private closing: Promise<void> | undefined;
  private readonly pwCache = new Map<string, boolean>();
  private readonly log;

  constructor(options: ResolvedNatsServerOptions) {
    this.options = options;
    this.log = options.logger.child({ component: "nats-server" });
    this.router = new Router(options.random);
    this.serverId = `N${randomBytes(27).toString("hex").toUpperCase().slice(0, 55)}`;
    this.closed = new Promise((r) => {
      this.resolveClosed = r;
    });
    const t = options.tls;
    this.secureContext =
      t === undefined
        ? undefined
        : tls.createSecureContext({ cert: t.cert, key: t.key, ...(t.ca ? { ca: t.ca } : {}) });
    this.listener = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  get url(): string {
    const h = this.options.host.includes(":") ? `[${this.options.host}]` : this.options.host;
    return `${this.options.tls ? "tls" : "nats"}://${h === "0.0.0.0" ? "127.0.0.1" : h}:${this.boundPort}`;
  }
  get port(): number {
    return this.boundPort;
  }
  get connectionCount(): number {
    return this.clients.size;
  }
  get subscriptionCount(): number {
    return this.router.sublist.count;
  }

  /** Binds the listener. */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        reject(new NatsServerError(NatsServerErrorCode.ListenFailed, "cannot listen", { cause: err }));
      };
      this.listener.once("error", onError);
      this.listener.listen(this.options.port, this.options.host, () => {
        this.listener.off("error", onError);
        const addr = this.listener.address();
        this.boundPort = typeof addr === "object" && addr !== null ? addr.port : this.options.port;
        this.log.info({ port: this.boundPort }, "nats server listening");
        resolve();
      });
    });
  }

  private accept(socket: net.Socket): void {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    socket.on("error", () => {});
    const client = new SocketClient(this.nextId++, socket, this);
    const max = this.options.maxConnections;
    if (max > 0 && this.clients.size >= max) {
      client.attach(socket);
      client.start();
      client.closeWithError("maximum connections exceeded", CloseReason.MaxConnections);
      return;
    }
    this.clients.add(client);
    if (this.secureContext !== undefined) {
      // nats-server 2.9: INFO in clear text, then the client starts the TLS handshake.
      client.start();
      const verify = this.options.tls?.verify === true;
      const secure = new tls.TLSSocket(socket, {
        isServer: true,
        secureContext: this.secureContext,
        requestCert: verify,
        rejectUnauthorized: verify,
      });
      secure.on("error", () => client.destroy(CloseReason.ProtocolViolation));
      client.attach(secure);
      socket.on("close", () => client.destroy(CloseReason.ClientClosed));
    } else {
      client.attach(socket);
      client.start();
    }
  }

  infoFor(client: SocketClient): string {
    const o = this.options;
    const info: Record<string, unknown> = {
      server_id: this.serverId,
      server_name: o.serverName ?? this.serverId,
      version: SERVER_VERSION,
      proto: 1,
      host: o.host,
      port: this.boundPort,
      headers: true,
    };
    if (o.authorization !== undefined) info.auth_required = true;
    if (o.tls !== undefined) {
      info.tls_required = true;
      if (o.tls.verify === true) info.tls_verify = true;
    }
    info.max_payload = o.maxPayload;
    info.client_id = client.id;
    info.client_ip = client.remote.slice(0, client.remote.lastIndexOf(":"));
    return JSON.stringify(info);
  }

  markDirty(client: SocketClient): void {
    this.dirty.push(client);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.onImmediate);
    }
  }

  /** Writes out every client that got data this turn (one corked write each). */
  private readonly onImmediate = (): void => {
    this.flushScheduled = false;
    this.flushDirty();
  };

  readonly flushDirty = (): void => {
    this.earlyFlush = false;
    const list = this.dirty;
    if (list.length === 0) return;
    this.dirty = [];
    for (let i = 0; i < list.length; i++) (list[i] as SocketClient).flush();
  };

  clientClosed(client: SocketClient, reason: string): void {
    if (this.clients.delete(client)) this.log.debug({ cid: client.id, reason }, "client closed");
  }

  checkPassword(given: string, expected: string): boolean {
    if (!expected.startsWith("$2")) return passwordMatches(given, expected);
    // bcrypt is deliberately slow; remember verified pairs by digest so reconnects stay cheap.
    const key = createHash("sha256").update(expected).update("\0").update(given).digest("base64");
    const hit = this.pwCache.get(key);
    if (hit !== undefined) return hit;
    const ok = passwordMatches(given, expected);
    if (ok) this.pwCache.set(key, true);
    return ok;
  }

  connect(options: InProcessConnectionOptions = {}): InProcessConnection {
    if (this.closing !== undefined) throw new NatsServerError(NatsServerErrorCode.Closed, "server is closed");
    const conn = createInProcessConnection(this.nextId++, this.router, this.options, options, () =>
      this.inProcess.delete(conn),
    );
    this.inProcess.add(conn);
    return conn;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown(0);
    return this.closing;
  }

  drain(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= this.shutdown(options.timeoutMs ?? 5000);
    return this.closing;
  }

  private async shutdown(drainMs: number): Promise<void> {
    const listenerClosed = new Promise<void>((r) => this.listener.close(() => r()));
    this.flushDirty();
    if (drainMs > 0) {
      const deadline = Date.now() + drainMs;
      while (Date.now() < deadline && [...this.clients].some((c) => c.pendingBytes > 0)) {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    for (const conn of [...this.inProcess]) conn.close();
    const sockets = [...this.clients].map(
      (c) =>
        new Promise<void>((resolve) => {
          c.end(CloseReason.ServerShutdown);
          resolve();
        }),
    );
    await Promise.all(sockets);
    await listenerClosed;
    this.log.info({}, "nats server closed");
    this.resolveClosed();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Starts an embedded NATS server and resolves once it listens. Throws `invalid_options` for bad
 * options and `listen_failed` when the address cannot be bound.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const server = new EmbeddedNatsServer(resolveNatsServerOptions(options));
  await server.listen();
  return server;
}
