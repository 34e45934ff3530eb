/**
 * Server settings: the CLI flags of spec §4.2 (plus a few TS-port extensions) layered over a config
 * file (spec §4.3 keys, flat dotted or nested) over the defaults. Unknown keys are an error, as upstream.
 * @module
 */
import { parseArgs } from "node:util";
import { parseConfFile } from "@liftbridge/conf";

/** Every §4.3 key this server understands, with its kind. Keys listed as `ignored` are accepted, unused. */
const KEYS: Record<string, "string" | "int" | "bool" | "duration" | "list" | "ignored"> = {
  listen: "string",
  host: "string",
  port: "int",
  "data.dir": "string",
  "metadata.cache.max.age": "ignored",
  "batch.max.messages": "int",
  "batch.max.time": "ignored",
  "logging.level": "string",
  "logging.recovery": "ignored",
  "logging.raft": "ignored",
  "logging.nats": "ignored",
  "tls.key": "string",
  "tls.cert": "string",
  "tls.client.auth.enabled": "ignored",
  "tls.client.auth.ca": "ignored",
  "tls.client.authz.enabled": "ignored",
  "tls.client.authz.model": "ignored",
  "tls.client.authz.policy": "ignored",
  "nats.servers": "list",
  "nats.user": "string",
  "nats.password": "string",
  "nats.tls.cert": "ignored",
  "nats.tls.key": "ignored",
  "nats.tls.ca": "ignored",
  "nats.embedded": "bool",
  "nats.embedded.config": "string",
  "streams.retention.max.bytes": "int",
  "streams.retention.max.messages": "int",
  "streams.retention.max.age": "duration",
  "streams.cleaner.interval": "duration",
  "streams.segment.max.bytes": "int",
  "streams.segment.max.age": "duration",
  "streams.compact.enabled": "bool",
  "streams.compact.max.goroutines": "ignored",
  "streams.auto.pause.time": "ignored",
  "streams.auto.pause.disable.if.subscribers": "ignored",
  "streams.concurrency.control": "ignored",
  "streams.encryption": "ignored",
  // TS-port extensions: commit-log fsync policy (none | interval | always) and its period.
  "streams.sync": "string",
  "streams.sync.interval": "duration",
  "clustering.server.id": "string",
  "clustering.namespace": "string",
  "clustering.raft.snapshot.retain": "ignored",
  "clustering.raft.snapshot.threshold": "ignored",
  "clustering.raft.cache.size": "ignored",
  "clustering.raft.bootstrap.seed": "bool",
  "clustering.raft.bootstrap.peers": "list",
  "clustering.raft.max.quorum.size": "ignored",
  "clustering.replica.max.lag.time": "ignored",
  "clustering.replica.max.leader.timeout": "ignored",
  "clustering.replica.max.idle.wait": "ignored",
  "clustering.replica.fetch.timeout": "ignored",
  "clustering.min.insync.replicas": "int",
  "clustering.replication.max.bytes": "int",
  "activity.stream.enabled": "ignored",
  "activity.stream.publish.timeout": "ignored",
  "activity.stream.publish.ack.policy": "ignored",
  "cursors.stream.partitions": "ignored",
  "cursors.stream.replication.factor": "ignored",
  "cursors.stream.auto.pause.time": "ignored",
  "groups.consumer.timeout": "ignored",
  "groups.coordinator.timeout": "ignored",
  "telemetry.enabled": "ignored",
  "telemetry.interval.seconds": "ignored",
  // TS-port extension: the embedded NATS server's port (default 4222; 0 picks a free one).
  "nats.embedded.port": "int",
};

/** A settings error (bad flag, unknown key, wrong type): the CLI prints it and exits 2. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** The effective settings, keyed by §4.3 names. */
export type Settings = Map<string, string | number | boolean | string[]>;

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a Go duration (`"1h30m"`, `"250ms"`, `"0"`) or a number of seconds into milliseconds. */
export function parseDurationMs(v: unknown, key: string): number {
  if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v * 1000;
  if (typeof v !== "string") throw new ConfigError(`${key}: expected a duration`);
  if (v === "0") return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(v); m !== null; m = re.exec(v)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== v.length || v === "") throw new ConfigError(`${key}: invalid duration ${JSON.stringify(v)}`);
  return Math.round(total);
}

function coerce(key: string, v: unknown): string | number | boolean | string[] {
  const kind = KEYS[key];
  if (kind === undefined) throw new ConfigError(`Unknown configuration setting "${key}"`);
  switch (kind) {
    case "string":
      if (typeof v === "string") return v;
      if (typeof v === "number" && (key === "listen" || key === "clustering.server.id")) return String(v);
      throw new ConfigError(`${key}: expected a string`);
    case "int": {
      const n = typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v;
      if (typeof n !== "number" || !Number.isSafeInteger(n))
        throw new ConfigError(`${key}: expected an integer`);
      return n;
    }
    case "bool":
      if (typeof v === "boolean") return v;
      if (v === "true" || v === "false") return v === "true";
      throw new ConfigError(`${key}: expected a boolean`);
    case "duration":
      return parseDurationMs(v, key);
    case "list":
      if (typeof v === "string") return v.split(",").filter((s) => s !== "");
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
      throw new ConfigError(`${key}: expected a list of strings`);
    case "ignored":
      return typeof v === "object" ? JSON.stringify(v) : (v as string | number | boolean);
  }
}

/** Flattens nested maps into dotted keys (`{nats: {servers: [...]}}` → `nats.servers`). */
function flatten(obj: Record<string, unknown>, prefix: string, out: Map<string, unknown>): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix === "" ? k : `${prefix}.${k}`;
    if (v !== null && typeof v === "object" && !Array.isArray(v) && KEYS[key] === undefined) {
      flatten(v as Record<string, unknown>, key, out);
    } else {
      out.set(key, v);
    }
  }
}

/** Loads a config file (NATS conf syntax: `key: value` lines with flat dotted keys or `{}` maps). */
export function loadConfigFile(file: string): Settings {
  let doc: ReturnType<typeof parseConfFile>;
  try {
    doc = parseConfFile(file);
  } catch (e) {
    throw new ConfigError(`config file ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const flat = new Map<string, unknown>();
  flatten(doc.value as Record<string, unknown>, "", flat);
  const out: Settings = new Map();
  for (const [k, v] of flat) out.set(k, coerce(k, v));
  return out;
}

/** Usage text of the CLI. */
export const USAGE = `Usage: liftbridge [options]

  -c, --config FILE              config file
      --server-id, --id ID       clustering.server.id (default: stored id, else random)
      --namespace, --ns NS       clustering.namespace (default liftbridge-default)
  -n, --nats-servers ADDR[,ADDR] nats.servers (default: none = embedded NATS)
  -e, --embedded-nats            nats.embedded
      --embedded-nats-config, --nc FILE  nats.embedded.config (turns on embedded NATS)
      --embedded-nats-port PORT  nats.embedded.port (default 4222; 0 = any free port)
  -d, --data-dir DIR             data.dir (default /tmp/liftbridge/<namespace>)
  -p, --port PORT                port (default 9292; 0 = any free port)
      --tls-cert FILE            tls.cert
      --tls-key FILE             tls.key
  -l, --level LEVEL              logging.level (debug, info, warn, error)
      --raft-bootstrap-seed      clustering.raft.bootstrap.seed
      --raft-bootstrap-peers IDS clustering.raft.bootstrap.peers
      --sync POLICY              streams.sync: none | interval | always (fsync before acks)
  -h, --help                     this help
  -v, --version                  version
`;

/** The result of parsing the command line. */
export type CliCommand = { kind: "help" } | { kind: "version" } | { kind: "run"; settings: Settings };

/** Parses argv (without node and script) and the config file into settings; flags win over the file. */
export function parseCommandLine(argv: readonly string[]): CliCommand {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    throw new ConfigError(e instanceof Error ? e.message : String(e));
  }
  const v = parsed.values;
  if (v.help === true) return { kind: "help" };
  if (v.version === true) return { kind: "version" };
  const settings: Settings = v.config !== undefined ? loadConfigFile(v.config) : new Map();
  const set = (key: string, value: unknown): void => {
    if (value !== undefined) settings.set(key, coerce(key, value));
  };
  set("clustering.server.id", v["server-id"] ?? v.id);
  set("clustering.namespace", v.namespace ?? v.ns);
  const servers = [...(v["nats-servers"] ?? [])].flatMap((s) => s.split(",")).filter((s) => s !== "");
  if (servers.length > 0) settings.set("nats.servers", servers);
  if (v["embedded-nats"] === true) settings.set("nats.embedded", true);
  const nc = v["embedded-nats-config"] ?? v.nc;
  if (nc !== undefined) {
    settings.set("nats.embedded.config", nc);
    settings.set("nats.embedded", true);
  }
  set("nats.embedded.port", v["embedded-nats-port"]);
  set("data.dir", v["data-dir"]);
  set("port", v.port);
  set("tls.cert", v["tls-cert"]);
  set("tls.key", v["tls-key"]);
  set("logging.level", v.level);
  if (v["raft-bootstrap-seed"] === true) settings.set("clustering.raft.bootstrap.seed", true);
  set("clustering.raft.bootstrap.peers", v["raft-bootstrap-peers"]);
  set("streams.sync", v.sync);
  if (parsed.positionals.length > 0) throw new ConfigError(`unexpected argument ${parsed.positionals[0]}`);
  return { kind: "run", settings };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: "string", short: "c" },
      "server-id": { type: "string" },
      id: { type: "string" },
      namespace: { type: "string" },
      ns: { type: "string" },
      "nats-servers": { type: "string", short: "n", multiple: true },
      "embedded-nats": { type: "boolean", short: "e" },
      "embedded-nats-config": { type: "string" },
      nc: { type: "string" },
      "embedded-nats-port": { type: "string" },
      "data-dir": { type: "string", short: "d" },
      port: { type: "string", short: "p" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      level: { type: "string", short: "l" },
      "raft-bootstrap-seed": { type: "boolean" },
      "raft-bootstrap-peers": { type: "string" },
      sync: { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
}
