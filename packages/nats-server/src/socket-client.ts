import type { Socket } from "node:net";
import bcrypt from "bcryptjs";
import type { ResolvedNatsServerOptions, TimerHandle } from "./options.js";
import { type ChunkPool, Outbound, type Slice } from "./outbound.js";
import { type ParseErrorKind, type ParserSink, ProtocolParser } from "./parser.js";
import type { Router, RouterClient, Subscription } from "./router.js";
import { isValidLiteralSubject, isValidQueueName, isValidSubject } from "./subject.js";

/** What a socket client needs from its server. */
export interface ClientHost {
  readonly options: ResolvedNatsServerOptions;
  readonly router: Router;
  readonly chunkPool: ChunkPool;
  /** INFO JSON object (without client-specific fields). */
  infoFor(client: SocketClient): string;
  /** Registers the client for the end-of-turn flush. */
  markDirty(client: SocketClient): void;
  /** Flushes every client registered with markDirty. */
  flushDirty(): void;
  /** Set when some client has FLUSH_EARLY_BYTES queued; cleared by flushDirty. */
  earlyFlush: boolean;
  clientClosed(client: SocketClient, reason: string): void;
  /** The socket client whose input is being processed right now (the producer), if any. */
  currentProducer: SocketClient | undefined;
  checkPassword(password: string, expected: string): boolean;
}

/** Close reasons, as nats-server names them in its logs. */
export const CloseReason = {
  ClientClosed: "client_closed",
  ProtocolViolation: "protocol_violation",
  AuthViolation: "authentication_violation",
  AuthTimeout: "authentication_timeout",
  SlowConsumer: "slow_consumer",
  StaleConnection: "stale_connection",
  MaxConnections: "max_connections_exceeded",
  ServerShutdown: "server_shutdown",
  WriteError: "write_error",
} as const;

const ERR_MESSAGES: Record<ParseErrorKind, string> = {
  unknown_op: "Unknown Protocol Operation",
  bad_args: "Unknown Protocol Operation",
  max_control_line: "maximum control line exceeded",
  max_payload: "Maximum Payload Violation",
  headers_not_enabled: "Unknown Protocol Operation",
};

/** Queued bytes above which a client is flushed right after the current read instead of at end of turn. */
export const FLUSH_EARLY_BYTES = 256 * 1024;

/** How long a closing connection may take to finish before its socket is destroyed. */
export const END_GRACE_MS = 2000;

/** Longest a producer stays paused waiting for a slow subscriber to drain. */
export const STALL_MAX_MS = 1000;

interface ConnectOptions {
  verbose?: unknown;
  pedantic?: unknown;
  echo?: unknown;
  headers?: unknown;
  no_responders?: unknown;
  name?: unknown;
  lang?: unknown;
  version?: unknown;
  auth_token?: unknown;
  user?: unknown;
  pass?: unknown;
}

/** One client connection over TCP or TLS. */
export class SocketClient implements RouterClient, ParserSink {
  readonly id: number;
  echo = true;
  headers = false;
  noResponders = false;
  // nats-server treats a client that has not sent CONNECT as verbose and pedantic.
  verbose = true;
  pedantic = true;
  name = "";
  lang = "";
  version = "";
  readonly subs = new Map<string, Subscription>();
  readonly remote: string;
  closed = false;
  private socket: Socket;
  private readonly host: ClientHost;
  private readonly parser: ProtocolParser;
  private readonly out: Outbound;
  private dirty = false;
  private connected = false;
  private pingsOut = 0;
  private pingTimer: TimerHandle | undefined;
  private authTimer: TimerHandle | undefined;
  private writeTimer: TimerHandle | undefined;
  private socketPending = 0;
  /** Producers paused until this client's backlog drains (flow control, as nats-server's stall). */
  private readonly stalledProducers = new Set<SocketClient>();
  private stalledOn: SocketClient | undefined;
  private stallTimer: TimerHandle | undefined;

  constructor(id: number, socket: Socket, host: ClientHost) {
    this.id = id;
    this.socket = socket;
    this.host = host;
    this.remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? 0}`;
    this.out = new Outbound(host.chunkPool);
    const o = host.options;
    this.parser = new ProtocolParser(this, { maxPayload: o.maxPayload, maxControlLine: o.maxControlLine });
  }

  /** True when auth is configured and CONNECT has not been accepted yet. */
  private get needsAuth(): boolean {
    return this.host.options.authorization !== undefined && !this.connected;
  }

  /** Sends INFO and starts reading from `socket` (which may be replaced by a TLS socket). */
  start(): void {
    this.writeRaw(`INFO ${this.host.infoFor(this)} \r\n`);
    this.flush();
    const o = this.host.options;
    if (o.authorization !== undefined) {
      this.authTimer = o.clock.setTimer(o.authTimeoutMs, () => {
        if (!this.connected) this.closeWithError("Authentication Timeout", CloseReason.AuthTimeout);
      });
    }
    this.schedulePing();
  }

  /** Attaches the (possibly TLS-wrapped) socket's events. */
  attach(socket: Socket): void {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.host.currentProducer = this;
      this.parser.feed(chunk);
      this.host.currentProducer = undefined;
      // Output is written once per event-loop turn (setImmediate), which batches up to 32 reads per
      // producer; a client that already has FLUSH_EARLY_BYTES queued is written right after the read,
      // so a large backlog streams out while the producer's next chunks are read.
      if (this.host.earlyFlush) this.host.flushDirty();
    });
    socket.on("drain", () => {
      this.socketPending = 0;
      this.writeTimer?.cancel();
      this.writeTimer = undefined;
      this.releaseProducers();
    });
    socket.on("error", () => this.destroy(CloseReason.WriteError));
    socket.on("close", () => this.destroy(CloseReason.ClientClosed));
  }

  private schedulePing(): void {
    const o = this.host.options;
    this.pingTimer = o.clock.setTimer(o.pingIntervalMs, () => {
      if (this.closed) return;
      if (this.pingsOut >= o.maxPingsOut) {
        this.closeWithError("Stale Connection", CloseReason.StaleConnection);
        return;
      }
      this.pingsOut++;
      this.writeRaw("PING\r\n");
      this.schedulePing();
    });
  }

  // ---- outbound ----

  private writeRaw(s: string): void {
    if (this.closed) return;
    this.out.writeString(s);
    this.markDirty();
  }

  private markDirty(): void {
    if (!this.dirty) {
      this.dirty = true;
      this.host.markDirty(this);
    }
  }

  deliver(
    sub: Subscription,
    subject: string,
    reply: string | undefined,
    hdr: Buffer | undefined,
    body: Buffer,
  ): void {
    if (this.closed) return;
    const h = hdr !== undefined && this.headers ? hdr : undefined;
    // "MSG <subject> <sid> " is cached per subscription: consecutive messages usually share a subject.
    let cache = sub.prefix;
    if (cache === undefined || cache.subject !== subject || cache.hmsg !== (h !== undefined)) {
      cache = {
        subject,
        hmsg: h !== undefined,
        bytes: Buffer.from(`${h ? "HMSG" : "MSG"} ${subject} ${sub.sid} `),
      };
      sub.prefix = cache;
    }
    this.out.writeMessage(cache.bytes, reply, h, body);
    const pending = this.out.bytes + this.socketPending;
    const max = this.host.options.maxPendingBytes;
    if (pending > max) {
      this.destroy(CloseReason.SlowConsumer);
      return;
    }
    if (pending > max / 2) {
      // Falling behind: pause the producer feeding us until our backlog drains (bounded by STALL_MAX_MS).
      const producer = this.host.currentProducer;
      if (producer !== undefined && producer !== this) producer.stallOn(this);
    }
    if (this.out.bytes >= FLUSH_EARLY_BYTES) this.host.earlyFlush = true;
    this.markDirty();
  }

  /** Pauses reading from this client until `target` drained its backlog, for at most STALL_MAX_MS. */
  stallOn(target: SocketClient): void {
    if (this.stalledOn !== undefined || this.closed) return;
    this.stalledOn = target;
    target.stalledProducers.add(this);
    this.socket.pause();
    this.stallTimer = this.host.options.clock.setTimer(STALL_MAX_MS, () => this.unstall());
  }

  private unstall(): void {
    const target = this.stalledOn;
    if (target === undefined) return;
    this.stalledOn = undefined;
    target.stalledProducers.delete(this);
    this.stallTimer?.cancel();
    this.stallTimer = undefined;
    if (!this.closed) this.socket.resume();
  }

  private releaseProducers(): void {
    for (const p of [...this.stalledProducers]) p.unstall();
  }

  /** Hands everything queued to the socket in one corked batch. */
  flush(): void {
    this.dirty = false;
    if (this.closed) return;
    const slices = this.out.take();
    if (slices.length === 0) return;
    const s = this.socket;
    if (slices.length === 1) {
      this.writeSlice(slices[0] as Slice);
    } else {
      s.cork();
      for (const sl of slices) this.writeSlice(sl);
      s.uncork();
    }
    this.socketPending = s.writableLength;
    if (this.socketPending > 0 && this.writeTimer === undefined) this.armWriteDeadline(s.bytesWritten);
  }

  private writeSlice(sl: Slice): void {
    if (sl.chunk === undefined) this.socket.write(sl.data);
    else this.socket.write(sl.data, () => this.out.release(sl));
  }

  /** Slow consumer when the socket made no write progress for `writeDeadlineMs` while data was queued. */
  private armWriteDeadline(written: number): void {
    const o = this.host.options;
    this.writeTimer = o.clock.setTimer(o.writeDeadlineMs, () => {
      this.writeTimer = undefined;
      if (this.closed || this.socket.writableLength === 0) return;
      if (this.socket.bytesWritten > written) this.armWriteDeadline(this.socket.bytesWritten);
      else this.destroy(CloseReason.SlowConsumer);
    });
  }

  /** Sends `-ERR '<msg>'`, flushes and closes. */
  closeWithError(msg: string, reason: string): void {
    if (this.closed) return;
    this.writeRaw(`-ERR '${msg}'\r\n`);
    this.flush();
    this.end(reason);
  }

  /** Flushes and half-closes; the socket is destroyed once the peer is done or after a grace period. */
  end(reason: string): void {
    if (this.closed) return;
    this.flush();
    this.markClosed(reason);
    this.socket.end();
    const socket = this.socket;
    this.host.options.clock.setTimer(END_GRACE_MS, () => socket.destroy());
  }

  /** Closes immediately, dropping anything queued. */
  destroy(reason: string): void {
    if (this.closed) return;
    this.markClosed(reason);
    this.socket.destroy();
  }

  private markClosed(reason: string): void {
    this.closed = true;
    this.parser.stop();
    this.unstall();
    this.releaseProducers();
    this.pingTimer?.cancel();
    this.authTimer?.cancel();
    this.writeTimer?.cancel();
    this.host.router.removeClient(this);
    this.host.clientClosed(this, reason);
  }

  /** Bytes accepted but not yet written by the kernel (for graceful drain). */
  get pendingBytes(): number {
    return this.closed ? 0 : this.out.bytes + this.socket.writableLength;
  }

  // ---- ParserSink ----

  private sendErr(msg: string): void {
    this.writeRaw(`-ERR '${msg}'\r\n`);
  }

  private ok(): void {
    if (this.verbose) this.writeRaw("+OK\r\n");
  }

  /** Rejects operations before CONNECT when auth is required; returns true when rejected. */
  private authGate(): boolean {
    if (this.needsAuth) {
      this.closeWithError("Authorization Violation", CloseReason.AuthViolation);
      return true;
    }
    return false;
  }

  onConnect(json: string): void {
    let c: ConnectOptions;
    try {
      const v: unknown = JSON.parse(json);
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not an object");
      c = v as ConnectOptions;
    } catch {
      this.closeWithError("Unknown Protocol Operation", CloseReason.ProtocolViolation);
      return;
    }
    if (!this.connected && !this.authorize(c)) {
      this.closeWithError("Authorization Violation", CloseReason.AuthViolation);
      return;
    }
    this.connected = true;
    this.authTimer?.cancel();
    this.authTimer = undefined;
    // Fields absent from CONNECT keep their defaults (verbose and pedantic true), as in nats-server.
    if (typeof c.verbose === "boolean") this.verbose = c.verbose;
    if (typeof c.pedantic === "boolean") this.pedantic = c.pedantic;
    if (typeof c.echo === "boolean") this.echo = c.echo;
    this.headers = c.headers === true;
    this.noResponders = c.no_responders === true;
    this.parser.headers = this.headers;
    if (typeof c.name === "string") this.name = c.name;
    if (typeof c.lang === "string") this.lang = c.lang;
    if (typeof c.version === "string") this.version = c.version;
    if (this.noResponders && !this.headers) {
      this.closeWithError("no responders requires headers support", CloseReason.ProtocolViolation);
      return;
    }
    this.ok();
  }

  private authorize(c: ConnectOptions): boolean {
    const auth = this.host.options.authorization;
    if (auth === undefined) return true;
    if (auth.token !== undefined) {
      return typeof c.auth_token === "string" && this.host.checkPassword(c.auth_token, auth.token);
    }
    const user = typeof c.user === "string" ? c.user : undefined;
    const pass = typeof c.pass === "string" ? c.pass : undefined;
    if (user === undefined || pass === undefined) return false;
    if (auth.user !== undefined) {
      return user === auth.user && this.host.checkPassword(pass, auth.password ?? "");
    }
    const u = auth.users?.find((x) => x.user === user);
    return u !== undefined && this.host.checkPassword(pass, u.password);
  }

  onPub(subject: string, reply: string | undefined, hdrLen: number, payload: Buffer): void {
    if (this.authGate()) return;
    if (this.pedantic && !isValidLiteralSubject(subject)) {
      this.sendErr("Invalid Publish Subject");
      this.ok();
      return;
    }
    // +OK goes out before the message is routed (a client subscribed to its own subject sees +OK first).
    this.ok();
    if (hdrLen > 0) {
      this.host.router.publish(this, subject, reply, payload.subarray(0, hdrLen), payload.subarray(hdrLen));
    } else {
      this.host.router.publish(this, subject, reply, undefined, payload);
    }
  }

  onSub(subject: string, queue: string | undefined, sid: string): void {
    if (this.authGate()) return;
    if (!isValidSubject(subject)) {
      this.sendErr("Invalid Subject");
      return;
    }
    if (queue !== undefined && !isValidQueueName(queue)) {
      this.sendErr("Invalid Queue Name");
      return;
    }
    if (!this.subs.has(sid)) {
      this.host.router.addSubscription({
        subject,
        queue,
        sid,
        client: this,
        max: -1,
        delivered: 0,
        closed: false,
      });
    }
    this.ok();
  }

  onUnsub(sid: string, max: number): void {
    if (this.authGate()) return;
    const sub = this.subs.get(sid);
    if (sub !== undefined) this.host.router.unsubscribe(sub, max);
    this.ok();
  }

  onPing(): void {
    if (this.authGate()) return;
    this.writeRaw("PONG\r\n");
  }

  onPong(): void {
    this.pingsOut = 0;
  }

  onErr(_message: string): void {
    this.end(CloseReason.ProtocolViolation);
  }

  onParseError(kind: ParseErrorKind): void {
    if (this.needsAuth && kind !== "max_control_line") {
      this.closeWithError("Authorization Violation", CloseReason.AuthViolation);
      return;
    }
    this.closeWithError(ERR_MESSAGES[kind], CloseReason.ProtocolViolation);
  }
}

/** Compares a client password with a configured one (plain text or bcrypt hash). */
export function passwordMatches(given: string, expected: string): boolean {
  if (/^\$2[abxy]?\$\d\d\$/.test(expected)) return bcrypt.compareSync(given, expected);
  if (given.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < given.length; i++) diff |= given.charCodeAt(i) ^ expected.charCodeAt(i);
  return diff === 0;
}
