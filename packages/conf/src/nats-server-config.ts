import { ConfError, ConfErrorCode, type ConfIssue, type ConfLocation, formatLocation } from "./errors.js";
import { describeNode } from "./load.js";
import { type ParseConfOptions, parseConfFile } from "./parser.js";
import type { ConfDocument, ConfMapNode, ConfNode } from "./types.js";
import { parseGoDuration } from "./values.js";

/** One user of a nats-server `authorization { users [...] }` list. */
export interface NatsUser {
  readonly user: string;
  readonly password: string | undefined;
}

/**
 * The nats-server settings the embedded NATS server uses, with nats-server's defaults. Durations
 * are milliseconds; in the file they are Go duration strings or integers of seconds.
 */
export interface NatsServerConfig {
  /** `host` (or `net`, or the host of `listen`); default `0.0.0.0`. */
  readonly host: string;
  /** `port` (or the port of `listen`); default 4222; -1 asks for a random port. */
  readonly port: number;
  /** `max_payload`; default 1 MiB. */
  readonly maxPayload: number;
  /** `max_control_line`; default 4096. */
  readonly maxControlLine: number;
  /** `max_connections` (or `max_conn`); default 65536. */
  readonly maxConnections: number;
  /** `max_pending`; default 64 MiB. */
  readonly maxPending: number;
  /** `ping_interval`; default 2m. */
  readonly pingIntervalMs: number;
  /** `ping_max` (or `max_pings_out`); default 2. */
  readonly maxPingsOut: number;
  /** `write_deadline`; default 10s. */
  readonly writeDeadlineMs: number;
  readonly authorization:
    | {
        readonly token: string | undefined;
        readonly user: string | undefined;
        readonly password: string | undefined;
        readonly users: readonly NatsUser[];
        /** `authorization.timeout` (seconds in the file, may be fractional); default 2s. */
        readonly timeoutMs: number;
      }
    | undefined;
  readonly tls:
    | {
        readonly certFile: string | undefined;
        readonly keyFile: string | undefined;
        readonly caFile: string | undefined;
        readonly verify: boolean;
      }
    | undefined;
  /** Top-level keys present in the file that this extraction does not use (lower-cased). */
  readonly ignoredKeys: readonly string[];
}

/** nats-server defaults used by {@link extractNatsServerConfig}. */
export const NATS_SERVER_DEFAULTS = {
  host: "0.0.0.0",
  port: 4222,
  maxPayload: 1024 * 1024,
  maxControlLine: 4096,
  maxConnections: 64 * 1024,
  maxPending: 64 * 1024 * 1024,
  pingIntervalMs: 2 * 60 * 1000,
  maxPingsOut: 2,
  writeDeadlineMs: 10 * 1000,
  authTimeoutMs: 2000,
} as const;

const USED = new Set([
  "host",
  "net",
  "listen",
  "port",
  "max_payload",
  "max_control_line",
  "max_connections",
  "max_conn",
  "max_pending",
  "ping_interval",
  "ping_max",
  "max_pings_out",
  "write_deadline",
  "authorization",
  "tls",
]);

/**
 * Extracts the embedded server's settings from a parsed nats-server configuration. Keys are
 * matched case-insensitively, as nats-server does. Throws {@link ConfError} `validation` listing
 * every wrong type or out-of-range value with its key and position. Unknown keys are not errors
 * (nats-server has many more); they are listed in `ignoredKeys`.
 */
export function extractNatsServerConfig(doc: ConfDocument | ConfMapNode): NatsServerConfig {
  const root = "root" in doc ? doc.root : doc;
  const issues: ConfIssue[] = [];
  const top = lowerMap(root);
  const x = new Extractor(issues);
  let host: string = NATS_SERVER_DEFAULTS.host;
  let port: number = NATS_SERVER_DEFAULTS.port;
  const listen = top.get("listen");
  if (listen !== undefined) {
    const text = listen.node.kind === "int" ? `:${listen.node.value}` : x.str(listen, "listen");
    if (text !== undefined) {
      const m = /^(?:(.*):)?(-?\d+)$/.exec(text);
      if (m === null) x.bad(listen, "listen", '"host:port" or a port');
      else {
        if (m[1] !== undefined && m[1] !== "") host = m[1].replace(/^\[(.*)\]$/, "$1");
        port = Number(m[2]);
      }
    }
  }
  const h = top.get("host") ?? top.get("net");
  if (h !== undefined) host = x.str(h, h.key) ?? host;
  const p = top.get("port");
  if (p !== undefined) port = x.int(p, "port", -1, 65535) ?? port;

  const num = (keys: string[], def: number, min = 0) => {
    for (const k of keys) {
      const e = top.get(k);
      if (e !== undefined) return x.int(e, k, min, Number.MAX_SAFE_INTEGER) ?? def;
    }
    return def;
  };
  const dur = (key: string, def: number) => {
    const e = top.get(key);
    return e === undefined ? def : (x.duration(e, key) ?? def);
  };

  let authorization: NatsServerConfig["authorization"];
  const auth = top.get("authorization");
  if (auth !== undefined) {
    if (auth.node.kind !== "map") x.bad(auth, "authorization", "a map");
    else {
      const a = lowerMap(auth.node);
      const s = (k: string) => {
        const e = a.get(k);
        return e === undefined ? undefined : x.str(e, `authorization.${k}`);
      };
      const users: NatsUser[] = [];
      const ue = a.get("users");
      if (ue !== undefined) {
        if (ue.node.kind !== "array") x.bad(ue, "authorization.users", "a list of maps");
        else {
          ue.node.items.forEach((item, i) => {
            const k = `authorization.users[${i}]`;
            if (item.kind !== "map") {
              x.bad({ key: k, node: item, keyPos: item.pos }, k, "a map with user and password");
              return;
            }
            const um = lowerMap(item);
            const u = um.get("user") ?? um.get("username");
            const pw = um.get("password") ?? um.get("pass");
            const user = u === undefined ? undefined : x.str(u, `${k}.user`);
            if (user === undefined) {
              if (u === undefined) x.bad({ key: k, node: item, keyPos: item.pos }, k, "a map with a user");
              return;
            }
            users.push({ user, password: pw === undefined ? undefined : x.str(pw, `${k}.password`) });
          });
        }
      }
      let timeoutMs: number = NATS_SERVER_DEFAULTS.authTimeoutMs;
      const te = a.get("timeout");
      if (te !== undefined) {
        if (te.node.kind === "int" && typeof te.node.value === "number") timeoutMs = te.node.value * 1000;
        else if (te.node.kind === "float") timeoutMs = te.node.value * 1000;
        else x.bad(te, "authorization.timeout", "a number of seconds");
      }
      authorization = {
        token: s("token"),
        user: s("user") ?? s("username"),
        password: s("password") ?? s("pass"),
        users,
        timeoutMs,
      };
    }
  }

  let tls: NatsServerConfig["tls"];
  const te = top.get("tls");
  if (te !== undefined) {
    if (te.node.kind !== "map") x.bad(te, "tls", "a map");
    else {
      const t = lowerMap(te.node);
      const s = (k: string) => {
        const e = t.get(k);
        return e === undefined ? undefined : x.str(e, `tls.${k}`);
      };
      const v = t.get("verify");
      let verify = false;
      if (v !== undefined) {
        if (v.node.kind === "bool") verify = v.node.value;
        else x.bad(v, "tls.verify", "a boolean");
      }
      tls = { certFile: s("cert_file"), keyFile: s("key_file"), caFile: s("ca_file"), verify };
    }
  }

  const out: NatsServerConfig = {
    host,
    port,
    maxPayload: num(["max_payload"], NATS_SERVER_DEFAULTS.maxPayload, 1),
    maxControlLine: num(["max_control_line"], NATS_SERVER_DEFAULTS.maxControlLine, 1),
    maxConnections: num(["max_connections", "max_conn"], NATS_SERVER_DEFAULTS.maxConnections),
    maxPending: num(["max_pending"], NATS_SERVER_DEFAULTS.maxPending, 1),
    pingIntervalMs: dur("ping_interval", NATS_SERVER_DEFAULTS.pingIntervalMs),
    maxPingsOut: num(["ping_max", "max_pings_out"], NATS_SERVER_DEFAULTS.maxPingsOut, 1),
    writeDeadlineMs: dur("write_deadline", NATS_SERVER_DEFAULTS.writeDeadlineMs),
    authorization,
    tls,
    ignoredKeys: [...top.keys()].filter((k) => !USED.has(k)),
  };
  if (issues.length > 0) {
    throw new ConfError(
      ConfErrorCode.Validation,
      `${issues.length} nats-server configuration error${issues.length === 1 ? "" : "s"}:\n${issues.map((i) => `  ${i.message}`).join("\n")}`,
      { issues, location: issues[0]?.location },
    );
  }
  return out;
}

/**
 * Reads and parses a nats-server configuration file (with includes and variables) and extracts
 * {@link NatsServerConfig}. Throws the parser's {@link ConfError}s or `validation`.
 */
export function loadNatsServerConfig(
  path: string,
  options: Omit<ParseConfOptions, "file"> = {},
): NatsServerConfig {
  return extractNatsServerConfig(parseConfFile(path, options));
}

interface Entry {
  readonly key: string;
  readonly node: ConfNode;
  readonly keyPos: ConfLocation;
}

function lowerMap(m: ConfMapNode): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const e of m.entries.values()) out.set(e.key.toLowerCase(), e);
  return out;
}

class Extractor {
  private readonly issues: ConfIssue[];
  constructor(issues: ConfIssue[]) {
    this.issues = issues;
  }

  bad(e: Entry, key: string, expected: string): undefined {
    const code = ConfErrorCode.WrongType;
    this.issues.push({
      code,
      key,
      location: e.keyPos,
      message: `${formatLocation(e.keyPos)}: wrong type for "${key}": expected ${expected}, got ${describeNode(e.node)}`,
    });
    return undefined;
  }

  str(e: Entry, key: string): string | undefined {
    return e.node.kind === "string" ? e.node.value : this.bad(e, key, "a string");
  }

  int(e: Entry, key: string, min: number, max: number): number | undefined {
    if (e.node.kind !== "int") return this.bad(e, key, "an integer");
    const v = e.node.value;
    if (typeof v === "bigint" || v < min || v > max) {
      this.issues.push({
        code: ConfErrorCode.OutOfRange,
        key,
        location: e.keyPos,
        message: `${formatLocation(e.keyPos)}: "${key}" is out of range: ${v} is not between ${min} and ${max}`,
      });
      return undefined;
    }
    return v;
  }

  duration(e: Entry, key: string): number | undefined {
    if (e.node.kind === "int" && typeof e.node.value === "number" && e.node.value >= 0)
      return e.node.value * 1000;
    if (e.node.kind === "string") {
      const v = parseGoDuration(e.node.value);
      if (v !== undefined && v >= 0) return v;
      this.issues.push({
        code: ConfErrorCode.BadDuration,
        key,
        location: e.keyPos,
        message: `${formatLocation(e.keyPos)}: bad duration for "${key}": ${JSON.stringify(e.node.value)} is not a duration (use a Go duration such as "20s", "1m30s" or "100ms")`,
      });
      return undefined;
    }
    return this.bad(e, key, "a duration");
  }
}
