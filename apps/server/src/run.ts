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
  noopLogger,
  startBroker,
} from "@liftbridge/broker";
import { parseConfFile } from "@liftbridge/conf";
import { type NatsServer, natsServerOptionsFromConfig, startNatsServer } from "@liftbridge/nats-server";
import { type NatsConnection as NatsJsConnection, connect as natsConnect } from "nats";
import { isSet, type ServerSettings } from "./config.js";

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

const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";

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

/** `tls.client.auth.*`: require and verify client certificates (mTLS) against the configured CA. */
function clientAuth(c: ServerSettings["config"]) {
  if (!c.tls.clientAuthEnabled) return {};
  return {
    requestCert: true,
    rejectUnauthorized: true,
    ...(c.tls.clientAuthCa !== undefined ? { ca: readFileSync(c.tls.clientAuthCa) } : {}),
  };
}

/**
 * `tls.client.authz.*`: on when `tls.client.authz.enabled` itself is true (upstream reads the client
 * auth key instead); `@liftbridge/conf` rejects it without client auth, a model and a policy.
 */
function authzOptions(c: ServerSettings["config"]) {
  const { clientAuthzEnabled, clientAuthzModel, clientAuthzPolicy } = c.tls;
  if (!clientAuthzEnabled || clientAuthzModel === undefined || clientAuthzPolicy === undefined) return {};
  return { authz: { modelFile: clientAuthzModel, policyFile: clientAuthzPolicy } };
}

/** Starts NATS (embedded when asked or when no servers are configured), then the broker. */
export async function runServer(settings: ServerSettings, logger: Logger): Promise<RunningServer> {
  const c = settings.config;
  const namespace = c.clustering.namespace;
  const dataDir = c.dataDir;
  const serverId = resolveServerId(dataDir, c.clustering.serverId);
  // Upstream defaults nats.servers to nats://127.0.0.1:4222; here "nothing given" means embedded NATS.
  const servers = c.nats.servers;
  const explicitServers = servers.length > 0 && !(servers.length === 1 && servers[0] === DEFAULT_NATS_URL);
  const embedded = c.nats.embedded || !explicitServers;
  let natsServer: NatsServer | undefined;
  let natsJs: NatsJsConnection | undefined;
  let nats: NatsConnection;
  let natsUrl: string;
  if (embedded) {
    const confFile = c.nats.embeddedConfig;
    const fromFile = confFile !== undefined ? natsServerOptionsFromConfig(parseConfFile(confFile).value) : {};
    // An explicit nats.embedded.port wins; left at its default, the embedded config file's port does.
    const port =
      isSet(settings, "nats.embedded.port") || fromFile.port === undefined
        ? c.nats.embeddedPort
        : fromFile.port;
    natsServer = await startNatsServer({
      ...fromFile,
      port,
      logger: c.logging.nats ? logger.child({ component: "nats" }) : noopLogger,
    });
    nats = natsServer.connect({ name: `LIFT.${namespace}.${serverId}` });
    natsUrl = natsServer.url;
  } else {
    natsJs = await natsConnect({
      servers: [...servers],
      name: `LIFT.${namespace}.${serverId}`,
      noAsyncTraces: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...(c.nats.user !== undefined ? { user: c.nats.user } : {}),
      ...(c.nats.password !== undefined ? { pass: c.nats.password } : {}),
    });
    nats = fromNatsJs(natsJs);
    natsUrl = servers.join(",");
  }
  let broker: Broker;
  try {
    broker = await startBroker({
      dataDir,
      serverId,
      nats,
      namespace,
      host: c.advertise.host,
      port: c.advertise.port,
      listenPort: c.bind.port,
      listenHost: c.bind.host,
      raftBootstrapSeed: c.clustering.raftBootstrapSeed,
      raftBootstrapPeers: c.clustering.raftBootstrapPeers,
      raftMaxQuorumSize: c.clustering.raftMaxQuorumSize,
      raftSnapshotThreshold: c.clustering.raftSnapshotThreshold,
      metadataCacheMaxAgeMs: c.metadataCacheMaxAgeMs,
      sync: c.streams.sync,
      syncIntervalMs: c.streams.syncIntervalMs,
      maxMessageBytes: c.clustering.replicationMaxBytes,
      batchMaxMessages: c.batchMaxMessages,
      activity: {
        enabled: c.activity.streamEnabled,
        publishTimeoutMs: c.activity.streamPublishTimeoutMs,
        publishAckPolicy: c.activity.streamPublishAckPolicy,
      },
      cursors: {
        partitions: c.cursors.streamPartitions,
        replicationFactor: c.cursors.streamReplicationFactor,
        autoPauseTimeMs: c.cursors.streamAutoPauseTimeMs,
        cacheSize: c.cursors.streamCacheSize,
      },
      groups: {
        consumerTimeoutMs: c.groups.consumerTimeoutMs,
        coordinatorTimeoutMs: c.groups.coordinatorTimeoutMs,
      },
      streams: {
        retentionMaxBytes: c.streams.retentionMaxBytes,
        retentionMaxMessages: c.streams.retentionMaxMessages,
        retentionMaxAgeMs: c.streams.retentionMaxAgeMs,
        cleanerIntervalMs: c.streams.cleanerIntervalMs,
        segmentMaxBytes: c.streams.segmentMaxBytes,
        segmentMaxAgeMs: c.streams.segmentMaxAgeMs,
        compactEnabled: c.streams.compactEnabled,
        compactMaxGoroutines: c.streams.compactMaxGoroutines,
        autoPauseTimeMs: c.streams.autoPauseTimeMs,
        autoPauseDisableIfSubscribers: c.streams.autoPauseDisableIfSubscribers,
        minIsr: c.clustering.minInsyncReplicas,
        encryption: c.streams.encryption,
      },
      // Read directly, not through the config (spec api §4.1).
      encryptionKey: process.env.LIFTBRIDGE_ENCRYPTION_KEY,
      ...(c.tls.key !== undefined && c.tls.cert !== undefined
        ? {
            grpc: { tls: { key: readFileSync(c.tls.key), cert: readFileSync(c.tls.cert), ...clientAuth(c) } },
          }
        : {}),
      ...authzOptions(c),
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
