import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  type ConfError,
  defaultConfig,
  isConfError,
  LIFTBRIDGE_OPTIONS,
  type LiftbridgeConfig,
  loadConfig,
  MASK,
  parseLiftbridgeArgs,
  printEffectiveConfig,
} from "../src/index.js";

const testdata = (name: string) => fileURLToPath(new URL(`./testdata/${name}`, import.meta.url));

/** Every default of API spec §4.3 (telemetry off by design). */
const DEFAULTS: LiftbridgeConfig = {
  listen: undefined,
  bind: { host: "0.0.0.0", port: 9292 },
  host: undefined,
  advertise: { host: "localhost", port: 9292 },
  port: 9292,
  dataDir: "/tmp/liftbridge/liftbridge-default",
  metadataCacheMaxAgeMs: 120_000,
  batchMaxMessages: 1024,
  batchMaxTimeMs: 0,
  logging: { level: "info", recovery: false, raft: false, nats: false },
  tls: {
    key: undefined,
    cert: undefined,
    clientAuthEnabled: false,
    clientAuthCa: undefined,
    clientAuthzEnabled: false,
    clientAuthzModel: undefined,
    clientAuthzPolicy: undefined,
  },
  nats: {
    servers: ["nats://127.0.0.1:4222"],
    user: undefined,
    password: undefined,
    tls: { cert: undefined, key: undefined, ca: undefined },
    embedded: false,
    embeddedConfig: undefined,
    embeddedPort: 4222,
  },
  streams: {
    retentionMaxBytes: 0,
    retentionMaxMessages: 0,
    retentionMaxAgeMs: 168 * 3600_000,
    cleanerIntervalMs: 300_000,
    segmentMaxBytes: 268435456,
    segmentMaxAgeMs: 168 * 3600_000,
    compactEnabled: false,
    compactMaxGoroutines: 10,
    autoPauseTimeMs: 0,
    autoPauseDisableIfSubscribers: false,
    concurrencyControl: false,
    encryption: false,
    sync: "none",
    syncIntervalMs: 1000,
  },
  clustering: {
    serverId: undefined,
    namespace: "liftbridge-default",
    raftSnapshotRetain: 2,
    raftSnapshotThreshold: 8192,
    raftCacheSize: 512,
    raftBootstrapSeed: false,
    raftBootstrapPeers: [],
    raftMaxQuorumSize: 0,
    replicaMaxLagTimeMs: 15_000,
    replicaMaxLeaderTimeoutMs: 15_000,
    replicaMaxIdleWaitMs: 10_000,
    replicaFetchTimeoutMs: 3000,
    minInsyncReplicas: 1,
    replicationMaxBytes: 1048576,
  },
  activity: { streamEnabled: false, streamPublishTimeoutMs: 5000, streamPublishAckPolicy: "all" },
  cursors: {
    streamPartitions: 0,
    streamReplicationFactor: -1,
    streamAutoPauseTimeMs: 60_000,
    streamCacheSize: 512,
  },
  groups: { consumerTimeoutMs: 15_000, coordinatorTimeoutMs: 15_000 },
  telemetry: { enabled: false, intervalSeconds: 86400 },
};

const load = (text: string, extra: Parameters<typeof loadConfig>[0] = {}) =>
  loadConfig({ text, file: "liftbridge.conf", env: {}, ...extra });

function validationError(f: () => unknown): ConfError {
  try {
    f();
  } catch (e) {
    if (isConfError(e, "validation")) return e;
    throw e;
  }
  throw new Error("expected a validation error");
}

/**
 * One test per option of API spec §4.3: [key, value as written in a NATS-format file, env text,
 * expected typed value, field]. A new option without a row fails "every option has a row".
 */
const SAMPLES: Array<[key: string, file: string, env: string, expected: unknown]> = [
  ["listen", "127.0.0.1:7000", "127.0.0.1:7000", "127.0.0.1:7000"],
  ["host", "broker-1.local", "broker-1.local", "broker-1.local"],
  ["port", "9393", "9393", 9393],
  ["data.dir", "/var/lib/lb", "/var/lib/lb", "/var/lib/lb"],
  ["metadata.cache.max.age", '"30s"', "30s", 30_000],
  ["batch.max.messages", "64", "64", 64],
  ["batch.max.time", '"5ms"', "5ms", 5],
  ["logging.level", "warn", "WARN", "warn"],
  ["logging.recovery", "true", "true", true],
  ["logging.raft", "yes", "on", true],
  ["logging.nats", "on", "1", true],
  ["tls.key", "/k.pem", "/k.pem", "/k.pem"],
  ["tls.cert", "/c.pem", "/c.pem", "/c.pem"],
  ["tls.client.auth.enabled", "true", "true", true],
  ["tls.client.auth.ca", "/ca.pem", "/ca.pem", "/ca.pem"],
  ["tls.client.authz.enabled", "true", "true", true],
  ["tls.client.authz.model", "/m.conf", "/m.conf", "/m.conf"],
  ["tls.client.authz.policy", "/p.csv", "/p.csv", "/p.csv"],
  ["nats.servers", '["nats://a:1", "nats://b:2"]', "nats://a:1,nats://b:2", ["nats://a:1", "nats://b:2"]],
  ["nats.user", "alice", "alice", "alice"],
  ["nats.password", "s3cret", "s3cret", "s3cret"],
  ["nats.tls.cert", "/nc.pem", "/nc.pem", "/nc.pem"],
  ["nats.tls.key", "/nk.pem", "/nk.pem", "/nk.pem"],
  ["nats.tls.ca", "/nca.pem", "/nca.pem", "/nca.pem"],
  ["nats.embedded", "true", "true", true],
  ["nats.embedded.config", "/etc/nats.conf", "/etc/nats.conf", "/etc/nats.conf"],
  ["nats.embedded.port", "4333", "4333", 4333],
  ["streams.retention.max.bytes", "1GB", "1GiB", 1073741824],
  ["streams.retention.max.messages", "1000", "1000", 1000],
  ["streams.retention.max.age", '"24h"', "24h", 86_400_000],
  ["streams.cleaner.interval", '"1m30s"', "1m30s", 90_000],
  ["streams.segment.max.bytes", '"64MiB"', "67108864", 67108864],
  ["streams.segment.max.age", '"1h"', "1h", 3_600_000],
  ["streams.compact.enabled", "true", "true", true],
  ["streams.compact.max.goroutines", "4", "4", 4],
  ["streams.auto.pause.time", '"10m"', "10m", 600_000],
  ["streams.auto.pause.disable.if.subscribers", "true", "true", true],
  ["streams.concurrency.control", "true", "true", true],
  ["streams.encryption", "true", "true", true],
  ["streams.sync", "always", "ALWAYS", "always"],
  ["streams.sync.interval", '"250ms"', "250ms", 250],
  ["clustering.server.id", "server-7", "server-7", "server-7"],
  ["clustering.namespace", "prod", "prod", "prod"],
  ["clustering.raft.snapshot.retain", "5", "5", 5],
  ["clustering.raft.snapshot.threshold", "100", "100", 100],
  ["clustering.raft.cache.size", "64", "64", 64],
  ["clustering.raft.bootstrap.seed", "true", "true", true],
  ["clustering.raft.bootstrap.peers", "[a, b, c]", "a,b,c", ["a", "b", "c"]],
  ["clustering.raft.max.quorum.size", "3", "3", 3],
  ["clustering.replica.max.lag.time", '"20s"', "20s", 20_000],
  ["clustering.replica.max.leader.timeout", "30", "30", 30_000],
  ["clustering.replica.max.idle.wait", '"500ms"', "500ms", 500],
  ["clustering.replica.fetch.timeout", '"2s"', "2s", 2000],
  ["clustering.min.insync.replicas", "2", "2", 2],
  ["clustering.replication.max.bytes", "2mb", "2MB", 2097152],
  ["activity.stream.enabled", "true", "true", true],
  ["activity.stream.publish.timeout", '"1s"', "1s", 1000],
  ["activity.stream.publish.ack.policy", "leader", "leader", "leader"],
  ["cursors.stream.partitions", "3", "3", 3],
  ["cursors.stream.replication.factor", "2", "2", 2],
  ["cursors.stream.auto.pause.time", '"2m"', "2m", 120_000],
  ["cursors.stream.cache.size", "16", "16", 16],
  ["groups.consumer.timeout", '"45s"', "45s", 45_000],
  ["groups.coordinator.timeout", '"25s"', "25s", 25_000],
  ["telemetry.enabled", "true", "true", true],
  ["telemetry.interval.seconds", "3600", "3600", 3600],
];

/** Extra settings some options need to pass the cross-option checks. */
const NEEDS: Record<string, string> = {
  "tls.key": "tls.cert: /c.pem",
  "tls.cert": "tls.key: /k.pem",
  "tls.client.auth.enabled": "tls.key: /k.pem\ntls.cert: /c.pem",
  "tls.client.authz.enabled":
    "tls.key: /k.pem\ntls.cert: /c.pem\ntls.client.auth.enabled: true\ntls.client.authz.model: /m\ntls.client.authz.policy: /p",
  "nats.tls.cert": "nats.tls.key: /nk.pem",
  "nats.tls.key": "nats.tls.cert: /nc.pem",
};

describe("defaults (API spec §4.3)", () => {
  it("loads every default with no file, env or flags", () => {
    expect(defaultConfig()).toEqual(DEFAULTS);
    expect(load("").config).toEqual(DEFAULTS);
  });
  it("every option has a sample row", () => {
    expect(SAMPLES.map((r) => r[0]).sort()).toEqual(LIFTBRIDGE_OPTIONS.map((o) => o.key).sort());
  });
  it.each(LIFTBRIDGE_OPTIONS.map((o) => [o.key, o] as const))(
    "%s default is in the schema and the config",
    (_k, o) => {
      const got = fieldOf(DEFAULTS, o.field);
      if (o.default !== undefined) expect(got).toEqual(o.default);
      else expect(o.defaultText ?? "none").toBeTruthy();
    },
  );
});

function fieldOf(c: LiftbridgeConfig, field: string): unknown {
  let cur: unknown = c;
  for (const p of field.split(".")) cur = (cur as Record<string, unknown>)[p];
  return cur;
}

describe.each(SAMPLES)("option %s", (key, fileText, envText, expected) => {
  const o = LIFTBRIDGE_OPTIONS.find((x) => x.key === key)!;
  const needs = NEEDS[key] ?? "";
  it("is set from a NATS-format file", () => {
    const { config, origins } = load(`${needs}\n${key}: ${fileText}\n`);
    expect(fieldOf(config, o.field)).toEqual(expected);
    expect(origins.get(key)?.kind).toBe("file");
  });
  it(`is set from LIFTBRIDGE_${key.toUpperCase().replace(/\./g, "_")}`, () => {
    const env = { [`LIFTBRIDGE_${key.toUpperCase().replace(/\./g, "_")}`]: envText };
    const { config, origins } = load(needs, { env });
    expect(fieldOf(config, o.field)).toEqual(expected);
    expect(origins.get(key)?.kind).toBe("env");
  });
});

describe("the seed example (issue #3)", () => {
  const seedExpected = (): LiftbridgeConfig => ({
    ...DEFAULTS,
    listen: "localhost:9293",
    bind: { host: "localhost", port: 9293 },
    dataDir: "/tmp/liftbridge/server-2",
    logging: { ...DEFAULTS.logging, level: "debug", raft: true },
    nats: { ...DEFAULTS.nats, servers: ["nats://localhost:4300", "nats://localhost:4301"] },
    streams: { ...DEFAULTS.streams, segmentMaxBytes: 1000000, retentionMaxBytes: 100000000000 },
    clustering: {
      ...DEFAULTS.clustering,
      serverId: "server-2",
      raftBootstrapSeed: true,
      replicaMaxLagTimeMs: 20_000,
    },
  });
  it("loads with exactly the seed's values (NATS format)", () => {
    const { config, origins } = loadConfig({ file: testdata("seed.conf"), env: {} });
    expect(config).toEqual(seedExpected());
    expect(origins.get("logging.raft")).toMatchObject({ kind: "file", name: "clustering.raft.logging" });
    expect(origins.get("streams.segment.max.bytes")?.location).toMatchObject({ line: 12, column: 5 });
  });
  it("an upstream-style YAML file gives the same configuration", () => {
    const { config } = loadConfig({ file: testdata("seed-upstream.yaml"), env: {} });
    expect(config).toEqual(seedExpected());
  });
  it("the YAML text and the conf text agree through the same loader", () => {
    const conf = loadConfig({ text: readFileSync(testdata("seed.conf"), "utf8"), env: {} }).config;
    const yaml = loadConfig({
      text: readFileSync(testdata("seed-upstream.yaml"), "utf8"),
      format: "yaml",
      env: {},
    }).config;
    expect(yaml).toEqual(conf);
  });
});

describe("key styles", () => {
  it("dotted keys and nested maps are equivalent", () => {
    const a = load("clustering.server.id: x\nstreams.segment.max.bytes: 10").config;
    const b = load("clustering { server { id: x } }\nstreams { segment { max { bytes: 10 } } }").config;
    const c = load("clustering { server.id: x }\nlog { segment.max.bytes: 10 }").config;
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });
  it("keys are case-insensitive", () => {
    expect(load("Clustering.Server.ID: x").config.clustering.serverId).toBe("x");
  });
  it("the same option under two spellings is a conflict", () => {
    const e = validationError(() => load("log.level: debug\nlogging.level: warn"));
    expect(e.issues.map((i) => i.message)).toEqual([
      'liftbridge.conf:2:1: "logging.level" sets the same option as "log.level" at liftbridge.conf:1:1',
    ]);
  });
});

describe("exact error messages (acceptance 4)", () => {
  const text = [
    "port: 9292",
    "clustering {",
    "  server.id: a",
    "  raft.loging: true",
    "}",
    'batch.max.messages: "lots"',
    'clustering.replica.max.lag.time: "20 seconds"',
  ].join("\n");
  it("unknown key, wrong type and bad duration each name key, file and line, all collected", () => {
    const e = validationError(() => load(text));
    expect(e.message).toBe(
      [
        "[validation] 3 configuration errors:",
        '  liftbridge.conf:4:3: unknown key "clustering.raft.loging" (did you mean "clustering.raft.logging"?)',
        '  liftbridge.conf:6:1: wrong type for "batch.max.messages": expected an integer, got a string ("lots")',
        '  liftbridge.conf:7:1: bad duration for "clustering.replica.max.lag.time": "20 seconds" is not a duration (use a Go duration such as "20s", "1m30s" or "100ms")',
      ].join("\n"),
    );
    expect(e.issues.map((i) => [i.code, i.key, i.location?.line])).toEqual([
      ["unknown_key", "clustering.raft.loging", 4],
      ["wrong_type", "batch.max.messages", 6],
      ["bad_duration", "clustering.replica.max.lag.time", 7],
    ]);
  });
  it("out-of-range values, bad sizes, bad enum values and conflicts", () => {
    const e = validationError(() =>
      load(
        [
          "port: 70000",
          'streams.segment.max.bytes: "12 parsecs"',
          "logging.level: loud",
          "tls.key: /k.pem",
          "clustering.raft.bootstrap.seed: true",
          "clustering.raft.bootstrap.peers: [a, b]",
          'clustering.replica.fetch.timeout: "-1s"',
          "clustering.server.id: a.b",
          "cursors.stream.replication.factor: 0",
        ].join("\n"),
      ),
    );
    expect(e.issues.map((i) => i.message)).toEqual([
      'liftbridge.conf:1:1: "port" is out of range: 70000 is not between 0 and 65535',
      'liftbridge.conf:2:1: bad size for "streams.segment.max.bytes": "12 parsecs" is not a size (such as 1048576, "256MB" or "1GiB")',
      'liftbridge.conf:3:1: bad value for "logging.level": "loud" is not one of "debug", "info", "warn", "error"',
      'liftbridge.conf:7:1: "clustering.replica.fetch.timeout" is out of range: -1s is not between 1ms and any',
      "liftbridge.conf:8:1: bad value for \"clustering.server.id\": \"a.b\" must be non-empty without spaces, '.', '*' or '>'",
      'liftbridge.conf:4:1: conflicting options: "tls.key" is set but "tls.cert" is not; both are needed',
      'liftbridge.conf:6:1: conflicting options: "clustering.raft.bootstrap.seed" and "clustering.raft.bootstrap.peers" can not both be set',
      'liftbridge.conf:9:1: "cursors.stream.replication.factor" must be -1 (all servers) or at least 1',
    ]);
  });
  it("env and flag problems name the variable or flag", () => {
    const e = validationError(() =>
      load("", {
        env: { LIFTBRIDGE_PORT: "http", LIFTBRIDGE_CLUSTERING_REPLICA_FETCH_TIMEOUT: "soon" },
        overrides: [{ key: "logging.level", value: "chatty", source: "--level" }],
      }),
    );
    expect(e.issues.map((i) => i.message)).toEqual([
      'env LIFTBRIDGE_PORT: wrong type for "port": expected an integer, got "http"',
      'env LIFTBRIDGE_CLUSTERING_REPLICA_FETCH_TIMEOUT: bad duration for "clustering.replica.fetch.timeout": "soon" is not a duration (use a Go duration such as "20s", "1m30s" or "100ms")',
      'flag --level: bad value for "logging.level": "chatty" is not one of "debug", "info", "warn", "error"',
    ]);
  });
  it("a syntax error is a parse error with position and excerpt", () => {
    try {
      load("port: 1\nlisten = a b\n");
      expect.unreachable();
    } catch (e) {
      expect(isConfError(e, "parse")).toBe(true);
      expect((e as Error).message).toBe(
        "[parse] liftbridge.conf:2:12: expected a newline, ';' or ',' after the value, got 'b'",
      );
    }
  });
});

describe("layering: defaults <- file <- env <- flags", () => {
  it("env overrides the file and flags override env, for nested keys too", () => {
    const args = parseLiftbridgeArgs([
      "--server-id",
      "from-flag",
      "-p=7777",
      "--embedded-nats-config",
      "/n.conf",
    ]);
    const { config, origins } = load(
      "clustering { server.id: from-file }\nport: 1111\nlogging.level: warn\nhost: h",
      {
        env: {
          LIFTBRIDGE_CLUSTERING_SERVER_ID: "from-env",
          LIFTBRIDGE_PORT: "2222",
          LIFTBRIDGE_LOGGING_LEVEL: "error",
          LIFTBRIDGE_UNRELATED: "ignored",
        },
        overrides: args.overrides,
      },
    );
    expect(config.clustering.serverId).toBe("from-flag");
    expect(config.port).toBe(7777);
    expect(config.bind).toEqual({ host: "h", port: 7777 });
    expect(config.advertise).toEqual({ host: "h", port: 7777 });
    expect(config.logging.level).toBe("error");
    expect(config.nats.embedded).toBe(true);
    expect(config.nats.embeddedConfig).toBe("/n.conf");
    expect(origins.get("clustering.server.id")).toMatchObject({ kind: "flag", name: "--server-id" });
    expect(origins.get("logging.level")).toMatchObject({ kind: "env", name: "LIFTBRIDGE_LOGGING_LEVEL" });
  });
  it("a NATS-format file can use $VARS from the same environment", () => {
    expect(
      load("clustering.server.id: $HOSTNAME_X", { env: { HOSTNAME_X: "node-a" } }).config.clustering.serverId,
    ).toBe("node-a");
  });
  it("empty environment variables are ignored", () => {
    expect(load("port: 1", { env: { LIFTBRIDGE_PORT: "" } }).config.port).toBe(1);
  });
  it("the data dir default follows the namespace; listen as an integer binds 0.0.0.0", () => {
    const { config } = load("clustering.namespace: ns1\nlisten: 5555");
    expect(config.dataDir).toBe("/tmp/liftbridge/ns1");
    expect(config.listen).toBe("0.0.0.0:5555");
    expect(config.bind).toEqual({ host: "0.0.0.0", port: 5555 });
    const tmp = (TMPDIR: string) => load("clustering.namespace: ns1", { env: { TMPDIR } }).config.dataDir;
    expect(tmp("/var/tmp/u1/")).toBe("/var/tmp/u1/liftbridge/ns1");
    expect(tmp("relative")).toBe("/tmp/liftbridge/ns1");
    expect(tmp("/")).toBe("/tmp/liftbridge/ns1");
  });
  it("segment max age follows the retention age and is at least 1s", () => {
    expect(load('streams.retention.max.age: "2h"').config.streams.segmentMaxAgeMs).toBe(7_200_000);
    expect(load('streams.segment.max.age: "10ms"').config.streams.segmentMaxAgeMs).toBe(1000);
    expect(load("streams.retention.max.age: 0").config.streams.segmentMaxAgeMs).toBe(0);
  });
  it("integer durations are seconds", () => {
    expect(load("groups.consumer.timeout: 7").config.groups.consumerTimeoutMs).toBe(7000);
  });
});

describe("commit-log sync policy and embedded NATS port", () => {
  it("defaults: sync none every 1s, embedded NATS on 4222", () => {
    const { config, origins } = load("");
    expect(config.streams.sync).toBe("none");
    expect(config.streams.syncIntervalMs).toBe(1000);
    expect(config.nats.embeddedPort).toBe(4222);
    expect(origins.get("nats.embedded.port")?.kind).toBe("default");
  });
  it("are set from a file (nested and dotted), YAML, env and flags, flags winning", () => {
    const nested = load(
      "streams {\n  sync: interval\n  sync.interval: 200ms\n}\nnats { embedded.port: 0 }\n",
    );
    expect(nested.config.streams).toMatchObject({ sync: "interval", syncIntervalMs: 200 });
    expect(nested.config.nats.embeddedPort).toBe(0);
    const yaml = loadConfig({
      text: "streams:\n  sync: always\n  sync.interval: 2s\nnats:\n  embedded.port: 4333\n",
      file: "c.yaml",
      env: {},
    }).config;
    expect(yaml.streams).toMatchObject({ sync: "always", syncIntervalMs: 2000 });
    expect(yaml.nats.embeddedPort).toBe(4333);
    const env = {
      LIFTBRIDGE_STREAMS_SYNC: "interval",
      LIFTBRIDGE_STREAMS_SYNC_INTERVAL: "3",
      LIFTBRIDGE_NATS_EMBEDDED_PORT: "0",
    };
    const fromEnv = load("streams.sync: always\n", { env });
    expect(fromEnv.config.streams).toMatchObject({ sync: "interval", syncIntervalMs: 3000 });
    expect(fromEnv.config.nats.embeddedPort).toBe(0);
    const args = parseLiftbridgeArgs([
      "--sync",
      "always",
      "--sync-interval=50ms",
      "--embedded-nats-port",
      "4444",
    ]);
    const fromFlags = load("streams.sync: none\n", { env, overrides: args.overrides });
    expect(fromFlags.config.streams).toMatchObject({ sync: "always", syncIntervalMs: 50 });
    expect(fromFlags.config.nats.embeddedPort).toBe(4444);
    expect(fromFlags.origins.get("streams.sync")).toMatchObject({ kind: "flag", name: "--sync" });
  });
  it("bad values name the key and the line (file), the variable or the flag", () => {
    const e = validationError(() =>
      load(
        [
          "port: 1",
          "streams.sync: sometimes",
          'streams.sync.interval: "often"',
          "nats.embedded.port: 70000",
        ].join("\n"),
        {
          env: { LIFTBRIDGE_STREAMS_SYNC_INTERVAL: "0" },
          overrides: parseLiftbridgeArgs(["--embedded-nats-port", "x", "--sync=never"]).overrides,
        },
      ),
    );
    expect(e.issues.map((i) => i.message)).toEqual([
      'liftbridge.conf:2:1: bad value for "streams.sync": "sometimes" is not one of "none", "interval", "always"',
      'liftbridge.conf:3:1: bad duration for "streams.sync.interval": "often" is not a duration (use a Go duration such as "20s", "1m30s" or "100ms")',
      'liftbridge.conf:4:1: "nats.embedded.port" is out of range: 70000 is not between 0 and 65535',
      'env LIFTBRIDGE_STREAMS_SYNC_INTERVAL: "streams.sync.interval" is out of range: 0s is not between 1ms and any',
      'flag --embedded-nats-port: wrong type for "nats.embedded.port": expected an integer, got "x"',
      'flag --sync: bad value for "streams.sync": "never" is not one of "none", "interval", "always"',
    ]);
  });
  it("--print-config is a flag without a config key", () => {
    expect(parseLiftbridgeArgs(["--print-config"])).toMatchObject({ printConfig: true, overrides: [] });
    expect(parseLiftbridgeArgs([]).printConfig).toBe(false);
  });
});

describe("flags (API spec §4.2)", () => {
  it("parses every flag and alias", () => {
    const a = parseLiftbridgeArgs([
      "-c",
      "lb.conf",
      "--id=s1",
      "--ns",
      "n1",
      "-n",
      "nats://a:1,nats://b:2",
      "--nats-servers",
      "nats://c:3",
      "-e",
      "--nc",
      "/x.conf",
      "-d",
      "/data",
      "--port",
      "1234",
      "--tls-cert",
      "/c",
      "--tls-key",
      "/k",
      "-l",
      "debug",
      "--raft-bootstrap-peers",
      "s1,s2",
      "extra",
    ]);
    expect(a.configFile).toBe("lb.conf");
    expect(a.positionals).toEqual(["extra"]);
    const { config } = load("", { overrides: a.overrides });
    expect(config.clustering.serverId).toBe("s1");
    expect(config.clustering.namespace).toBe("n1");
    expect(config.nats.servers).toEqual(["nats://a:1", "nats://b:2", "nats://c:3"]);
    expect(config.nats.embedded).toBe(true);
    expect(config.nats.embeddedConfig).toBe("/x.conf");
    expect(config.dataDir).toBe("/data");
    expect(config.port).toBe(1234);
    expect(config.tls).toMatchObject({ cert: "/c", key: "/k" });
    expect(config.logging.level).toBe("debug");
    expect(config.clustering.raftBootstrapPeers).toEqual(["s1", "s2"]);
    expect(parseLiftbridgeArgs(["--raft-bootstrap-seed", "-h", "--version"])).toMatchObject({
      help: true,
      version: true,
    });
  });
  it("rejects unknown flags and missing arguments with bad_flag", () => {
    expect(() => parseLiftbridgeArgs(["--nope"])).toThrow("[bad_flag] unknown flag '--nope'");
    expect(() => parseLiftbridgeArgs(["--port"])).toThrow("[bad_flag] flag '--port' needs an argument");
    expect(() => parseLiftbridgeArgs(["-e=maybe"])).toThrow(/takes true or false/);
  });
});

describe("printEffectiveConfig", () => {
  it("masks secrets, names origins, and loads back to the same configuration", () => {
    const loaded = load("nats.user: u\nnats.password: hunter2\nport: 9300\nclustering.server.id: s");
    const text = printEffectiveConfig(loaded.config, { origins: loaded.origins });
    expect(text).not.toContain("hunter2");
    expect(text).toContain(`nats.password: "${MASK}"  # from liftbridge.conf:2:1`);
    expect(text).toContain('streams.retention.max.age: "168h"');
    expect(text).toContain("# tls.key: (not set)");
    const back = load(text.replace(MASK, "hunter2")).config;
    expect(back).toEqual(loaded.config);
  });
  it("defaults print and reload unchanged", () => {
    expect(load(printEffectiveConfig(DEFAULTS)).config).toEqual(DEFAULTS);
  });
});
