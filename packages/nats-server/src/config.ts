import { readFileSync } from "node:fs";
import { NatsServerError, NatsServerErrorCode } from "./errors.js";
import type { NatsAuthorization, NatsServerOptions, NatsTlsOptions, NatsUser } from "./options.js";

/**
 * Mapping from a parsed nats-server configuration file (the plain object `@liftbridge/conf` produces)
 * to {@link NatsServerOptions}. Kept apart from the server so the file parser can be wired in by the
 * application: this module only interprets keys, it does not read the config file.
 */

/** Dependencies of {@link natsServerOptionsFromConfig}. */
export interface ConfigMappingDeps {
  /** Reads TLS PEM files named by `cert_file`, `key_file`, `ca_file` (default `fs.readFileSync`). */
  readFile?: (path: string) => Buffer;
}

const bad = (msg: string): NatsServerError => new NatsServerError(NatsServerErrorCode.InvalidOptions, msg);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1000,
  kb: 1024,
  ki: 1024,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1024 ** 2,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1024 ** 3,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
};

/** A size: a number of bytes or a string such as `"1MB"` (nats conf units: k=1000, kb=1024...). */
export function parseConfigSize(key: string, v: unknown): number {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === "string") {
    const m = /^\s*(\d+)\s*([a-zA-Z]*)\s*$/.exec(v);
    const unit = m ? SIZE_UNITS[(m[2] as string).toLowerCase()] : undefined;
    if (m && unit !== undefined) return Number(m[1]) * unit;
  }
  throw bad(`${key}: expected a size, got ${JSON.stringify(v)}`);
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * A duration in milliseconds: a number means seconds (nats-server's rule for `ping_interval` and
 * `authorization.timeout`), a string is a Go duration such as `"2m"` or `"1m30s"`.
 */
export function parseConfigDurationMs(key: string, v: unknown): number {
  if (typeof v === "number" && Number.isFinite(v) && v >= 0) return Math.round(v * 1000);
  if (typeof v === "string" && v.length > 0) {
    const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
    let total = 0;
    let pos = 0;
    while (pos < v.length) {
      re.lastIndex = pos;
      const m = re.exec(v);
      if (m === null) break;
      total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
      pos = re.lastIndex;
    }
    if (pos === v.length) return Math.round(total);
  }
  throw bad(`${key}: expected a duration, got ${JSON.stringify(v)}`);
}

function int(key: string, v: unknown): number {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  throw bad(`${key}: expected an integer, got ${JSON.stringify(v)}`);
}

function str(key: string, v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  throw bad(`${key}: expected a string, got ${JSON.stringify(v)}`);
}

function authorization(v: unknown): NatsAuthorization {
  if (!isObject(v)) throw bad("authorization: expected a map");
  const out: NatsAuthorization = {};
  if (v.token !== undefined) out.token = str("authorization.token", v.token);
  if (v.user !== undefined) out.user = str("authorization.user", v.user);
  if (v.password !== undefined) out.password = str("authorization.password", v.password);
  if (v.timeout !== undefined) out.timeoutMs = parseConfigDurationMs("authorization.timeout", v.timeout);
  if (v.users !== undefined) {
    if (!Array.isArray(v.users)) throw bad("authorization.users: expected an array");
    out.users = v.users.map((u, i): NatsUser => {
      if (!isObject(u)) throw bad(`authorization.users[${i}]: expected a map`);
      return {
        user: str(`authorization.users[${i}].user`, u.user),
        password: str(`authorization.users[${i}].password`, u.password),
      };
    });
  }
  return out;
}

function tls(v: unknown, readFile: (path: string) => Buffer): NatsTlsOptions {
  if (!isObject(v)) throw bad("tls: expected a map");
  const read = (key: string): Buffer => {
    const path = str(`tls.${key}`, v[key]);
    try {
      return readFile(path);
    } catch (cause) {
      throw new NatsServerError(NatsServerErrorCode.InvalidOptions, `tls.${key}: cannot read ${path}`, {
        cause,
      });
    }
  };
  const out: NatsTlsOptions = { cert: read("cert_file"), key: read("key_file") };
  if (v.ca_file !== undefined) out.ca = read("ca_file");
  if (v.verify !== undefined) {
    if (typeof v.verify !== "boolean") throw bad("tls.verify: expected a boolean");
    out.verify = v.verify;
  }
  return out;
}

/**
 * Maps a plain object with nats-server config-file keys onto {@link NatsServerOptions}.
 *
 * Understood keys: `host`/`net`, `port`, `listen` (`"host:port"` or a port), `max_payload`,
 * `max_control_line`, `max_connections`, `max_pending`, `ping_interval`, `ping_max`, `write_deadline`,
 * `server_name`, `authorization { token, user, password, users: [{user, password}], timeout }` and
 * `tls { cert_file, key_file, ca_file, verify }` (files are read with `deps.readFile`). Other keys
 * (cluster, jetstream, ...) are ignored: they configure features this server does not have.
 * Throws `invalid_options` for a value of the wrong type.
 */
export function natsServerOptionsFromConfig(
  config: unknown,
  deps: ConfigMappingDeps = {},
): NatsServerOptions {
  if (!isObject(config)) throw bad("config: expected a map");
  const readFile = deps.readFile ?? ((p: string) => readFileSync(p));
  const out: NatsServerOptions = {};
  const host = config.host ?? config.net;
  if (host !== undefined) out.host = str("host", host);
  if (config.port !== undefined) out.port = int("port", config.port);
  if (config.listen !== undefined) {
    const listen = str("listen", config.listen);
    const colon = listen.lastIndexOf(":");
    const portStr = colon === -1 ? listen : listen.slice(colon + 1);
    if (colon > 0) out.host = listen.slice(0, colon).replace(/^\[|\]$/g, "");
    if (!/^\d+$/.test(portStr)) throw bad(`listen: expected host:port, got ${JSON.stringify(listen)}`);
    out.port = Number(portStr);
  }
  if (config.max_payload !== undefined) out.maxPayload = parseConfigSize("max_payload", config.max_payload);
  if (config.max_control_line !== undefined) {
    out.maxControlLine = parseConfigSize("max_control_line", config.max_control_line);
  }
  if (config.max_connections !== undefined)
    out.maxConnections = int("max_connections", config.max_connections);
  if (config.max_pending !== undefined)
    out.maxPendingBytes = parseConfigSize("max_pending", config.max_pending);
  if (config.ping_interval !== undefined) {
    out.pingIntervalMs = parseConfigDurationMs("ping_interval", config.ping_interval);
  }
  if (config.ping_max !== undefined) out.maxPingsOut = int("ping_max", config.ping_max);
  if (config.write_deadline !== undefined) {
    out.writeDeadlineMs = parseConfigDurationMs("write_deadline", config.write_deadline);
  }
  if (config.server_name !== undefined) out.serverName = str("server_name", config.server_name);
  if (config.authorization !== undefined) out.authorization = authorization(config.authorization);
  if (config.tls !== undefined) out.tls = tls(config.tls, readFile);
  return out;
}
