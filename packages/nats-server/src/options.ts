import { NatsServerError, NatsServerErrorCode } from "./errors.js";

/** Structural logger (pino satisfies it). Defaults to {@link noopLogger}. */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** A logger that drops everything. */
export const noopLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => noopLogger,
};

/** Cancels a timer started by {@link Clock.setTimer}. */
export interface TimerHandle {
  cancel(): void;
}

/** Time source for ping and auth timers (inject a manual clock in tests). */
export interface Clock {
  now(): number;
  setTimer(ms: number, fn: () => void): TimerHandle;
}

/** The real clock: `Date.now` and unref'd `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

/** One user allowed to connect. `password` may be a bcrypt hash (`$2a$`, `$2b$`, `$2y$`). */
export interface NatsUser {
  user: string;
  password: string;
}

/** Client authentication: a token, or one user/password pair, or a list of users. */
export interface NatsAuthorization {
  token?: string;
  user?: string;
  password?: string;
  users?: readonly NatsUser[];
  /** How long a client has to send CONNECT when auth is required (default 2000 ms, as nats-server). */
  timeoutMs?: number;
}

/** TLS for the client port (node:tls); PEM contents, not paths (see natsServerOptionsFromConfig). */
export interface NatsTlsOptions {
  cert: string | Buffer;
  key: string | Buffer;
  /** CA used to verify client certificates. */
  ca?: string | Buffer;
  /** Require and verify client certificates. */
  verify?: boolean;
}

/** Options of {@link startNatsServer}. Every field is optional; defaults match nats-server 2.9. */
export interface NatsServerOptions {
  /** Bind address (default `127.0.0.1`; nats-server defaults to `0.0.0.0`). */
  host?: string;
  /** Client port; 0 picks a free port (default 4222). */
  port?: number;
  /** Largest accepted payload in bytes, headers included (default 1 MiB). */
  maxPayload?: number;
  /** Longest accepted control line in bytes (default 4096). */
  maxControlLine?: number;
  /** Maximum concurrent client connections, 0 for no limit (default 65536). */
  maxConnections?: number;
  /** Bytes queued to one client before it is disconnected as a slow consumer (default 64 MiB). */
  maxPendingBytes?: number;
  /** Interval between server PINGs (default 120000 ms). */
  pingIntervalMs?: number;
  /** Unanswered PINGs before the connection is closed as stale (default 2). */
  maxPingsOut?: number;
  /** How long a socket write may stay blocked before the client counts as a slow consumer (default 10000 ms). */
  writeDeadlineMs?: number;
  authorization?: NatsAuthorization;
  tls?: NatsTlsOptions;
  /** Server name reported in INFO (default: the generated server id). */
  serverName?: string;
  logger?: Logger;
  clock?: Clock;
  /** Random source for queue-group member choice and ids (default `Math.random`). */
  random?: () => number;
}

/** {@link NatsServerOptions} with every default filled in. */
export interface ResolvedNatsServerOptions {
  host: string;
  port: number;
  maxPayload: number;
  maxControlLine: number;
  maxConnections: number;
  maxPendingBytes: number;
  pingIntervalMs: number;
  maxPingsOut: number;
  writeDeadlineMs: number;
  authorization: NatsAuthorization | undefined;
  authTimeoutMs: number;
  tls: NatsTlsOptions | undefined;
  serverName: string | undefined;
  logger: Logger;
  clock: Clock;
  random: () => number;
}

export const DEFAULT_PORT = 4222;
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
export const DEFAULT_MAX_CONTROL_LINE = 4096;
export const DEFAULT_MAX_CONNECTIONS = 64 * 1024;
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;
export const DEFAULT_PING_INTERVAL_MS = 2 * 60 * 1000;
export const DEFAULT_MAX_PINGS_OUT = 2;
export const DEFAULT_AUTH_TIMEOUT_MS = 2000;
export const DEFAULT_WRITE_DEADLINE_MS = 10_000;

function checkInt(name: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min) {
    throw new NatsServerError(NatsServerErrorCode.InvalidOptions, `${name} must be an integer >= ${min}`);
  }
  return v;
}

/**
 * Fills in defaults and validates. Throws `invalid_options` for out-of-range values or an
 * authorization block that mixes token and users.
 */
export function resolveNatsServerOptions(opts: NatsServerOptions = {}): ResolvedNatsServerOptions {
  const auth = opts.authorization;
  if (auth !== undefined) {
    const kinds = [auth.token !== undefined, auth.user !== undefined, auth.users !== undefined].filter(
      Boolean,
    );
    if (kinds.length > 1) {
      throw new NatsServerError(
        NatsServerErrorCode.InvalidOptions,
        "authorization: use one of token, user, users",
      );
    }
    if (auth.user !== undefined && auth.password === undefined) {
      throw new NatsServerError(NatsServerErrorCode.InvalidOptions, "authorization: user needs a password");
    }
  }
  const port = checkInt("port", opts.port ?? DEFAULT_PORT, 0);
  if (port > 65535) throw new NatsServerError(NatsServerErrorCode.InvalidOptions, "port must be <= 65535");
  const maxPayload = checkInt("maxPayload", opts.maxPayload ?? DEFAULT_MAX_PAYLOAD, 0);
  const maxPendingBytes = checkInt("maxPendingBytes", opts.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES, 1);
  if (maxPayload > maxPendingBytes) {
    // nats-server refuses this too: one message could never fit in a client's pending buffer.
    throw new NatsServerError(
      NatsServerErrorCode.InvalidOptions,
      "maxPayload cannot be higher than maxPendingBytes",
    );
  }
  return {
    host: opts.host ?? "127.0.0.1",
    port,
    maxPayload,
    maxControlLine: checkInt("maxControlLine", opts.maxControlLine ?? DEFAULT_MAX_CONTROL_LINE, 1),
    maxConnections: checkInt("maxConnections", opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS, 0),
    maxPendingBytes,
    pingIntervalMs: checkInt("pingIntervalMs", opts.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS, 1),
    maxPingsOut: checkInt("maxPingsOut", opts.maxPingsOut ?? DEFAULT_MAX_PINGS_OUT, 1),
    writeDeadlineMs: checkInt("writeDeadlineMs", opts.writeDeadlineMs ?? DEFAULT_WRITE_DEADLINE_MS, 1),
    authorization: auth,
    authTimeoutMs: checkInt("authorization.timeoutMs", auth?.timeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS, 1),
    tls: opts.tls,
    serverName: opts.serverName,
    logger: opts.logger ?? noopLogger,
    clock: opts.clock ?? systemClock,
    random: opts.random ?? Math.random,
  };
}
