/** The kinds of value a Liftbridge option takes. */
export type OptionType =
  | "string"
  | "path"
  | "int"
  | "size"
  | "bool"
  | "duration"
  | "stringList"
  | "listen"
  | "enum";

/** The typed value of an option after parsing (durations in milliseconds, sizes in bytes). */
export type OptionValue = string | number | boolean | readonly string[] | undefined;

/** One configuration option of the Liftbridge server. */
export interface OptionSpec {
  /** Canonical dotted key as in the upstream YAML (`clustering.server.id`). */
  readonly key: string;
  /** Where the value lands in {@link LiftbridgeConfig} (dotted path of camelCase fields). */
  readonly field: string;
  readonly type: OptionType;
  /** Default value (already in the typed unit); `undefined` means unset. */
  readonly default: OptionValue;
  /** How the default reads in docs when it is computed or unset. */
  readonly defaultText?: string;
  /** One-sentence meaning, for docs. */
  readonly doc: string;
  /** Other accepted spellings (the seed's / old Liftbridge's keys). */
  readonly aliases?: readonly string[];
  /** Command-line flag that sets it (see {@link LIFTBRIDGE_FLAGS}). */
  readonly flag?: string;
  /** Inclusive numeric bounds (in the typed unit). */
  readonly min?: number;
  readonly max?: number;
  /** Allowed values of an `enum`. */
  readonly values?: readonly string[];
  /** Masked by {@link printEffectiveConfig}. */
  readonly secret?: boolean;
}

/** Log levels of `logging.level`. */
export type LogLevel = "debug" | "info" | "warn" | "error";
/**
 * Commit-log fsync policies of `streams.sync`. What an acked message survives:
 * - `none`: a process crash (the data is in the OS page cache), but not a power loss or kernel
 *   crash (whatever the OS had not written back yet is lost). Upstream relies on replication.
 * - `interval`: a process crash; after a power loss, at most the last `streams.sync.interval` of
 *   acked messages (plus one fsync) is lost.
 * - `always`: a process crash and a power loss (fsync before the append resolves and the ack
 *   goes out), provided the disk honours flushes.
 */
export type SyncPolicyName = "none" | "interval" | "always";
/** Ack policies of `activity.stream.publish.ack.policy`. */
export type AckPolicyName = "none" | "leader" | "all";

/** Stream defaults (`streams.*`), overridable per stream by `CreateStreamRequest` (API spec §4.4). */
export interface StreamDefaults {
  /** Size cap per partition log in bytes; 0 = unlimited. */
  readonly retentionMaxBytes: number;
  /** Message-count cap per partition log; 0 = unlimited. */
  readonly retentionMaxMessages: number;
  /** Segment TTL in ms; 0 = none. */
  readonly retentionMaxAgeMs: number;
  /** Interval of roll/retention/compaction checks, ms. */
  readonly cleanerIntervalMs: number;
  /** Segment size limit in bytes. */
  readonly segmentMaxBytes: number;
  /** Segment roll time in ms (defaults to the retention age; a value in (0, 1000) becomes 1000). */
  readonly segmentMaxAgeMs: number;
  readonly compactEnabled: boolean;
  /** Compaction parallelism (0 means the log's default of 10). */
  readonly compactMaxGoroutines: number;
  /** Idle time before a partition auto-pauses, ms; 0 = off. */
  readonly autoPauseTimeMs: number;
  readonly autoPauseDisableIfSubscribers: boolean;
  /** Optimistic concurrency control for every stream (applied, unlike upstream's quirk). */
  readonly concurrencyControl: boolean;
  /** Encrypt streams at rest (needs `LIFTBRIDGE_ENCRYPTION_KEY`). */
  readonly encryption: boolean;
  /** Commit-log fsync policy (server-wide; not a per-stream override). See {@link SyncPolicyName}. */
  readonly sync: SyncPolicyName;
  /** fsync period of the `interval` policy, ms (ignored by the other policies). */
  readonly syncIntervalMs: number;
}

/**
 * The complete, validated Liftbridge server configuration. Durations are milliseconds (`…Ms`),
 * sizes bytes. Produced by {@link loadConfig}; every field has its default filled in.
 */
export interface LiftbridgeConfig {
  /** Bind address as `host:port` when `listen` was given, else undefined. */
  readonly listen: string | undefined;
  /** Address the gRPC server binds: `listen`, else `host:port` when `host` was set, else `0.0.0.0:port`. */
  readonly bind: { readonly host: string; readonly port: number };
  /** `host` as configured (undefined: bind `0.0.0.0`, advertise `localhost`). */
  readonly host: string | undefined;
  /** Host and port advertised in metadata: `host` (default `localhost`) and `port`. */
  readonly advertise: { readonly host: string; readonly port: number };
  /** Advertised (and default bind) port. */
  readonly port: number;
  /** Data directory; defaults to `$TMPDIR/liftbridge/<namespace>` (`/tmp` when `TMPDIR` is unset or relative). */
  readonly dataDir: string;
  readonly metadataCacheMaxAgeMs: number;
  readonly batchMaxMessages: number;
  readonly batchMaxTimeMs: number;
  readonly logging: {
    readonly level: LogLevel;
    readonly recovery: boolean;
    readonly raft: boolean;
    readonly nats: boolean;
  };
  readonly tls: {
    readonly key: string | undefined;
    readonly cert: string | undefined;
    readonly clientAuthEnabled: boolean;
    readonly clientAuthCa: string | undefined;
    readonly clientAuthzEnabled: boolean;
    readonly clientAuthzModel: string | undefined;
    readonly clientAuthzPolicy: string | undefined;
  };
  readonly nats: {
    readonly servers: readonly string[];
    readonly user: string | undefined;
    readonly password: string | undefined;
    readonly tls: {
      readonly cert: string | undefined;
      readonly key: string | undefined;
      readonly ca: string | undefined;
    };
    /** Run the embedded NATS server (also true when `embeddedConfig` is set). */
    readonly embedded: boolean;
    /** nats-server config file for the embedded server (see `loadNatsServerConfig`). */
    readonly embeddedConfig: string | undefined;
    /**
     * Client port of the embedded NATS server; 0 = any free port. Its origin (`loadConfig`'s
     * `origins`) tells whether it was set or is the default (then a port in `embeddedConfig` wins).
     */
    readonly embeddedPort: number;
  };
  readonly streams: StreamDefaults;
  readonly clustering: {
    /** Undefined means: generate one (the broker persists it). */
    readonly serverId: string | undefined;
    readonly namespace: string;
    readonly raftSnapshotRetain: number;
    readonly raftSnapshotThreshold: number;
    readonly raftCacheSize: number;
    readonly raftBootstrapSeed: boolean;
    readonly raftBootstrapPeers: readonly string[];
    /** 0 = no limit. */
    readonly raftMaxQuorumSize: number;
    readonly replicaMaxLagTimeMs: number;
    readonly replicaMaxLeaderTimeoutMs: number;
    readonly replicaMaxIdleWaitMs: number;
    readonly replicaFetchTimeoutMs: number;
    readonly minInsyncReplicas: number;
    readonly replicationMaxBytes: number;
  };
  readonly activity: {
    readonly streamEnabled: boolean;
    readonly streamPublishTimeoutMs: number;
    readonly streamPublishAckPolicy: AckPolicyName;
  };
  readonly cursors: {
    readonly streamPartitions: number;
    /** -1 = all servers. */
    readonly streamReplicationFactor: number;
    readonly streamAutoPauseTimeMs: number;
    /** Cursors cached in memory by each server (TS-port key; upstream fixes it at 512). */
    readonly streamCacheSize: number;
  };
  readonly groups: {
    readonly consumerTimeoutMs: number;
    readonly coordinatorTimeoutMs: number;
  };
  readonly telemetry: {
    /** Off by default in this port (upstream defaults to on and posts to an external endpoint). */
    readonly enabled: boolean;
    readonly intervalSeconds: number;
  };
}

/** Default gRPC port. */
export const DEFAULT_PORT = 9292;
/** Default cluster namespace. */
export const DEFAULT_NAMESPACE = "liftbridge-default";

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const INT32_MAX = 2 ** 31 - 1;
const SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Every option of the Liftbridge server (API spec §4.3), in the upstream grouping. The README's
 * reference table is generated from this list (`pnpm --filter @liftbridge/conf gen:readme`).
 */
export const LIFTBRIDGE_OPTIONS: readonly OptionSpec[] = [
  // top level
  {
    key: "listen",
    field: "listen",
    type: "listen",
    default: undefined,
    defaultText: "`host:port`, else `0.0.0.0:port`",
    doc: "Bind address of the gRPC API: `host:port`, or an integer port (binds `0.0.0.0`).",
  },
  {
    key: "host",
    field: "host",
    type: "string",
    default: undefined,
    defaultText: "none (bind `0.0.0.0`, advertise `localhost`)",
    doc: "Host advertised in metadata; also the bind host when `listen` is unset.",
  },
  {
    key: "port",
    field: "port",
    type: "int",
    default: DEFAULT_PORT,
    flag: "--port",
    min: 0,
    max: 65535,
    doc: "Advertised and default bind port (0 picks a free port).",
  },
  {
    key: "data.dir",
    field: "dataDir",
    type: "path",
    default: undefined,
    defaultText: "`$TMPDIR/liftbridge/<namespace>` (`/tmp` when `TMPDIR` is unset)",
    flag: "--data-dir",
    doc: "Data directory (stream logs and Raft state).",
  },
  {
    key: "metadata.cache.max.age",
    field: "metadataCacheMaxAgeMs",
    type: "duration",
    default: 2 * MIN,
    min: 0,
    doc: "How long broker info is cached for `FetchMetadata`.",
  },
  {
    key: "batch.max.messages",
    field: "batchMaxMessages",
    type: "int",
    default: 1024,
    min: 1,
    max: INT32_MAX,
    doc: "Maximum messages per log append batch.",
  },
  {
    key: "batch.max.time",
    field: "batchMaxTimeMs",
    type: "duration",
    default: 0,
    min: 0,
    doc: "Maximum wait to fill a batch (0 = do not wait).",
  },
  // logging
  {
    key: "logging.level",
    field: "logging.level",
    type: "enum",
    values: ["debug", "info", "warn", "error"],
    default: "info",
    aliases: ["log.level"],
    flag: "--level",
    doc: "Log level.",
  },
  {
    key: "logging.recovery",
    field: "logging.recovery",
    type: "bool",
    default: false,
    aliases: ["log.recovery"],
    doc: "Log messages while replaying the Raft log on recovery.",
  },
  {
    key: "logging.raft",
    field: "logging.raft",
    type: "bool",
    default: false,
    aliases: ["log.raft", "clustering.raft.logging"],
    doc: "Log the Raft subsystem.",
  },
  {
    key: "logging.nats",
    field: "logging.nats",
    type: "bool",
    default: false,
    aliases: ["log.nats"],
    doc: "Log the embedded NATS server.",
  },
  // tls
  {
    key: "tls.key",
    field: "tls.key",
    type: "path",
    default: undefined,
    flag: "--tls-key",
    doc: "Server private key for the gRPC API (needs `tls.cert`).",
  },
  {
    key: "tls.cert",
    field: "tls.cert",
    type: "path",
    default: undefined,
    flag: "--tls-cert",
    doc: "Server certificate for the gRPC API (needs `tls.key`).",
  },
  {
    key: "tls.client.auth.enabled",
    field: "tls.clientAuthEnabled",
    type: "bool",
    default: false,
    doc: "Require and verify client certificates (mTLS); needs `tls.key` and `tls.cert`.",
  },
  {
    key: "tls.client.auth.ca",
    field: "tls.clientAuthCa",
    type: "path",
    default: undefined,
    doc: "CA used to verify client certificates.",
  },
  {
    key: "tls.client.authz.enabled",
    field: "tls.clientAuthzEnabled",
    type: "bool",
    default: false,
    doc: "ACL authorization (Casbin); needs client auth, `tls.client.authz.model` and `.policy`. Reads its own value (upstream reads the auth key's).",
  },
  {
    key: "tls.client.authz.model",
    field: "tls.clientAuthzModel",
    type: "path",
    default: undefined,
    doc: "Casbin model file.",
  },
  {
    key: "tls.client.authz.policy",
    field: "tls.clientAuthzPolicy",
    type: "path",
    default: undefined,
    doc: "Casbin CSV policy file (reloaded on SIGHUP).",
  },
  // nats
  {
    key: "nats.servers",
    field: "nats.servers",
    type: "stringList",
    default: ["nats://127.0.0.1:4222"],
    flag: "--nats-servers",
    doc: "NATS server URLs (a list, or one comma-separated string).",
  },
  { key: "nats.user", field: "nats.user", type: "string", default: undefined, doc: "NATS username." },
  {
    key: "nats.password",
    field: "nats.password",
    type: "string",
    default: undefined,
    secret: true,
    doc: "NATS password (masked by `--print-config`).",
  },
  {
    key: "nats.tls.cert",
    field: "nats.tls.cert",
    type: "path",
    default: undefined,
    doc: "Client certificate for NATS (needs `nats.tls.key`).",
  },
  {
    key: "nats.tls.key",
    field: "nats.tls.key",
    type: "path",
    default: undefined,
    doc: "Client key for NATS (needs `nats.tls.cert`).",
  },
  {
    key: "nats.tls.ca",
    field: "nats.tls.ca",
    type: "path",
    default: undefined,
    doc: "CA for NATS (optional).",
  },
  {
    key: "nats.embedded",
    field: "nats.embedded",
    type: "bool",
    default: false,
    flag: "--embedded-nats",
    doc: "Run an embedded NATS server.",
  },
  {
    key: "nats.embedded.config",
    field: "nats.embeddedConfig",
    type: "path",
    default: undefined,
    flag: "--embedded-nats-config",
    doc: "nats-server config file for the embedded server (host, port, limits, authorization); setting it turns on `nats.embedded`.",
  },
  {
    key: "nats.embedded.port",
    field: "nats.embeddedPort",
    type: "int",
    default: 4222,
    flag: "--embedded-nats-port",
    min: 0,
    max: 65535,
    doc: "Client port of the embedded NATS server (0 = any free port); when left at the default, a port in `nats.embedded.config` wins.",
  },
  // streams
  {
    key: "streams.retention.max.bytes",
    field: "streams.retentionMaxBytes",
    type: "size",
    default: 0,
    min: 0,
    max: SAFE,
    doc: "Size cap per partition log; old segments are dropped (0 = unlimited).",
  },
  {
    key: "streams.retention.max.messages",
    field: "streams.retentionMaxMessages",
    type: "int",
    default: 0,
    min: 0,
    max: SAFE,
    doc: "Message-count cap per partition log (0 = unlimited).",
  },
  {
    key: "streams.retention.max.age",
    field: "streams.retentionMaxAgeMs",
    type: "duration",
    default: 168 * H,
    min: 0,
    doc: "Segment TTL (0 = none).",
  },
  {
    key: "streams.cleaner.interval",
    field: "streams.cleanerIntervalMs",
    type: "duration",
    default: 5 * MIN,
    min: 1,
    doc: "How often roll, retention and compaction checks run.",
  },
  {
    key: "streams.segment.max.bytes",
    field: "streams.segmentMaxBytes",
    type: "size",
    default: 268435456,
    min: 1,
    max: SAFE,
    doc: "Segment size limit.",
  },
  {
    key: "streams.segment.max.age",
    field: "streams.segmentMaxAgeMs",
    type: "duration",
    default: undefined,
    defaultText: "`streams.retention.max.age`",
    min: 0,
    doc: "Segment roll time; a value under 1s (but not 0) becomes 1s.",
  },
  {
    key: "streams.compact.enabled",
    field: "streams.compactEnabled",
    type: "bool",
    default: false,
    aliases: ["log.compact", "streams.compact"],
    doc: "Key compaction.",
  },
  {
    key: "streams.compact.max.goroutines",
    field: "streams.compactMaxGoroutines",
    type: "int",
    default: 10,
    min: 0,
    max: 1024,
    doc: "Compaction parallelism (0 = the log's default, 10).",
  },
  {
    key: "streams.auto.pause.time",
    field: "streams.autoPauseTimeMs",
    type: "duration",
    default: 0,
    min: 0,
    doc: "Idle time before a partition auto-pauses (0 = off).",
  },
  {
    key: "streams.auto.pause.disable.if.subscribers",
    field: "streams.autoPauseDisableIfSubscribers",
    type: "bool",
    default: false,
    doc: "Do not auto-pause partitions that have subscribers.",
  },
  {
    key: "streams.concurrency.control",
    field: "streams.concurrencyControl",
    type: "bool",
    default: false,
    doc: "Optimistic concurrency control for all streams.",
  },
  {
    key: "streams.encryption",
    field: "streams.encryption",
    type: "bool",
    default: false,
    doc: "Encrypt all streams at rest (needs `LIFTBRIDGE_ENCRYPTION_KEY`).",
  },
  {
    key: "streams.sync",
    field: "streams.sync",
    type: "enum",
    values: ["none", "interval", "always"],
    default: "none",
    flag: "--sync",
    doc: "Commit-log fsync policy: `none` (upstream's: relies on replication; acked data survives a process crash, not a power loss), `interval` (fsync every `streams.sync.interval`; a power loss loses at most that window), `always` (fsync before acking; acked data survives a power loss).",
  },
  {
    key: "streams.sync.interval",
    field: "streams.syncIntervalMs",
    type: "duration",
    default: S,
    min: 1,
    flag: "--sync-interval",
    doc: "fsync period of the `interval` sync policy (ignored by the other policies).",
  },
  // clustering
  {
    key: "clustering.server.id",
    field: "clustering.serverId",
    type: "string",
    default: undefined,
    defaultText: "random, then persisted",
    flag: "--server-id",
    doc: "Server ID (no spaces or dots).",
  },
  {
    key: "clustering.namespace",
    field: "clustering.namespace",
    type: "string",
    default: DEFAULT_NAMESPACE,
    flag: "--namespace",
    doc: "Cluster namespace, the prefix of NATS subjects (no spaces or dots).",
  },
  {
    key: "clustering.raft.snapshot.retain",
    field: "clustering.raftSnapshotRetain",
    type: "int",
    default: 2,
    min: 1,
    max: INT32_MAX,
    doc: "Raft snapshots kept on disk.",
  },
  {
    key: "clustering.raft.snapshot.threshold",
    field: "clustering.raftSnapshotThreshold",
    type: "int",
    default: 8192,
    min: 1,
    max: SAFE,
    doc: "Outstanding log entries before a Raft snapshot.",
  },
  {
    key: "clustering.raft.cache.size",
    field: "clustering.raftCacheSize",
    type: "int",
    default: 512,
    min: 0,
    max: INT32_MAX,
    doc: "Raft log entries cached in memory.",
  },
  {
    key: "clustering.raft.bootstrap.seed",
    field: "clustering.raftBootstrapSeed",
    type: "bool",
    default: false,
    flag: "--raft-bootstrap-seed",
    doc: "Bootstrap as the single-node leader when there is no state.",
  },
  {
    key: "clustering.raft.bootstrap.peers",
    field: "clustering.raftBootstrapPeers",
    type: "stringList",
    default: [],
    flag: "--raft-bootstrap-peers",
    doc: "Bootstrap with an explicit list of peer server IDs.",
  },
  {
    key: "clustering.raft.max.quorum.size",
    field: "clustering.raftMaxQuorumSize",
    type: "int",
    default: 0,
    min: 0,
    max: INT32_MAX,
    doc: "Maximum Raft voters; the rest are non-voters (0 = no limit).",
  },
  {
    key: "clustering.replica.max.lag.time",
    field: "clustering.replicaMaxLagTimeMs",
    type: "duration",
    default: 15 * S,
    min: 1,
    doc: "A follower that has not caught up within this time leaves the ISR.",
  },
  {
    key: "clustering.replica.max.leader.timeout",
    field: "clustering.replicaMaxLeaderTimeoutMs",
    type: "duration",
    default: 15 * S,
    min: 1,
    doc: "A follower reports a silent leader after this long.",
  },
  {
    key: "clustering.replica.max.idle.wait",
    field: "clustering.replicaMaxIdleWaitMs",
    type: "duration",
    default: 10 * S,
    min: 1,
    doc: "Maximum wait between replication requests of a caught-up follower.",
  },
  {
    key: "clustering.replica.fetch.timeout",
    field: "clustering.replicaFetchTimeoutMs",
    type: "duration",
    default: 3 * S,
    min: 1,
    doc: "Replication request timeout.",
  },
  {
    key: "clustering.min.insync.replicas",
    field: "clustering.minInsyncReplicas",
    type: "int",
    default: 1,
    min: 1,
    max: INT32_MAX,
    doc: "Minimum ISR size needed to commit.",
  },
  {
    key: "clustering.replication.max.bytes",
    field: "clustering.replicationMaxBytes",
    type: "size",
    default: 1048576,
    min: 1,
    max: SAFE,
    doc: "Maximum replication payload, and so the maximum message size.",
  },
  // activity
  {
    key: "activity.stream.enabled",
    field: "activity.streamEnabled",
    type: "bool",
    default: false,
    doc: "Create `__activity` and publish events to it.",
  },
  {
    key: "activity.stream.publish.timeout",
    field: "activity.streamPublishTimeoutMs",
    type: "duration",
    default: 5 * S,
    min: 1,
    doc: "Ack wait for activity event publishes.",
  },
  {
    key: "activity.stream.publish.ack.policy",
    field: "activity.streamPublishAckPolicy",
    type: "enum",
    values: ["none", "leader", "all"],
    default: "all",
    doc: "Ack policy for activity event publishes.",
  },
  // cursors
  {
    key: "cursors.stream.partitions",
    field: "cursors.streamPartitions",
    type: "int",
    default: 0,
    min: 0,
    max: INT32_MAX,
    doc: "Partitions of `__cursors` (0 = cursors disabled); fixed once created.",
  },
  {
    key: "cursors.stream.replication.factor",
    field: "cursors.streamReplicationFactor",
    type: "int",
    default: -1,
    min: -1,
    max: INT32_MAX,
    doc: "Replication factor of `__cursors` (-1 = all servers; 0 is invalid).",
  },
  {
    key: "cursors.stream.auto.pause.time",
    field: "cursors.streamAutoPauseTimeMs",
    type: "duration",
    default: MIN,
    min: 0,
    doc: "Idle auto-pause time of `__cursors` partitions.",
  },
  {
    key: "cursors.stream.cache.size",
    field: "cursors.streamCacheSize",
    type: "int",
    default: 512,
    min: 0,
    max: INT32_MAX,
    doc: "Cursors kept in each server's LRU cache (0 = no cache). Not an upstream key: upstream fixes it at 512.",
  },
  // groups
  {
    key: "groups.consumer.timeout",
    field: "groups.consumerTimeoutMs",
    type: "duration",
    default: 15 * S,
    min: 1,
    doc: "A consumer-group member silent this long is removed.",
  },
  {
    key: "groups.coordinator.timeout",
    field: "groups.coordinatorTimeoutMs",
    type: "duration",
    default: 15 * S,
    min: 1,
    doc: "Members report a silent coordinator after this long.",
  },
  // telemetry
  {
    key: "telemetry.enabled",
    field: "telemetry.enabled",
    type: "bool",
    default: false,
    doc: "Anonymous usage reporting. Off by default here (upstream: on).",
  },
  {
    key: "telemetry.interval.seconds",
    field: "telemetry.intervalSeconds",
    type: "int",
    default: 86400,
    min: 1,
    max: INT32_MAX,
    doc: "Reporting interval, in seconds.",
  },
];

const BY_KEY = new Map<string, OptionSpec>();
for (const o of LIFTBRIDGE_OPTIONS) {
  BY_KEY.set(o.key, o);
  for (const a of o.aliases ?? []) BY_KEY.set(a, o);
}

/** The option for a key (canonical or alias, case-insensitive), or undefined. `log.X` also maps to `streams.X`. */
export function findOption(key: string): OptionSpec | undefined {
  const k = key.toLowerCase();
  const direct = BY_KEY.get(k);
  if (direct !== undefined) return direct;
  if (k.startsWith("log.")) return BY_KEY.get(`streams.${k.slice(4)}`);
  return undefined;
}

/** The environment variable that sets `key`: `LIFTBRIDGE_` + the key upper-cased with `_` for `.`. */
export function envVarName(key: string): string {
  return `LIFTBRIDGE_${key.toUpperCase().replace(/\./g, "_")}`;
}
