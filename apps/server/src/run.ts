/**
 * Wiring only: settings → NATS (embedded or external) → broker → gRPC, with a pino logger.
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import {
  type Broker,
  fromNatsJs,
  type Logger,
  type NatsConnection,
  newId,
  startBroker,
} from "@liftbridge/broker";
import { parseConfFile } from "@liftbridge/conf";
import { type NatsServer, natsServerOptionsFromConfig, startNatsServer } from "@liftbridge/nats-server";
import { type NatsConnection as NatsJsConnection, connect as natsConnect } from "nats";
import { ConfigError, type Settings } from "./config.js";

/** A running server. */
export interface RunningServer {
  readonly serverId: string;
  /** gRPC port. */
  readonly port: number;
  /** URL of the NATS server in use. */
  readonly natsUrl: string;
  readonly broker: Broker;
  /** Drains and stops everything. Idempotent. */
  close(): Promise<void>;
}

const str = (s: Settings, k: string): string | undefined => s.get(k) as string | undefined;
const num = (s: Settings, k: string): number | undefined => s.get(k) as number | undefined;
const bool = (s: Settings, k: string): boolean => s.get(k) === true;

/** The server id: the flag/config value, else the one stored in `data.dir/server-id`, else a new one. */
export function resolveServerId(dataDir: string, configured: string | undefined): string {
  const file = path.join(dataDir, "server-id");
  mkdirSync(dataDir, { recursive: true });
  let stored: string | undefined;
  try {
    stored = readFileSync(file, "utf8").trim();
  } catch {
    stored = undefined;
  }
  const id = configured ?? (stored !== undefined && stored !== "" ? stored : newId());
  if (id !== stored) writeFileSync(file, `${id}\n`);
  return id;
}

/** Starts NATS (embedded when asked or when no servers are configured), then the broker. */
export async function runServer(settings: Settings, logger: Logger): Promise<RunningServer> {
  const namespace = str(settings, "clustering.namespace") ?? "liftbridge-default";
  const dataDir = str(settings, "data.dir") ?? path.join("/tmp/liftbridge", namespace);
  const serverId = resolveServerId(dataDir, str(settings, "clustering.server.id"));
  const servers = (settings.get("nats.servers") as string[] | undefined) ?? [];
  const embedded = bool(settings, "nats.embedded") || servers.length === 0;
  const sync = str(settings, "streams.sync") ?? "none";
  if (sync !== "none" && sync !== "interval" && sync !== "always") {
    throw new ConfigError(`streams.sync: expected none, interval or always, got ${sync}`);
  }
  let natsServer: NatsServer | undefined;
  let natsJs: NatsJsConnection | undefined;
  let nats: NatsConnection;
  let natsUrl: string;
  if (embedded) {
    const confFile = str(settings, "nats.embedded.config");
    const fromFile = confFile !== undefined ? natsServerOptionsFromConfig(parseConfFile(confFile).value) : {};
    const port = num(settings, "nats.embedded.port");
    natsServer = await startNatsServer({
      ...fromFile,
      ...(port !== undefined ? { port } : {}),
      logger: logger.child({ component: "nats" }),
    });
    nats = natsServer.connect({ name: `LIFT.${namespace}.${serverId}` }) as unknown as NatsConnection;
    natsUrl = natsServer.url;
  } else {
    const user = str(settings, "nats.user");
    const pass = str(settings, "nats.password");
    natsJs = await natsConnect({
      servers: servers,
      name: `LIFT.${namespace}.${serverId}`,
      noAsyncTraces: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...(user !== undefined ? { user } : {}),
      ...(pass !== undefined ? { pass } : {}),
    });
    nats = fromNatsJs(natsJs);
    natsUrl = servers.join(",");
  }
  const port = num(settings, "port") ?? 9292;
  const listen = str(settings, "listen");
  let listenHost = str(settings, "host") ?? "0.0.0.0";
  let listenPort = port;
  if (listen !== undefined) {
    const i = listen.lastIndexOf(":");
    if (i >= 0) {
      listenHost = listen.slice(0, i) || "0.0.0.0";
      listenPort = Number(listen.slice(i + 1));
    } else listenPort = Number(listen);
  }
  const tlsKey = str(settings, "tls.key");
  const tlsCert = str(settings, "tls.cert");
  let broker: Broker;
  try {
    broker = await startBroker({
      dataDir,
      serverId,
      nats,
      namespace,
      host: str(settings, "host") ?? "localhost",
      port,
      listenPort,
      listenHost,
      raftBootstrapSeed:
        bool(settings, "clustering.raft.bootstrap.seed") ||
        ((settings.get("clustering.raft.bootstrap.peers") as string[] | undefined) ?? []).length > 0,
      sync,
      ...(num(settings, "streams.sync.interval") !== undefined
        ? { syncIntervalMs: num(settings, "streams.sync.interval")! }
        : {}),
      ...(num(settings, "clustering.replication.max.bytes") !== undefined
        ? { maxMessageBytes: num(settings, "clustering.replication.max.bytes")! }
        : {}),
      ...(num(settings, "batch.max.messages") !== undefined
        ? { batchMaxMessages: num(settings, "batch.max.messages")! }
        : {}),
      streams: {
        ...(num(settings, "streams.retention.max.bytes") !== undefined
          ? { retentionMaxBytes: num(settings, "streams.retention.max.bytes")! }
          : {}),
        ...(num(settings, "streams.retention.max.messages") !== undefined
          ? { retentionMaxMessages: num(settings, "streams.retention.max.messages")! }
          : {}),
        ...(num(settings, "streams.retention.max.age") !== undefined
          ? { retentionMaxAgeMs: num(settings, "streams.retention.max.age")! }
          : {}),
        ...(num(settings, "streams.cleaner.interval") !== undefined
          ? { cleanerIntervalMs: num(settings, "streams.cleaner.interval")! }
          : {}),
        ...(num(settings, "streams.segment.max.bytes") !== undefined
          ? { segmentMaxBytes: num(settings, "streams.segment.max.bytes")! }
          : {}),
        ...(num(settings, "streams.segment.max.age") !== undefined
          ? { segmentMaxAgeMs: num(settings, "streams.segment.max.age")! }
          : {}),
        ...(settings.has("streams.compact.enabled")
          ? { compactEnabled: bool(settings, "streams.compact.enabled") }
          : {}),
        ...(num(settings, "clustering.min.insync.replicas") !== undefined
          ? { minIsr: num(settings, "clustering.min.insync.replicas")! }
          : {}),
      },
      ...(tlsKey !== undefined && tlsCert !== undefined
        ? { grpc: { tls: { key: readFileSync(tlsKey), cert: readFileSync(tlsCert) } } }
        : {}),
      logger,
    });
  } catch (e) {
    await natsJs?.close();
    await natsServer?.close();
    throw e;
  }
  let closing: Promise<void> | undefined;
  return {
    serverId,
    port: broker.port,
    natsUrl,
    broker,
    close() {
      closing ??= (async () => {
        await broker.close();
        await natsJs?.drain();
        await natsServer?.drain({ timeoutMs: 2000 });
      })();
      return closing;
    },
  };
}
