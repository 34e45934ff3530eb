/**
 * Cursors (spec internals §5.6, api §5 SetCursor / FetchCursor rows): consumer positions stored as
 * messages of the compacted internal stream `__cursors`.
 *
 * - Key `"<cursorId>,<stream>,<partition>"`, value a `liftbridge.internal.Cursor` protobuf; the
 *   `__cursors` partition is `crc32_IEEE(key) mod partitions`, the same hash the clients route with.
 * - SetCursor publishes through NATS to that partition with ack policy ALL and waits for the ack
 *   (default 5 s, or the call's deadline when it is shorter).
 * - FetchCursor answers from an LRU cache, else scans the committed part of the partition from its
 *   oldest offset: the last value stored for the key wins (compaction keeps exactly that one).
 *
 * Cache rule: the cache never holds a value older than the last acknowledged SetCursor of a key.
 * Entries carry the log offset of their record and only newer records replace them; a lookup that
 * overlapped a SetCursor of the same key (or a purge) does not fill the cache; a SetCursor that
 * timed out drops the key's entry (its write may still land, so only the log can tell) and keeps
 * listening for its ack for {@link LATE_ACK_WAIT_MS}, so a late write still updates the cache.
 * @module
 */
import { crc32 } from "node:zlib";
import { type Ack, AckError, AckPolicy, encodePublish, LiftbridgeErrors } from "@liftbridge/api";
import { Cursor } from "@liftbridge/api/internal";
import { GrpcError, Status } from "@liftbridge/grpc";
import type { BrokerCore } from "./broker.js";
import { BrokerError, BrokerErrorCode } from "./errors.js";
import { type Logger, noopLogger } from "./logger.js";
import type { ApplyResult, MetadataOp, StreamConfig, StreamState } from "./metadata.js";
import { nowNs, partitionSubject } from "./util.js";

/** Name of the internal cursors stream (reserved: clients cannot create or delete it). */
export const CURSORS_STREAM = "__cursors";
/** Default number of cached cursors (upstream's fixed LRU size). */
export const DEFAULT_CURSORS_CACHE_SIZE = 512;
/** Default SetCursor ack wait (upstream: 5 s unless the context has a deadline). */
export const DEFAULT_CURSORS_TIMEOUT_MS = 5000;
/** How long a SetCursor that timed out or was cancelled keeps listening for its ack. */
export const LATE_ACK_WAIT_MS = 30_000;

/** Cursor settings (`cursors.stream.*`). Defaults in {@link resolveCursorsOptions}. */
export interface CursorsOptions {
  /** `cursors.stream.partitions`: partitions of `__cursors`; 0 (default) = do not create it. */
  readonly partitions?: number;
  /** `cursors.stream.replication.factor`: -1 (default) = every server. */
  readonly replicationFactor?: number;
  /** `cursors.stream.auto.pause.time` in ms (default 60 000; 0 = never). */
  readonly autoPauseTimeMs?: number;
  /** `cursors.stream.cache.size`: cursors kept in the LRU cache (default 512; 0 = no cache). */
  readonly cacheSize?: number;
  /** SetCursor ack wait in ms (default 5000); a shorter call deadline wins. */
  readonly timeoutMs?: number;
}

/** {@link CursorsOptions} with defaults applied. */
export interface ResolvedCursorsOptions {
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly autoPauseTimeMs: number;
  readonly cacheSize: number;
  readonly timeoutMs: number;
}

/** Applies the defaults of {@link CursorsOptions}; throws `invalid_argument` on a bad value. */
export function resolveCursorsOptions(o: CursorsOptions = {}): ResolvedCursorsOptions {
  const r: ResolvedCursorsOptions = {
    partitions: o.partitions ?? 0,
    replicationFactor: o.replicationFactor ?? -1,
    autoPauseTimeMs: o.autoPauseTimeMs ?? 60_000,
    cacheSize: o.cacheSize ?? DEFAULT_CURSORS_CACHE_SIZE,
    timeoutMs: o.timeoutMs ?? DEFAULT_CURSORS_TIMEOUT_MS,
  };
  const check = (name: string, v: number, min: number): void => {
    if (!Number.isSafeInteger(v) || v < min) {
      throw new BrokerError(BrokerErrorCode.InvalidArgument, `cursors ${name} must be an integer >= ${min}`);
    }
  };
  check("partitions", r.partitions, 0);
  check("autoPauseTimeMs", r.autoPauseTimeMs, 0);
  check("cacheSize", r.cacheSize, 0);
  check("timeoutMs", r.timeoutMs, 1);
  if (!Number.isSafeInteger(r.replicationFactor) || r.replicationFactor === 0 || r.replicationFactor < -1) {
    throw new BrokerError(BrokerErrorCode.InvalidArgument, "cursors replicationFactor must be -1 or >= 1");
  }
  return r;
}

/** The message key of a cursor: the UTF-8 bytes of `"<cursorId>,<stream>,<partition>"` (spec §0.9). */
export function cursorKey(cursorId: string, stream: string, partition: number): Buffer {
  return Buffer.from(`${cursorId},${stream},${partition}`, "utf8");
}

/**
 * The `__cursors` partition of a cursor key: `crc32_IEEE(key) mod partitions`, identical to
 * go-liftbridge and `@liftbridge/client`. `partitions` must be >= 1.
 */
export function cursorsPartitionOf(key: Uint8Array, partitions: number): number {
  return (crc32(key) >>> 0) % partitions;
}

/** Whole, CRC-checked message-set entries (spec internals §1.2), as a commit log's raw reader yields. */
export interface CursorsRawBatch {
  readonly bytes: Buffer;
  /** Number of entries in `bytes`. */
  readonly count: number;
}

/** What the lookup needs of a `__cursors` partition's log (a `CommitLog` fits). */
export interface CursorsLog {
  readonly oldestOffset: number;
  readonly highWatermark: number;
  readRaw(options: {
    offset: number;
    committed: boolean;
    wait: boolean;
    signal?: AbortSignal;
  }): AsyncIterable<CursorsRawBatch>;
}

/** Message-set entry layout (spec internals §1.2): the 28-byte set header, then crc, magic, attributes. */
const ENTRY_HEADER_SIZE = 28;
const KEY_LEN_AT = ENTRY_HEADER_SIZE + 6;

/**
 * The last entry of a raw batch whose key is `key`: its offset and the cursor value it stores, or
 * `undefined`. Reads keys in place (no record objects): a lookup walks a whole partition.
 */
function lastCursorIn(batch: CursorsRawBatch, key: Buffer): CacheEntry | undefined {
  const buf = batch.bytes;
  const klen = key.byteLength;
  let found: CacheEntry | undefined;
  let p = 0;
  for (let i = 0; i < batch.count; i++) {
    const size = buf.readUInt32BE(p + 24);
    const k = p + KEY_LEN_AT;
    if (buf.readInt32BE(k) === klen && buf.compare(key, 0, klen, k + 4, k + 4 + klen) === 0) {
      const vlen = buf.readInt32BE(k + 4 + klen);
      if (vlen >= 0) {
        const v = k + 8 + klen;
        found = {
          value: Cursor.decode(buf.subarray(v, v + vlen)).offset,
          at: buf.readUInt32BE(p) * 2 ** 32 + buf.readUInt32BE(p + 4),
        };
      }
    }
    p += ENTRY_HEADER_SIZE + size;
  }
  return found;
}

/** An ack wait started by {@link CursorsHost.publish}. */
export interface PendingAck {
  /** Settles with the first ack for the message; never rejects. */
  readonly ack: Promise<Ack>;
  /** Stops listening for the ack (the promise then never settles). */
  cancel(): void;
}

/** What the cursor manager needs from its broker (the broker adapter is `brokerCursorsHost`). */
export interface CursorsHost {
  /** This server's id (compared with partition leaders). */
  readonly serverId: string;
  /** `clustering.namespace`: `__cursors` listens on `<ns>.cursors`. */
  readonly namespace: string;
  /** Servers in the metadata group (the `-1` replication factor). */
  readonly clusterSize: number;
  /** Replicated metadata of a stream, or `undefined`. */
  stream(name: string): StreamState | undefined;
  /** The open log of a partition hosted here, or `undefined` (paused, not hosted, closed). */
  log(stream: string, partition: number): CursorsLog | undefined;
  /** Proposes a metadata op (create `__cursors`, resume a paused partition). */
  propose(op: MetadataOp): Promise<ApplyResult>;
  /** Publishes an enveloped message (ack policy ALL) to `subject` and starts waiting for its ack. */
  publish(subject: string, key: Uint8Array, value: Uint8Array): PendingAck;
}

/** A SetCursor request, as `proto.API` carries it. */
export interface SetCursorInput {
  readonly stream: string;
  readonly partition: number;
  readonly cursorId: string;
  readonly offset: number;
}

/** A FetchCursor request, as `proto.API` carries it. */
export interface FetchCursorInput {
  readonly stream: string;
  readonly partition: number;
  readonly cursorId: string;
}

/** Per-call options: the call's cancellation and deadline (Unix ms; `Infinity` = none). */
export interface CursorCallOptions {
  readonly signal?: AbortSignal;
  readonly deadline?: number;
}

interface CacheEntry {
  /** The cursor's offset. */
  readonly value: number;
  /** Log offset of the record that stored it (newer records replace older ones). */
  readonly at: number;
}

/** A lookup in flight for one key: set when a write or purge makes its result possibly stale. */
interface Scan {
  stale: boolean;
}

function cursorsFailed(detail: string, cause?: unknown): GrpcError {
  const msg = cause instanceof Error ? `${detail}: ${cause.message}` : detail;
  return new GrpcError(LiftbridgeErrors.cursorsFailed.status as Status, msg);
}

/**
 * Stores and reads cursors on this server's `__cursors` partitions. All methods run on one event
 * loop and may be called concurrently. Errors are `GrpcError`s with the statuses of spec §5.
 */
export class CursorManager {
  readonly options: ResolvedCursorsOptions;
  readonly #host: CursorsHost;
  readonly #log: Logger;
  /** LRU: `Map` iteration order is insertion order, so the first key is the least recently used. */
  readonly #cache = new Map<string, CacheEntry>();
  readonly #scans = new Map<string, Set<Scan>>();
  /** Stoppers of the late-ack waits in flight. */
  readonly #late = new Set<() => void>();

  constructor(host: CursorsHost, options: CursorsOptions = {}, logger: Logger = noopLogger) {
    this.#host = host;
    this.options = resolveCursorsOptions(options);
    this.#log = logger.child({ component: "cursors" });
  }

  /** Number of cached cursors (for tests and metrics). */
  get cacheSize(): number {
    return this.#cache.size;
  }

  /**
   * Metadata-leader hook (spec internals §3.5 step 4): creates `__cursors` when
   * `partitions > 0` and it does not exist yet, with compaction on and auto-pause as configured.
   * An existing stream keeps its partition count. Clears the cache. Throws `BrokerError`
   * `invalid_argument` when the replication factor exceeds the cluster, `raft` when the proposal fails.
   */
  async initialize(): Promise<void> {
    this.purge();
    const o = this.options;
    const existing = this.#host.stream(CURSORS_STREAM);
    if (existing !== undefined) {
      // The auto-pause time is re-applied from the server config on every start (spec internals §5.6).
      if (existing.config.autoPauseTimeMs !== o.autoPauseTimeMs) {
        (existing as { config: StreamConfig }).config = {
          ...existing.config,
          autoPauseTimeMs: o.autoPauseTimeMs,
        };
      }
      if (o.partitions > 0 && existing.partitions.length !== o.partitions) {
        this.#log.warn(
          { partitions: existing.partitions.length, configured: o.partitions },
          "cursors stream exists with another partition count, keeping it",
        );
      }
      return;
    }
    if (o.partitions === 0) return;
    const size = this.#host.clusterSize;
    const rf = o.replicationFactor === -1 ? size : o.replicationFactor;
    if (rf > size) {
      throw new BrokerError(
        BrokerErrorCode.InvalidArgument,
        `cursors replication factor ${rf} exceeds the cluster size ${size}`,
      );
    }
    const id = this.#host.serverId;
    const res = await this.#host.propose({
      op: "create_stream",
      name: CURSORS_STREAM,
      subject: `${this.#host.namespace}.cursors`,
      group: "",
      partitions: o.partitions,
      replicationFactor: rf,
      replicas: [id],
      leader: id,
      config: {
        compactEnabled: true,
        autoPauseTimeMs: o.autoPauseTimeMs,
        autoPauseDisableIfSubscribers: true,
      },
      creationTimestamp: nowNs().toString(),
    });
    // Lost a race with another creator: the stream exists, which is all that is needed.
    if (!res.ok && res.reason !== "stream_exists") {
      throw new BrokerError(BrokerErrorCode.Raft, `creating ${CURSORS_STREAM} failed: ${res.reason}`);
    }
    this.#log.info({ partitions: o.partitions }, "cursors stream created");
  }

  /** Forgets every cached cursor (on becoming leader of a `__cursors` partition, spec §4.3 step 4). */
  purge(): void {
    this.#cache.clear();
    for (const set of this.#scans.values()) for (const s of set) s.stale = true;
  }

  /**
   * The `__cursors` partition a cursor belongs to, after the checks of spec §5: InvalidArgument for
   * an empty stream or cursor id, Internal when `__cursors` does not exist (or lacks the
   * partition), FailedPrecondition when another server leads the partition.
   */
  route(stream: string, cursorId: string, partition: number): { key: Buffer; partition: number } {
    if (stream === "") throw new GrpcError(Status.INVALID_ARGUMENT, LiftbridgeErrors.cursorNoStream.message);
    if (cursorId === "") {
      throw new GrpcError(Status.INVALID_ARGUMENT, LiftbridgeErrors.cursorNoCursorId.message);
    }
    const s = this.#host.stream(CURSORS_STREAM);
    if (s === undefined || s.partitions.length === 0) {
      throw new GrpcError(Status.INTERNAL, LiftbridgeErrors.cursorsDisabled.message);
    }
    const key = cursorKey(cursorId, stream, partition);
    const id = cursorsPartitionOf(key, s.partitions.length);
    const p = s.partitions[id];
    if (p === undefined) throw cursorsFailed(`cursors partition ${id} does not exist`);
    if (p.leader !== this.#host.serverId) {
      throw new GrpcError(Status.FAILED_PRECONDITION, `${LiftbridgeErrors.notCursorsLeader.message} ${id}`);
    }
    return { key, partition: id };
  }

  /**
   * SetCursor: stores `offset` for the cursor and waits for the ack (policy ALL). Throws the route
   * errors of {@link route}; Internal when the write is not acknowledged in time or fails;
   * Cancelled when the call is cancelled.
   */
  async setCursor(req: SetCursorInput, o: CursorCallOptions = {}): Promise<void> {
    const r = this.route(req.stream, req.cursorId, req.partition);
    const s = this.#host.stream(CURSORS_STREAM)!;
    await this.#ensureOpen(s, r.partition);
    const value = Cursor.encode({
      stream: req.stream,
      partition: req.partition,
      cursorId: req.cursorId,
      offset: req.offset,
    });
    const k = r.key.toString("latin1");
    if (o.signal?.aborted) throw new GrpcError(Status.CANCELLED, "call cancelled");
    const pending = this.#host.publish(partitionSubject(s.subject, r.partition), r.key, value);
    const ack = await this.#waitAck(pending, o);
    // Whatever happened, a lookup that overlapped this write may have missed it.
    this.#markStale(k);
    if (ack === undefined) {
      // The write may still land: until its ack comes, only the log knows the newest value.
      this.#cache.delete(k);
      this.#awaitLateAck(k, req.offset, pending);
      if (o.signal?.aborted) throw new GrpcError(Status.CANCELLED, "call cancelled");
      throw cursorsFailed("timed out storing the cursor");
    }
    pending.cancel();
    if (ack.ackError !== AckError.OK) {
      this.#cache.delete(k);
      throw cursorsFailed(`storing the cursor failed with ack error ${ack.ackError}`);
    }
    this.#put(k, { value: req.offset, at: ack.offset });
  }

  /**
   * FetchCursor: the stored offset, or -1 when the cursor was never set (or retention removed it).
   * Throws the route errors of {@link route}; Internal when the partition cannot be read.
   */
  async fetchCursor(req: FetchCursorInput, o: CursorCallOptions = {}): Promise<number> {
    const r = this.route(req.stream, req.cursorId, req.partition);
    const k = r.key.toString("latin1");
    const hit = this.#cache.get(k);
    if (hit !== undefined) {
      this.#cache.delete(k);
      this.#cache.set(k, hit);
      return hit.value;
    }
    const s = this.#host.stream(CURSORS_STREAM)!;
    await this.#ensureOpen(s, r.partition);
    const log = this.#host.log(CURSORS_STREAM, r.partition);
    if (log === undefined) throw cursorsFailed(`cursors partition ${r.partition} is not open`);
    if (log.highWatermark === -1 || log.oldestOffset === -1) return -1;
    const scan: Scan = { stale: false };
    let set = this.#scans.get(k);
    if (set === undefined) {
      set = new Set();
      this.#scans.set(k, set);
    }
    set.add(scan);
    let found: CacheEntry | undefined;
    try {
      found = await this.#lookup(log, r.key, o.signal);
    } finally {
      set.delete(scan);
      if (set.size === 0) this.#scans.delete(k);
    }
    if (found === undefined) return -1;
    if (!scan.stale) this.#put(k, found);
    return found.value;
  }

  /** Scans the committed records from the oldest; the last record with `key` wins. */
  async #lookup(log: CursorsLog, key: Buffer, signal?: AbortSignal): Promise<CacheEntry | undefined> {
    let found: CacheEntry | undefined;
    try {
      const opts = { offset: Math.max(log.oldestOffset, 0), committed: true, wait: false };
      for await (const batch of log.readRaw(signal === undefined ? opts : { ...opts, signal })) {
        found = lastCursorIn(batch, key) ?? found;
      }
    } catch (e) {
      throw cursorsFailed("looking up the cursor failed", e);
    }
    if (signal?.aborted) throw new GrpcError(Status.CANCELLED, "call cancelled");
    return found;
  }

  /** Resumes a paused `__cursors` partition (spec: the publish and the lookup both resume). */
  async #ensureOpen(s: StreamState, partition: number): Promise<void> {
    if (this.#host.log(CURSORS_STREAM, partition) !== undefined) return;
    if (s.partitions[partition]?.paused !== true) return;
    let res: ApplyResult;
    try {
      res = await this.#host.propose({
        op: "resume_stream",
        name: CURSORS_STREAM,
        partitions: [partition],
        timestamp: nowNs().toString(),
      });
    } catch (e) {
      throw cursorsFailed("resuming the cursors partition failed", e);
    }
    if (!res.ok) throw cursorsFailed(`resuming the cursors partition failed: ${res.reason}`);
  }

  #waitAck(pending: PendingAck, o: CursorCallOptions): Promise<Ack | undefined> {
    const deadline = o.deadline ?? Number.POSITIVE_INFINITY;
    const ms = Math.max(0, Math.min(this.options.timeoutMs, deadline - Date.now()));
    return new Promise((resolve) => {
      const done = (a: Ack | undefined): void => {
        clearTimeout(timer);
        o.signal?.removeEventListener("abort", onAbort);
        resolve(a);
      };
      const onAbort = (): void => done(undefined);
      const timer = setTimeout(onAbort, ms);
      o.signal?.addEventListener("abort", onAbort, { once: true });
      if (o.signal?.aborted) onAbort();
      void pending.ack.then(done);
    });
  }

  /**
   * Keeps listening for the ack of a SetCursor that gave up (timeout, cancel) for up to
   * {@link LATE_ACK_WAIT_MS}: a write that lands late then updates the cache like an acknowledged one.
   */
  #awaitLateAck(k: string, value: number, pending: PendingAck): void {
    const stop = (): void => {
      clearTimeout(timer);
      pending.cancel();
      this.#late.delete(stop);
    };
    const timer = setTimeout(stop, LATE_ACK_WAIT_MS);
    timer.unref();
    this.#late.add(stop);
    void pending.ack.then((a) => {
      if (!this.#late.has(stop)) return;
      stop();
      this.#markStale(k);
      if (a.ackError === AckError.OK) this.#put(k, { value, at: a.offset });
    });
  }

  /** Stops listening for late acks. Idempotent; the manager must not be used afterwards. */
  close(): void {
    for (const stop of [...this.#late]) stop();
  }

  #markStale(k: string): void {
    const set = this.#scans.get(k);
    if (set !== undefined) for (const s of set) s.stale = true;
  }

  #put(k: string, e: CacheEntry): void {
    const max = this.options.cacheSize;
    if (max === 0) return;
    const old = this.#cache.get(k);
    if (old !== undefined) {
      if (old.at > e.at) return;
      this.#cache.delete(k);
    }
    this.#cache.set(k, e);
    while (this.#cache.size > max) {
      const first = this.#cache.keys().next();
      if (first.done === true) break;
      this.#cache.delete(first.value);
    }
  }
}

/** Builds the ack-waiting publish of {@link CursorsHost} over a broker's ack inboxes. */
export function ackPublisher(deps: {
  newAckInbox(): string;
  onAck(inbox: string, listener: (ack: Ack) => void): () => void;
  publish(subject: string, data: Uint8Array): void;
}): CursorsHost["publish"] {
  return (subject, key, value) => {
    const inbox = deps.newAckInbox();
    let off: () => void = () => {};
    const ack = new Promise<Ack>((resolve) => {
      off = deps.onAck(inbox, (a) => {
        off();
        resolve(a);
      });
    });
    deps.publish(
      subject,
      encodePublish({ key, value, ackInbox: inbox, ackPolicy: AckPolicy.ALL, offset: -1 }),
    );
    return { ack, cancel: () => off() };
  };
}

/** Adapts a broker to {@link CursorsHost}: its metadata, its partitions' logs, its ack inboxes. */
export function brokerCursorsHost(b: BrokerCore): CursorsHost {
  return {
    serverId: b.options.serverId,
    namespace: b.options.namespace,
    get clusterSize() {
      return b.clusterSize;
    },
    stream: (name) => b.stream(name),
    log: (stream, partition) => b.partition(stream, partition)?.log,
    propose: (op) => b.propose(op),
    publish: ackPublisher({
      newAckInbox: () => b.newAckInbox(),
      onAck: (inbox, listener) => b.onAck(inbox, listener),
      publish: (subject, data) => b.options.nats.publish(subject, data),
    }),
  };
}
