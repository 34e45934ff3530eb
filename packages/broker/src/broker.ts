/**
 * The broker: metadata Raft group + FSM, the partitions hosted here, and the NATS plumbing shared by
 * the API (ack inboxes). `openBroker` recovers everything from `data.dir`; the API handlers live in
 * `api-service.ts`.
 * @module
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { type Ack, unmarshalAck } from "@liftbridge/api";
import type { SyncPolicy } from "@liftbridge/commitlog";
import {
  ActivityDispatcher,
  type ActivityOptions,
  createBrokerActivityHost,
  resolveActivityOptions,
} from "./activity.js";
import { type BrokerClock, systemBrokerClock } from "./clock.js";
import { ClusterMembership, joinCluster, type ServerInfo } from "./cluster-membership.js";
import {
  ConsumerGroupCoordinator,
  type ConsumerGroupOptions,
  DEFAULT_GROUP_OPTIONS,
  GroupSubscriberFence,
} from "./consumer-group-coordinator.js";
import { type ConsumerGroupState, pickCoordinator } from "./consumer-groups.js";
import {
  brokerCursorsHost,
  CURSORS_STREAM,
  CursorManager,
  type CursorsOptions,
  type ResolvedCursorsOptions,
  resolveCursorsOptions,
} from "./cursors.js";
import { parseMasterKey } from "./encryption.js";
import { BrokerError, BrokerErrorCode, isBrokerError } from "./errors.js";
import { type Logger, noopLogger } from "./logger.js";
import type { ApplyResult, MetadataListener, MetadataOp, PartitionState, StreamState } from "./metadata.js";
import { MetadataRaft } from "./metadata-raft.js";
import type { NatsConnection, NatsMessage, NatsSubscriptionHandle } from "./nats.js";
import { Partition, type PartitionContext, type StreamDefaults } from "./partition.js";
import { assertReplicationAvailable, placeStream } from "./placement.js";
import { DEFAULT_PROPAGATE_TIMEOUT_MS, Propagator, toGrpcError } from "./propagate.js";
import { createNatsRaftTransport } from "./raft-nats-transport.js";
import { newId, nowNs, streamDirName } from "./util.js";

/** Options of {@link openBroker}. Defaults in {@link resolveBrokerOptions}. */
export interface BrokerOptions {
  /** Data directory: `raft/` and `streams/<stream>/<partition>/`. */
  readonly dataDir: string;
  /** This server's id (no spaces or dots). */
  readonly serverId: string;
  /** The NATS connection (in-process for embedded NATS, or a nats.js adapter). */
  readonly nats: NatsConnection;
  /** `clustering.namespace`. Default `liftbridge-default`. */
  readonly namespace?: string;
  /** Advertised host in metadata. Default `localhost`. */
  readonly host?: string;
  /** Advertised port in metadata. Default 9292. */
  readonly port?: number;
  /** Bootstrap a single-node metadata group when there is no state. Default false. */
  readonly raftBootstrapSeed?: boolean;
  /**
   * `clustering.raft.bootstrap.peers`: ids of the other servers to bootstrap a new cluster with.
   * A server with neither this nor {@link raftBootstrapSeed} (and no state) joins a running cluster.
   */
  readonly raftBootstrapPeers?: readonly string[];
  /** `clustering.raft.max.quorum.size`: maximum voters, the rest are non-voters. Default 0 (no limit). */
  readonly raftMaxQuorumSize?: number;
  /** Join attempts of a server without state or bootstrap settings. Default 30, 1 s apart. */
  readonly raftJoinAttempts?: number;
  /** Pause between join attempts. Default 1000 ms. */
  readonly raftJoinIntervalMs?: number;
  /** `clustering.raft.snapshot.threshold`: applied entries between metadata snapshots. Default 8192. */
  readonly raftSnapshotThreshold?: number;
  /** `metadata.cache.max.age`: how long FetchMetadata lists a silent server. Default 2 min. */
  readonly metadataCacheMaxAgeMs?: number;
  /** Stream defaults (`streams.*`). */
  readonly streams?: Partial<StreamDefaults>;
  /** Commit-log fsync policy: `none` (default), `interval` or `always` (fsync before acks). */
  readonly sync?: SyncPolicy;
  /** Period of the `interval` sync policy. Default 1000 ms. */
  readonly syncIntervalMs?: number;
  /** `clustering.replication.max.bytes`. Default 1 MiB. */
  readonly maxMessageBytes?: number;
  /** `batch.max.messages`. Default 1024. */
  readonly batchMaxMessages?: number;
  /** Activity stream settings (`activity.stream.*`); disabled by default. */
  readonly activity?: Partial<ActivityOptions>;
  /** Cursors (`cursors.stream.*`); disabled unless `partitions` > 0. */
  readonly cursors?: CursorsOptions;
  /** Structured logger; default silent. */
  readonly logger?: Logger;
  /** Clock of the broker's timers (auto-pause); default the system clock. */
  readonly clock?: BrokerClock;
  /** Consumer-group settings (`groups.*`) and their timer clock. */
  readonly groups?: Partial<ConsumerGroupOptions>;
  /**
   * Master key of encryption at rest: the raw bytes of `LIFTBRIDGE_ENCRYPTION_KEY` (16 or 32 bytes; a
   * string is taken as UTF-8). Missing or invalid: creating an encrypted stream fails with
   * FailedPrecondition. Default: none.
   */
  readonly encryptionKey?: string | Uint8Array | undefined;
}

/** {@link BrokerOptions} with defaults applied. */
export interface ResolvedBrokerOptions {
  readonly dataDir: string;
  readonly serverId: string;
  readonly nats: NatsConnection;
  readonly namespace: string;
  readonly host: string;
  readonly port: number;
  readonly raftBootstrapSeed: boolean;
  readonly raftBootstrapPeers: readonly string[];
  readonly raftMaxQuorumSize: number;
  readonly raftJoinAttempts: number;
  readonly raftJoinIntervalMs: number;
  readonly raftSnapshotThreshold: number;
  readonly metadataCacheMaxAgeMs: number;
  readonly streams: StreamDefaults;
  readonly sync: SyncPolicy;
  readonly syncIntervalMs: number;
  readonly maxMessageBytes: number;
  readonly batchMaxMessages: number;
  readonly activity: ActivityOptions;
  readonly cursors: ResolvedCursorsOptions;
  readonly logger: Logger;
  readonly clock: BrokerClock;
  readonly groups: ConsumerGroupOptions;
  readonly encryptionKey: string | Uint8Array | undefined;
}

/** Default server-wide stream settings (spec §4.3). */
export const DEFAULT_STREAM_DEFAULTS: StreamDefaults = {
  retentionMaxBytes: 0,
  retentionMaxMessages: 0,
  retentionMaxAgeMs: 168 * 3600 * 1000,
  cleanerIntervalMs: 5 * 60 * 1000,
  segmentMaxBytes: 256 * 1024 * 1024,
  segmentMaxAgeMs: 0,
  compactEnabled: false,
  compactMaxGoroutines: 10,
  autoPauseTimeMs: 0,
  autoPauseDisableIfSubscribers: false,
  minIsr: 1,
  encryption: false,
};

/** Applies defaults; throws `invalid_argument` on a bad value. */
export function resolveBrokerOptions(o: BrokerOptions): ResolvedBrokerOptions {
  if (o.serverId === "" || /[\s.*>]/u.test(o.serverId)) {
    throw new BrokerError(
      BrokerErrorCode.InvalidArgument,
      "serverId must be non-empty, without spaces or dots",
    );
  }
  const r: ResolvedBrokerOptions = {
    dataDir: o.dataDir,
    serverId: o.serverId,
    nats: o.nats,
    namespace: o.namespace ?? "liftbridge-default",
    host: o.host ?? "localhost",
    port: o.port ?? 9292,
    raftBootstrapSeed: o.raftBootstrapSeed ?? false,
    raftBootstrapPeers: o.raftBootstrapPeers ?? [],
    raftMaxQuorumSize: o.raftMaxQuorumSize ?? 0,
    raftJoinAttempts: o.raftJoinAttempts ?? 30,
    raftJoinIntervalMs: o.raftJoinIntervalMs ?? 1000,
    raftSnapshotThreshold: o.raftSnapshotThreshold ?? 8192,
    metadataCacheMaxAgeMs: o.metadataCacheMaxAgeMs ?? 120_000,
    streams: { ...DEFAULT_STREAM_DEFAULTS, ...o.streams },
    sync: o.sync ?? "none",
    syncIntervalMs: o.syncIntervalMs ?? 1000,
    maxMessageBytes: o.maxMessageBytes ?? 1024 * 1024,
    batchMaxMessages: o.batchMaxMessages ?? 1024,
    activity: resolveActivityOptions(o.activity),
    cursors: resolveCursorsOptions(o.cursors),
    logger: o.logger ?? noopLogger,
    clock: o.clock ?? systemBrokerClock,
    // Group timers run on the broker's clock unless `groups.clock` says otherwise.
    groups: { ...DEFAULT_GROUP_OPTIONS, clock: o.clock ?? systemBrokerClock, ...o.groups },
    encryptionKey: o.encryptionKey,
  };
  for (const k of ["consumerTimeoutMs", "coordinatorTimeoutMs"] as const) {
    if (!Number.isFinite(r.groups[k]) || r.groups[k] <= 0)
      throw new BrokerError(BrokerErrorCode.InvalidArgument, `groups.${k} must be > 0`);
  }
  if (!Number.isSafeInteger(r.batchMaxMessages) || r.batchMaxMessages < 1) {
    throw new BrokerError(BrokerErrorCode.InvalidArgument, "batchMaxMessages must be >= 1");
  }
  return r;
}

/**
 * A callback for acks arriving on one of the broker's ack inboxes: decoded from NATS, or handed over
 * directly by a partition this server leads (no encode / NATS / decode round trip).
 */
export type AckListener = (ack: Ack) => void;

/**
 * The single-node Liftbridge broker. Use {@link openBroker}; serve it with `serveBroker`.
 * Concurrency: all methods run on one event loop; metadata writes are serialised by Raft.
 */
export class BrokerCore implements MetadataListener {
  readonly options: ResolvedBrokerOptions;
  readonly log: Logger;
  readonly partitions = new Map<string, Partition[]>();
  readonly raft: MetadataRaft;
  /** SetCursor / FetchCursor on the `__cursors` partitions this server leads. */
  readonly cursors: CursorManager;
  /** Consumer-group liveness timers and coordinator reports (groups coordinated here). */
  readonly groups: ConsumerGroupCoordinator;
  /** One subscriber per (group, partition) on the partitions led here. */
  readonly groupSubscribers = new GroupSubscriberFence();
  /** Prefix of every ack inbox this broker listens on: `<ns>.ack.<id>`. */
  readonly ackPrefix: string;
  /** Port advertised in metadata: `options.port`, or the bound port when that is 0. */
  advertisedPort: number;
  readonly #ctx: PartitionContext;
  #membership: ClusterMembership | undefined;
  #leadershipTimer: NodeJS.Timeout | undefined;
  #propagator: Propagator | undefined;
  readonly #ackListeners = new Map<string, AckListener>();
  #ackSub: NatsSubscriptionHandle | undefined;
  #nextInbox = 0;
  #closed = false;
  readonly #tasks = new Set<Promise<void>>();
  /** Why encrypted streams cannot be created (master key missing or invalid), or undefined. */
  readonly encryptionUnavailable: string | undefined;
  /** The activity stream dispatcher, when `activity.enabled` (spec internals §5.5). */
  #activity: ActivityDispatcher | undefined;

  private constructor(options: ResolvedBrokerOptions, raft: MetadataRaft) {
    this.options = options;
    this.log = options.logger.child({ component: "broker", nodeId: options.serverId });
    this.ackPrefix = `${options.namespace}.ack.${newId()}`;
    this.advertisedPort = options.port;
    let masterKey: Buffer | undefined;
    try {
      masterKey = parseMasterKey(options.encryptionKey);
    } catch (e) {
      if (!isBrokerError(e, BrokerErrorCode.Encryption)) throw e;
      this.encryptionUnavailable = e.message.slice(`[${e.code}] `.length);
      // Say so at start when encryption is wanted: on by default, or a key was given but is unusable.
      const given = options.encryptionKey !== undefined && options.encryptionKey.length > 0;
      if (options.streams.encryption || given) {
        this.log.warn({ err: e }, "encryption at rest unavailable: the master key is unusable");
      }
    }
    this.#ctx = {
      dataDir: options.dataDir,
      serverId: options.serverId,
      nats: options.nats,
      logger: options.logger,
      defaults: options.streams,
      sync: options.sync,
      syncIntervalMs: options.syncIntervalMs,
      maxMessageBytes: options.maxMessageBytes,
      batchMaxMessages: options.batchMaxMessages,
      localAck: (inbox, ack) => this.#deliverLocalAck(inbox, ack),
      clock: options.clock,
      proposePause: (p) => this.#proposeAutoPause(p),
      ...(masterKey !== undefined ? { encryptionKey: masterKey } : {}),
    };
    this.raft = raft;
    this.cursors = new CursorManager(brokerCursorsHost(this), options.cursors, options.logger);
    this.groups = new ConsumerGroupCoordinator(
      {
        serverId: options.serverId,
        logger: options.logger,
        groups: () => raft.state.groups.groups,
        brokers: () => this.groupCoordinatorCandidates(),
        propose: (op) => this.propose(op),
      },
      options.groups,
    );
  }

  /** @internal Use {@link openBroker}. */
  static async open(options: BrokerOptions): Promise<BrokerCore> {
    const resolved = resolveBrokerOptions(options);
    await fs.mkdir(path.join(resolved.dataDir, "streams"), { recursive: true });
    // Effects of ops applied after recovery go to the broker once it exists (none happen before).
    let core: BrokerCore | undefined;
    // The activity dispatcher hears every apply, recovery included (it remembers skipped ops).
    const activity = resolved.activity.enabled
      ? new ActivityDispatcher(
          createBrokerActivityHost(() => core!, resolved.activity),
          resolved.logger.child({ component: "activity", nodeId: resolved.serverId }),
        )
      : undefined;
    const forward: MetadataListener = {
      streamCreated: (s) => core?.streamCreated(s),
      streamDeleted: (s) => core?.streamDeleted(s),
      partitionPaused: (p) => core?.partitionPaused(p),
      partitionResumed: (p) => core?.partitionResumed(p),
      partitionReadonlyChanged: (p) => core?.partitionReadonlyChanged(p),
      consumerGroupChanged: (id, g) => core?.consumerGroupChanged(id, g),
    };
    const cluster = {
      nats: resolved.nats,
      namespace: resolved.namespace,
      serverId: resolved.serverId,
      logger: resolved.logger,
    };
    const raft = await MetadataRaft.open({
      dataDir: resolved.dataDir,
      serverId: resolved.serverId,
      bootstrapSeed: resolved.raftBootstrapSeed,
      bootstrapPeers: resolved.raftBootstrapPeers,
      maxQuorumSize: resolved.raftMaxQuorumSize,
      // Every server speaks Raft over NATS: a seed alone today may be joined tomorrow.
      transport: createNatsRaftTransport(cluster),
      join: () =>
        joinCluster({
          ...cluster,
          attempts: resolved.raftJoinAttempts,
          intervalMs: resolved.raftJoinIntervalMs,
        }),
      listener: forward,
      onRestore: () => core?.resync(),
      ...(resolved.raftSnapshotThreshold > 0 ? { snapshotThreshold: resolved.raftSnapshotThreshold } : {}),
      logger: resolved.logger, // raft binds its own component and nodeId
      onApply: (index, op, res) => activity?.applied(index, op, res),
    });
    const b = new BrokerCore(resolved, raft);
    core = b;
    b.#activity = activity;
    try {
      b.#membership = new ClusterMembership(
        {
          ...cluster,
          maxQuorumSize: resolved.raftMaxQuorumSize,
          metadataCacheMaxAgeMs: resolved.metadataCacheMaxAgeMs,
        },
        b,
      );
      b.#propagator = new Propagator(cluster, b);
      await b.#reconcile();
      const leading = raft.isLeader;
      // Metadata-leader hook (spec internals §3.5 step 4); a cluster of one always leads. A member
      // of a larger cluster runs the hooks when it gains leadership (#watchLeadership).
      if (leading) await b.cursors.initialize();
      // initialize() re-applies the configured auto-pause time to an existing `__cursors`.
      await Promise.all((b.partitions.get(CURSORS_STREAM) ?? []).map((p) => p.refreshAutoPause()));
      b.#ackSub = resolved.nats.subscribe(`${b.ackPrefix}.*`, { callback: b.#onAck });
      // Metadata-leader hook (spec internals §3.5 step 3); a single node leads once open.
      if (leading) b.#activity?.start();
      b.groups.start();
      b.#watchLeadership(leading);
    } catch (e) {
      await b.close();
      throw e;
    }
    b.log.info({ streams: b.raft.state.streams.size }, "broker started");
    return b;
  }

  /** Opens the partitions of every recovered stream; removes directories of streams that are gone. */
  async #reconcile(): Promise<void> {
    for (const s of this.raft.state.streams.values()) this.streamCreated(s);
    const dir = path.join(this.options.dataDir, "streams");
    const names = await fs.readdir(dir);
    // Checked after the await: in a cluster, entries applied meanwhile may have created streams.
    const keep = new Set([...this.partitions.keys()].map(streamDirName));
    for (const name of names) {
      if (!keep.has(name)) await fs.rm(path.join(dir, name), { recursive: true, force: true });
    }
    await Promise.all(this.#tasks);
  }

  #track(p: Promise<void>): Promise<void> {
    const t = p.catch((err: unknown) => this.log.error({ err }, "partition task failed"));
    this.#tasks.add(t);
    void t.finally(() => this.#tasks.delete(t));
    return t;
  }

  /**
   * @internal After a snapshot from the leader replaced the metadata state: streams that are gone
   * (or were recreated) are deleted here, the others are reopened from the new state.
   */
  resync(): void {
    const state = this.raft.state.streams;
    const old = [...this.partitions.entries()];
    this.partitions.clear();
    const reopen: StreamState[] = [];
    const steps: Promise<void>[] = [];
    for (const [name, parts] of old) {
      const now = state.get(name);
      const same = now !== undefined && now.creationTimestamp === parts[0]?.stream.creationTimestamp;
      if (same) {
        reopen.push(now);
        steps.push(Promise.allSettled(parts.map((p) => p.close())).then(() => {}));
      } else {
        const dir = path.join(this.options.dataDir, "streams", streamDirName(name));
        steps.push(
          Promise.allSettled(parts.map((p) => p.delete())).then(() =>
            fs.rm(dir, { recursive: true, force: true }),
          ),
        );
      }
    }
    for (const s of state.values()) if (!old.some(([n]) => n === s.name)) reopen.push(s);
    // Create the runtimes now (queries see them at once); they open once the old ones closed.
    const created = reopen.map((s) => {
      const parts = s.partitions.map((p) => new Partition(s, p, this.#ctx));
      this.partitions.set(s.name, parts);
      return parts;
    });
    void this.#track(
      Promise.all(steps).then(async () => {
        await Promise.all(created.flat().map((p) => p.start()));
      }),
    );
    this.log.info({ streams: state.size }, "metadata restored from a snapshot");
  }

  // ---- MetadataListener: effects of applied ops ----

  /** @internal */
  streamCreated(stream: StreamState): void {
    const parts = stream.partitions.map((p) => new Partition(stream, p, this.#ctx));
    this.partitions.set(stream.name, parts);
    for (const p of parts) void this.#track(p.start());
  }

  /** @internal */
  streamDeleted(stream: StreamState): void {
    const parts = this.partitions.get(stream.name);
    this.partitions.delete(stream.name);
    const dir = path.join(this.options.dataDir, "streams", streamDirName(stream.name));
    void this.#track(
      Promise.all((parts ?? []).map((p) => p.delete())).then(() =>
        fs.rm(dir, { recursive: true, force: true }),
      ),
    );
  }

  /** @internal */
  partitionPaused(p: PartitionState): void {
    const part = this.partition(p.stream, p.id);
    if (part !== undefined) void this.#track(part.pause());
  }

  /** @internal */
  partitionResumed(p: PartitionState): void {
    const part = this.partition(p.stream, p.id);
    if (part !== undefined) void this.#track(part.resume());
  }

  /** @internal */
  partitionReadonlyChanged(p: PartitionState): void {
    this.partition(p.stream, p.id)?.applyReadonly();
  }

  /** @internal */
  consumerGroupChanged(groupId: string, group: ConsumerGroupState | undefined): void {
    this.groups.groupChanged(groupId, group);
    if (group === undefined) this.groupSubscribers.dropGroup(groupId);
  }

  // ---- queries ----

  /**
   * Brokers that can coordinate consumer groups: every server of the metadata group (this one alone on
   * a single node; a cluster lists its Raft configuration here).
   */
  groupCoordinatorCandidates(): string[] {
    return [this.options.serverId];
  }

  /** The coordinator for a new consumer group: the broker coordinating the fewest groups. */
  pickGroupCoordinator(): string {
    return (
      pickCoordinator(this.groupCoordinatorCandidates(), this.raft.state.groups.groups.values()) ??
      this.options.serverId
    );
  }

  /** The partition runtime, or `undefined`. */
  partition(stream: string, id: number): Partition | undefined {
    return this.partitions.get(stream)?.[id];
  }

  /** The stream metadata, or `undefined`. */
  stream(name: string): StreamState | undefined {
    return this.raft.state.streams.get(name);
  }

  /** Number of servers in the metadata group (voters and non-voters). */
  get clusterSize(): number {
    return this.raft.members.length;
  }

  /**
   * Runs the metadata-leader hooks on leadership changes (spec internals §3.5): gaining it starts the
   * activity dispatcher and creates `__cursors` if configured; losing it stops the dispatcher. Raft
   * has no callback for this, so the role is sampled every 100 ms (one election timeout is 1-2 s).
   */
  #watchLeadership(leading: boolean): void {
    let was = leading;
    this.#leadershipTimer = setInterval(() => {
      if (this.#closed) return;
      const now = this.raft.isLeader;
      if (now === was) return;
      was = now;
      this.log.info({ leader: now }, now ? "gained metadata leadership" : "lost metadata leadership");
      if (now) {
        this.cursors
          .initialize()
          .then(() =>
            // As at start: initialize() re-applies the configured auto-pause time to `__cursors`.
            Promise.all((this.partitions.get(CURSORS_STREAM) ?? []).map((p) => p.refreshAutoPause())),
          )
          .catch((err: unknown) => this.log.warn({ err }, "cursors stream not created"));
        this.#activity?.start();
      } else {
        void this.#activity?.stop();
      }
    }, 100);
    this.#leadershipTimer.unref();
  }

  /** @internal This server as FetchMetadata lists it. */
  info(): ServerInfo {
    return { id: this.options.serverId, host: this.options.host, port: this.advertisedPort };
  }

  /** @internal Whether `stream`/`partition` exists here and is led (started) by this server. */
  partitionStatus(stream: string, partition: number): { exists: boolean; isLeader: boolean } {
    const p = this.partition(stream, partition);
    return { exists: p !== undefined, isLeader: p?.isLeader === true && p.log !== undefined };
  }

  /**
   * Every server of the cluster with its advertised address (this one first); asks the others over
   * NATS for at most `timeoutMs`.
   */
  fetchBrokers(timeoutMs = 1000): Promise<ServerInfo[]> {
    if (this.#membership === undefined) return Promise.resolve([this.info()]);
    return this.#membership.fetchBrokers(timeoutMs);
  }

  /** Waits until pending partition lifecycle steps (open, pause, resume, delete) finished. */
  async settle(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.all(this.#tasks);
  }

  /**
   * Proposes a metadata op after checking its preconditions on the current state (spec internals §3.6);
   * resolves with the apply result once committed and its partition effects settled. On a server that
   * does not lead the metadata group the op is forwarded to the controller (`propagate.ts`) and this
   * resolves once it is applied here too. `deadline` (a `Date.now()` time; default now + 5 s) bounds
   * the whole call. Rejects with a `GrpcError`: `Internal` "no known metadata leader", `Internal` on a
   * Raft failure, `InvalidArgument` from placement, or the controller's status passed through.
   */
  async propose(op: MetadataOp, opts?: { deadline?: number }): Promise<ApplyResult> {
    if (this.#closed) throw new BrokerError(BrokerErrorCode.Closed, "broker is closed");
    const d = opts?.deadline;
    const now = Date.now();
    // Answer a little before the caller's deadline, so it gets our status rather than its own timeout.
    const deadline =
      d !== undefined && Number.isFinite(d)
        ? d - Math.min(200, Math.max(0, (d - now) / 5))
        : now + DEFAULT_PROPAGATE_TIMEOUT_MS;
    try {
      if (this.raft.isLeader) return (await this.proposeLocal(op, Math.max(1, deadline - Date.now()))).result;
      // Not the controller: forward (spec internals §3.6), then wait until the entry is applied here
      // too, so this server's next read (and its partitions) already see the change.
      const r = await this.#propagator!.forward(op, deadline);
      await this.raft.waitApplied(r.index, Math.max(1000, deadline - Date.now()));
      await this.settle();
      return r.result;
    } catch (e) {
      // Raft failures stay BrokerErrors: the API adds what failed ("Failed to create stream: ...").
      if (isBrokerError(e, "raft") || isBrokerError(e, "closed")) throw e;
      throw toGrpcError(e);
    }
  }

  /**
   * @internal The controller's side of {@link propose}: checks preconditions, places a new stream
   * (spec internals §3.7), proposes, and waits for the effects: local partition steps, and (best
   * effort, up to 5 s) remote partition leaders starting after a create or resume.
   */
  async proposeLocal(op: MetadataOp, timeoutMs: number): Promise<{ result: ApplyResult; index: number }> {
    if (this.#closed) throw new BrokerError(BrokerErrorCode.Closed, "broker is closed");
    const pre = this.raft.state.check(op);
    if (!pre.ok) return { result: pre, index: this.raft.applied };
    let toPropose = op;
    if (op.op === "create_stream" && op.leader === "") {
      assertReplicationAvailable(op.replicationFactor);
      const p = placeStream(this.raft.members, this.raft.state.streams.values(), op.replicationFactor);
      toPropose = { ...op, replicas: p.replicas, leader: p.leader };
    }
    const r = await this.raft.proposeIndexed(toPropose, timeoutMs);
    await this.settle();
    if (r.result.ok && (op.op === "create_stream" || op.op === "resume_stream")) {
      const s = this.raft.state.streams.get(op.name);
      const remote = (s?.partitions ?? []).filter(
        (p) =>
          p.leader !== this.options.serverId &&
          !p.paused &&
          (op.op === "create_stream" || op.partitions.length === 0 || op.partitions.includes(p.id)),
      );
      if (remote.length > 0 && this.#membership !== undefined) {
        await this.#membership.waitForPartitionLeaders(
          remote.map((p) => ({ stream: p.stream, id: p.id, leader: p.leader })),
          Math.min(5000, timeoutMs),
        );
      }
    }
    return r;
  }

  /** Auto-pause (spec internals §3.9): PAUSE_STREAM for one partition, `resumeAll` false. */
  async #proposeAutoPause(p: Partition): Promise<void> {
    const res = await this.propose({
      op: "pause_stream",
      name: p.stream.name,
      partitions: [p.meta.id],
      resumeAll: false,
      timestamp: nowNs().toString(),
    });
    if (!res.ok) throw new BrokerError(BrokerErrorCode.NoSuchPartition, `auto-pause rejected: ${res.reason}`);
  }

  // ---- ack inboxes ----

  /** A fresh ack inbox on this broker's wildcard subscription. */
  newAckInbox(): string {
    return `${this.ackPrefix}.${(this.#nextInbox++).toString(36)}`;
  }

  /** Routes acks arriving on `inbox` (made by {@link newAckInbox}) to `listener` until removed. */
  onAck(inbox: string, listener: AckListener): () => void {
    this.#ackListeners.set(inbox, listener);
    return () => {
      if (this.#ackListeners.get(inbox) === listener) this.#ackListeners.delete(inbox);
    };
  }

  readonly #onAck = (msg: NatsMessage): void => {
    const listener = this.#ackListeners.get(msg.subject);
    if (listener === undefined) return;
    let ack: Ack;
    try {
      ack = unmarshalAck(msg.data);
    } catch {
      return; // Not an ack envelope: ignored, as upstream's ack inbox does.
    }
    listener(ack);
  };

  /**
   * Hands `ack` straight to the listener of `inbox` when it is one of this broker's live inboxes;
   * false otherwise (the partition then publishes it on NATS).
   */
  #deliverLocalAck(inbox: string, ack: Ack): boolean {
    if (!inbox.startsWith(this.ackPrefix)) return false;
    const listener = this.#ackListeners.get(inbox);
    if (listener === undefined) return false;
    try {
      listener(ack);
    } catch (err) {
      this.log.error({ err }, "ack listener failed");
    }
    return true;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops: closes every partition (waiting for in-flight appends) and the metadata group. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#leadershipTimer);
    await this.#activity?.stop();
    this.#ackSub?.unsubscribe();
    this.#propagator?.close();
    this.#membership?.close();
    this.cursors.close();
    await this.groups.close();
    await this.settle();
    const all: Promise<void>[] = [];
    for (const parts of this.partitions.values()) for (const p of parts) all.push(p.close());
    await Promise.allSettled(all);
    await this.raft.close();
    this.log.info({}, "broker stopped");
  }
}
