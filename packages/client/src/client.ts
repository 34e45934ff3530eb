import type { Message as ApiMessage, FetchMetadataResponse, SubscribeRequestInit } from "@liftbridge/api";
import { AckPolicy } from "@liftbridge/api";
import {
  type Channel,
  type ChannelOptions,
  type ClientReadableCall,
  connect as grpcConnect,
  isGrpcError,
  Status,
} from "@liftbridge/grpc";
import { type Api, createApi } from "./api.js";
import { type Consumer, type ConsumerImpl, type ConsumerOptions, createConsumerImpl } from "./consumer.js";
import { crc32, crc32String } from "./crc32.js";
import { LiftbridgeErrorCode as C, isUnavailable, LiftbridgeError } from "./errors.js";
import { fromGrpcError, type StatusContext } from "./grpc-status.js";
import { type Metadata, type PartitionInfo, toMetadata, toPartitionInfo } from "./metadata.js";
import {
  type AckPolicyName,
  assertSafeInteger,
  type CallOptions,
  type ClientOptions,
  type MessageOptions,
  type MetadataOptions,
  type PauseOptions,
  type ReadonlyOptions,
  type ResolvedClientOptions,
  resolveClientOptions,
  type StreamOptions,
} from "./options.js";
import { type Ack, type AckHandler, Publisher } from "./publisher.js";
import { rendezvousScore } from "./rendezvous.js";
import {
  buildSubscribeRequest,
  type SubscribeHost,
  type SubscribeOptions,
  type Subscription,
  SubscriptionImpl,
} from "./subscription.js";

/**
 * A Liftbridge client (go-liftbridge `Client`). Methods are safe to call concurrently. Every failure is
 * a {@link LiftbridgeError}; server failures keep the gRPC status as `cause`.
 */
export interface Client extends AsyncDisposable {
  /** Go `CreateStream`: creates stream `name` on NATS `subject`. Throws `stream_exists` when taken. */
  createStream(subject: string, name: string, options?: StreamOptions): Promise<void>;
  /** Go `DeleteStream`. Throws `no_such_stream`. */
  deleteStream(name: string, options?: CallOptions): Promise<void>;
  /** Go `PauseStream`: pauses some or all partitions. Throws `no_such_partition`. */
  pauseStream(name: string, options?: PauseOptions): Promise<void>;
  /** Go `SetStreamReadonly`: sets (default) or clears read-only. Throws `no_such_partition`. */
  setStreamReadonly(name: string, options?: ReadonlyOptions): Promise<void>;
  /**
   * Go `Subscribe`: resolves once the subscription is set up on the partition leader (or a random ISR
   * member with `readIsrReplica`). Setup errors reject (`no_such_partition`, `readonly_partition`, …).
   */
  subscribe(stream: string, options?: SubscribeOptions): Promise<Subscription>;
  /**
   * Go `Publish`: publishes over the broker's PublishAsync stream and resolves with the ack; resolves with
   * undefined for ack policy `none`. Rejects with `ack_timeout` after `timeoutMs` (default ackWaitTimeMs).
   */
  publish(
    stream: string,
    value: Uint8Array,
    options?: MessageOptions & CallOptions,
  ): Promise<Ack | undefined>;
  /**
   * Go `PublishAsync`: queues the message and returns; `handler` gets the ack or the error (`ack_timeout`
   * after `timeoutMs`, default ackWaitTimeMs). Writes of one event-loop turn are coalesced. Invalid
   * options throw synchronously.
   */
  publishAsync(
    stream: string,
    value: Uint8Array,
    handler?: AckHandler,
    options?: MessageOptions & { readonly timeoutMs?: number },
  ): void;
  /**
   * Go `PublishToSubject`: publishes an enveloped message to any NATS subject. Like Go, headers and
   * partition options are not sent. Resolves with the first ack (undefined for ack policy `none`).
   */
  publishToSubject(
    subject: string,
    value: Uint8Array,
    options?: MessageOptions & CallOptions,
  ): Promise<Ack | undefined>;
  /** Go `FetchMetadata` (does not replace the client's cache). */
  fetchMetadata(options?: MetadataOptions): Promise<Metadata>;
  /** Go `FetchPartitionMetadata`: authoritative partition info from the leader. */
  fetchPartitionMetadata(stream: string, partition: number, options?: CallOptions): Promise<PartitionInfo>;
  /** Go `SetCursor`: stores `offset` for cursor `id` on (stream, partition). */
  setCursor(
    id: string,
    stream: string,
    partition: number,
    offset: number,
    options?: CallOptions,
  ): Promise<void>;
  /** Go `FetchCursor`: -1 when the cursor does not exist. */
  fetchCursor(id: string, stream: string, partition: number, options?: CallOptions): Promise<number>;
  /** Go `CreateConsumer`: a consumer-group member (no RPC until its `subscribe`). */
  createConsumer(groupId: string, options?: ConsumerOptions): Consumer;
  /** Closes every connection, publish stream and subscription. Idempotent. */
  close(): Promise<void>;
  /** Resolves once closed. */
  readonly closed: Promise<Error | undefined>;
  /** The client's cached metadata (refreshed on failover; see spec §6.7). */
  readonly metadata: Metadata;
}

/** One broker connection: a channel, a typed client and its PublishAsync stream. */
interface BrokerConn {
  readonly addr: string;
  readonly channel: Channel;
  readonly api: Api;
  readonly publisher: Publisher;
  latencyMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const ACK_POLICY: Readonly<Record<AckPolicyName, AckPolicy>> = {
  leader: AckPolicy.LEADER,
  all: AckPolicy.ALL,
  none: AckPolicy.NONE,
};

const CURSORS_STREAM = "__cursors";

/** @internal */
export class LiftbridgeClient implements Client, SubscribeHost {
  readonly opts: ResolvedClientOptions;
  readonly log: ResolvedClientOptions["logger"];
  readonly resubscribeWaitTimeMs: number;
  readonly #seeds: string[];
  readonly #conns = new Map<string, BrokerConn>();
  /** stream:partition -> publish connection; cleared whenever the connection set changes. */
  readonly #publishRoutes = new Map<string, BrokerConn>();
  #metadata: Metadata;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #subs = new Set<{ close(): Promise<void> }>();
  readonly #roundRobin = new Map<string, number>();
  readonly #idPrefix: string;
  #idCounter = 0;
  readonly closed: Promise<Error | undefined>;
  #resolveClosed!: (e: Error | undefined) => void;

  constructor(seeds: string[], opts: ResolvedClientOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.resubscribeWaitTimeMs = opts.resubscribeWaitTimeMs;
    this.#seeds = seeds;
    this.#metadata = toMetadata({ brokers: [], streamMetadata: [], groupMetadata: [] }, new Date());
    this.#idPrefix = randomId(opts.random, 16);
    this.closed = new Promise((r) => {
      this.#resolveClosed = r;
    });
  }

  get metadata(): Metadata {
    return this.#metadata;
  }

  isClosed = (): boolean => this.#closed;

  /** A fresh unique correlation id (random prefix + counter, in the spirit of Go's NUID). */
  nextId(): string {
    return this.#idPrefix + (++this.#idCounter).toString(36);
  }

  #assertOpen(): void {
    if (this.#closed) throw new LiftbridgeError(C.Closed, "client is closed");
  }

  #channelOptions(): ChannelOptions {
    const o = this.opts;
    return {
      ...(o.tls !== undefined ? { tls: o.tls } : {}),
      connectTimeoutMs: o.connectTimeoutMs,
      keepalive: { timeMs: o.keepAliveTimeMs },
      ...(o.readBufferSize > 0 ? { initialStreamWindowBytes: o.readBufferSize } : {}),
      userAgent: "liftbridge-ts-client",
    };
  }

  #dial(addr: string): BrokerConn {
    let conn = this.#conns.get(addr);
    if (conn !== undefined) return conn;
    const channel = grpcConnect(addr, this.#channelOptions());
    const api = createApi(channel);
    conn = {
      addr,
      channel,
      api,
      publisher: new Publisher(api, this.log),
      latencyMs: Number.POSITIVE_INFINITY,
    };
    this.#conns.set(addr, conn);
    this.#publishRoutes.clear();
    return conn;
  }

  /** Go ConnectCtx: dial every seed, measure latency with FetchMetadata{}, then fetch full metadata. */
  async start(): Promise<void> {
    let lastErr: unknown;
    await Promise.all(
      this.#seeds.map(async (addr) => {
        const conn = this.#dial(addr);
        const t0 = performance.now();
        try {
          await conn.api.FetchMetadata({}, { timeoutMs: this.opts.connectTimeoutMs });
          conn.latencyMs = performance.now() - t0;
        } catch (e) {
          lastErr = e;
        }
      }),
    );
    if (![...this.#conns.values()].some((c) => Number.isFinite(c.latencyMs))) {
      await this.close();
      throw new LiftbridgeError(C.Unavailable, "no broker reachable", { cause: lastErr });
    }
    await this.updateMetadata();
  }

  /** Replaces the metadata cache (Go updateMetadata) and reconnects to advertised brokers plus seeds. */
  async updateMetadata(): Promise<Metadata> {
    const res = await this.#resilient((api) =>
      api.FetchMetadata({}, { timeoutMs: this.opts.connectTimeoutMs }),
    );
    const md = toMetadata(res, new Date());
    this.#metadata = md;
    const wanted = new Set([...this.#seeds, ...md.addrs().filter((a) => !a.endsWith(":0"))]);
    for (const addr of wanted) this.#dial(addr);
    for (const [addr, conn] of this.#conns) {
      if (!wanted.has(addr)) {
        this.#conns.delete(addr);
        this.#publishRoutes.clear();
        conn.publisher.close();
        void conn.channel.close();
      }
    }
    return md;
  }

  /** Picks a connection for an any-broker RPC by the selection criteria. */
  #pick(exclude?: BrokerConn): BrokerConn {
    this.#assertOpen();
    let conns = [...this.#conns.values()];
    if (conns.length > 1 && exclude !== undefined) conns = conns.filter((c) => c !== exclude);
    if (conns.length === 0) throw new LiftbridgeError(C.Unavailable, "no broker connections");
    const sel = this.opts.serverSelection;
    if (sel === "latency") return conns.reduce((a, b) => (b.latencyMs < a.latencyMs ? b : a));
    if (sel === "workload") {
      const load = (c: BrokerConn): number => {
        const b = this.#metadata.brokers.find((x) => x.addr === c.addr);
        return b === undefined ? Number.POSITIVE_INFINITY : b.partitionCount + b.leaderCount;
      };
      return conns.reduce((a, b) => (load(b) < load(a) ? b : a));
    }
    return conns[Math.floor(this.opts.random() * conns.length)]!;
  }

  /** Go doResilientRPC: up to 10 tries; on Unavailable sleep 50 ms and pick another broker. */
  async #resilient<T>(fn: (api: Api) => Promise<T>, context: StatusContext = "other"): Promise<T> {
    let conn: BrokerConn | undefined;
    let last: unknown;
    for (let i = 0; i < 10; i++) {
      conn = this.#pick(conn);
      try {
        return await fn(conn.api);
      } catch (e) {
        last = e;
        if (!isUnavailable(e)) throw fromGrpcError(e, context);
        await sleep(50);
      }
    }
    throw fromGrpcError(last, context);
  }

  /** The connection of broker `id` from cached metadata. */
  #connFor(brokerId: string): BrokerConn {
    const b = this.#metadata.broker(brokerId);
    if (b === undefined) throw new LiftbridgeError(C.NoLeader, "Broker is not found in cached metadata");
    return this.#dial(b.addr);
  }

  #leaderConn(stream: string, partition: number): BrokerConn {
    const p = this.#metadata.getStream(stream)?.getPartition(partition);
    if (p?.leader === undefined)
      throw new LiftbridgeError(C.NoLeader, `no known leader for partition ${partition} of stream ${stream}`);
    return this.#connFor(p.leader.id);
  }

  /** Go doResilientLeaderRPC: up to 5 tries; on Unavailable/FailedPrecondition sleep 50 ms, refresh, re-resolve. */
  async #leaderRpc<T>(stream: string, partition: number, fn: (api: Api) => Promise<T>): Promise<T> {
    let last: unknown;
    for (let i = 0; i < 5; i++) {
      this.#assertOpen();
      try {
        if (this.#metadata.getStream(stream)?.getPartition(partition)?.leader === undefined)
          await this.updateMetadata();
        return await fn(this.#leaderConn(stream, partition).api);
      } catch (e) {
        last = e;
        const s = isGrpcError(e) ? e.code : undefined;
        const retry =
          s === Status.UNAVAILABLE ||
          s === Status.FAILED_PRECONDITION ||
          (e as { code?: unknown }).code === C.NoLeader;
        if (!retry) throw fromGrpcError(e);
        await sleep(50);
        await this.updateMetadata().catch(() => undefined);
      }
    }
    throw fromGrpcError(last);
  }

  /** Stream metadata from the cache, refreshing up to 5 times 50 ms apart (Go waitForStreamMetadata). */
  async #streamPartitions(stream: string): Promise<number> {
    for (let i = 0; i < 5; i++) {
      const n = this.#metadata.partitionCountForStream(stream);
      if (n > 0) return n;
      if (i > 0) await sleep(50);
      await this.updateMetadata();
    }
    const n = this.#metadata.partitionCountForStream(stream);
    if (n > 0) return n;
    throw new LiftbridgeError(C.NoSuchStream, `no metadata for stream ${stream}`);
  }

  // ---- streams -------------------------------------------------------------------------------

  async createStream(subject: string, name: string, o: StreamOptions = {}): Promise<void> {
    const partitions = o.partitions ?? 0;
    if (!Number.isSafeInteger(partitions) || partitions < 0)
      throw new LiftbridgeError(C.InvalidArgument, "partitions must be a non-negative integer");
    const i64 = (v: number | undefined) => (v === undefined ? undefined : { value: v });
    const bool = (v: boolean | undefined) => (v === undefined ? undefined : { value: v });
    const req = {
      subject,
      name,
      group: o.group ?? "",
      replicationFactor: o.replicationFactor ?? 1,
      partitions,
      retentionMaxBytes: i64(o.retentionMaxBytes),
      retentionMaxMessages: i64(o.retentionMaxMessages),
      retentionMaxAge: i64(o.retentionMaxAgeMs),
      cleanerInterval: i64(o.cleanerIntervalMs),
      segmentMaxBytes: i64(o.segmentMaxBytes),
      segmentMaxAge: i64(o.segmentMaxAgeMs),
      compactMaxGoroutines: i64(o.compactMaxGoroutines),
      compactEnabled: bool(o.compactEnabled),
      autoPauseTime: i64(o.autoPauseTimeMs),
      autoPauseDisableIfSubscribers: bool(o.autoPauseDisableIfSubscribers),
      minIsr: i64(o.minIsr),
      optimisticConcurrencyControl: bool(o.optimisticConcurrencyControl),
      encryption: bool(o.encryption),
    };
    await this.#resilient((api) => api.CreateStream(req, callOpts(o)), "createStream");
  }

  async deleteStream(name: string, o: CallOptions = {}): Promise<void> {
    await this.#resilient((api) => api.DeleteStream({ name }, callOpts(o)), "deleteStream");
  }

  async pauseStream(name: string, o: PauseOptions = {}): Promise<void> {
    const req = { name, partitions: o.partitions ?? [], resumeAll: o.resumeAll ?? false };
    await this.#resilient((api) => api.PauseStream(req, callOpts(o)), "pauseStream");
  }

  async setStreamReadonly(name: string, o: ReadonlyOptions = {}): Promise<void> {
    const req = { name, partitions: o.partitions ?? [], readonly: o.readonly ?? true };
    await this.#resilient((api) => api.SetStreamReadonly(req, callOpts(o)), "setStreamReadonly");
  }

  async fetchMetadata(o: MetadataOptions = {}): Promise<Metadata> {
    const req = { streams: o.streams ?? [], groups: o.consumerGroups ?? [] };
    const res: FetchMetadataResponse = await this.#resilient((api) => api.FetchMetadata(req, callOpts(o)));
    return toMetadata(res, new Date());
  }

  async fetchPartitionMetadata(
    stream: string,
    partition: number,
    o: CallOptions = {},
  ): Promise<PartitionInfo> {
    assertSafeInteger("partition", partition, 0);
    const res = await this.#leaderRpc(stream, partition, (api) =>
      api.FetchPartitionMetadata({ stream, partition }, callOpts(o)),
    );
    if (res.metadata === undefined)
      throw new LiftbridgeError(C.Internal, "no partition metadata in response");
    const brokers = new Map(this.#metadata.brokers.map((b) => [b.id, b]));
    for (const id of [res.metadata.leader, ...res.metadata.replicas, ...res.metadata.isr])
      if (!brokers.has(id)) throw new LiftbridgeError(C.NoLeader, "Broker is not found in cached metadata");
    // Go leaves `readonly` unset here.
    return { ...toPartitionInfo(res.metadata, brokers), readonly: false };
  }

  // ---- cursors -------------------------------------------------------------------------------

  /** spec §0.9: `__cursors` partition = crc32_IEEE("id,stream,partition") mod partition count. */
  async #cursorPartition(id: string, stream: string, partition: number): Promise<number> {
    assertSafeInteger("partition", partition, 0);
    const n = await this.#streamPartitions(CURSORS_STREAM);
    return crc32String(`${id},${stream},${partition}`) % n;
  }

  async setCursor(
    id: string,
    stream: string,
    partition: number,
    offset: number,
    o: CallOptions = {},
  ): Promise<void> {
    assertSafeInteger("offset", offset, -1);
    const cp = await this.#cursorPartition(id, stream, partition);
    await this.#leaderRpc(CURSORS_STREAM, cp, (api) =>
      api.SetCursor({ cursorId: id, stream, partition, offset }, callOpts(o)),
    );
  }

  async fetchCursor(id: string, stream: string, partition: number, o: CallOptions = {}): Promise<number> {
    const cp = await this.#cursorPartition(id, stream, partition);
    const res = await this.#leaderRpc(CURSORS_STREAM, cp, (api) =>
      api.FetchCursor({ cursorId: id, stream, partition }, callOpts(o)),
    );
    return res.offset;
  }

  // ---- publish -------------------------------------------------------------------------------

  /** The broker for (stream, partition): rendezvous hash over the connected addresses (Go: a hash ring). */
  #publishConn(stream: string, partition: number): BrokerConn {
    const key = `${stream}:${partition}`;
    const cached = this.#publishRoutes.get(key);
    if (cached !== undefined) return cached;
    let best: BrokerConn | undefined;
    let bestScore = -1;
    for (const conn of this.#conns.values()) {
      const score = rendezvousScore(conn.addr, key);
      if (score > bestScore) {
        bestScore = score;
        best = conn;
      }
    }
    if (best === undefined) throw new LiftbridgeError(C.Unavailable, "no broker connections");
    this.#publishRoutes.set(key, best);
    return best;
  }

  /** The partition of a message: explicit, else partitioner, else 0. Undefined = needs metadata first. */
  #partitionSync(stream: string, value: Uint8Array, o: MessageOptions): number | undefined {
    if (o.partition !== undefined) {
      assertSafeInteger("partition", o.partition, 0);
      return o.partition;
    }
    const p = o.partitioner;
    if (p === undefined) return 0;
    const n = this.#metadata.partitionCountForStream(stream);
    if (n === 0) return undefined;
    return this.#applyPartitioner(p, stream, value, o.key, n);
  }

  #applyPartitioner(
    p: NonNullable<MessageOptions["partitioner"]>,
    stream: string,
    value: Uint8Array,
    key: Uint8Array | undefined,
    n: number,
  ): number {
    if (p === "key") return crc32(key ?? EMPTY) % n;
    if (p === "roundRobin") {
      const c = this.#roundRobin.get(stream) ?? 0;
      this.#roundRobin.set(stream, c + 1);
      return c % n;
    }
    const out = p(stream, key, value, this.#metadata);
    assertSafeInteger("partitioner result", out, 0);
    return out;
  }

  publishAsync(
    stream: string,
    value: Uint8Array,
    handler?: AckHandler,
    o: MessageOptions & { readonly timeoutMs?: number } = {},
  ): void {
    this.#assertOpen();
    if (stream === "") throw new LiftbridgeError(C.InvalidArgument, "no stream provided");
    const expectedOffset = o.expectedOffset ?? -1;
    assertSafeInteger("expectedOffset", expectedOffset, -1);
    const partition = this.#partitionSync(stream, value, o);
    if (partition === undefined) {
      // The partitioner needs stream metadata that is not cached yet.
      this.#streamPartitions(stream).then(
        (n) => {
          const part = this.#applyPartitioner(o.partitioner!, stream, value, o.key, n);
          this.#send(stream, value, part, expectedOffset, handler, o);
        },
        (e) => handler?.(fromGrpcError(e), undefined),
      );
      return;
    }
    this.#send(stream, value, partition, expectedOffset, handler, o);
  }

  #send(
    stream: string,
    value: Uint8Array,
    partition: number,
    expectedOffset: number,
    handler: AckHandler | undefined,
    o: MessageOptions & { readonly timeoutMs?: number },
  ): boolean {
    const policy = o.ackPolicy === undefined ? AckPolicy.LEADER : ACK_POLICY[o.ackPolicy];
    if (policy === undefined)
      throw new LiftbridgeError(C.InvalidArgument, `unknown ackPolicy ${o.ackPolicy}`);
    const req = {
      stream,
      partition,
      key: o.key,
      value,
      headers: o.headers,
      ackInbox: o.ackInbox,
      correlationId: o.correlationId || this.nextId(),
      ackPolicy: policy,
      expectedOffset,
    };
    const timeoutMs = o.timeoutMs ?? this.opts.ackWaitTimeMs;
    const conn = this.#publishConn(stream, partition);
    return conn.publisher.send(req, timeoutMs, policy === AckPolicy.NONE ? undefined : handler);
  }

  publish(stream: string, value: Uint8Array, o: MessageOptions & CallOptions = {}): Promise<Ack | undefined> {
    return new Promise((resolve, reject) => {
      if (o.signal?.aborted) return reject(new LiftbridgeError(C.Canceled, "publish aborted"));
      let onAbort: (() => void) | undefined;
      const done = (err: LiftbridgeError | undefined, ack: Ack | undefined): void => {
        if (onAbort !== undefined) o.signal?.removeEventListener("abort", onAbort);
        if (err !== undefined) reject(err);
        else resolve(ack);
      };
      if (o.signal !== undefined) {
        onAbort = () => reject(new LiftbridgeError(C.Canceled, "publish aborted"));
        o.signal.addEventListener("abort", onAbort, { once: true });
      }
      try {
        if (o.ackPolicy === "none") {
          this.publishAsync(stream, value, undefined, o);
          done(undefined, undefined);
        } else this.publishAsync(stream, value, done, o);
      } catch (e) {
        done(fromGrpcError(e), undefined);
      }
    });
  }

  async publishToSubject(
    subject: string,
    value: Uint8Array,
    o: MessageOptions & CallOptions = {},
  ): Promise<Ack | undefined> {
    const policy = o.ackPolicy === undefined ? AckPolicy.LEADER : ACK_POLICY[o.ackPolicy];
    const req = {
      subject,
      key: o.key,
      value,
      ackInbox: o.ackInbox,
      correlationId: o.correlationId || this.nextId(),
      ackPolicy: policy,
    };
    const timeoutMs = o.timeoutMs ?? this.opts.ackWaitTimeMs;
    const res = await this.#resilient(
      (api) => api.PublishToSubject(req, { timeoutMs, ...(o.signal ? { signal: o.signal } : {}) }),
      "publishToSubject",
    );
    return res.ack;
  }

  // ---- subscribe -----------------------------------------------------------------------------

  async subscribe(stream: string, options: SubscribeOptions = {}): Promise<Subscription> {
    return this.subscribeWith(stream, options, undefined);
  }

  /** @internal Subscribe with an optional consumer-group member. */
  async subscribeWith(
    stream: string,
    options: SubscribeOptions,
    consumer: SubscribeRequestInit["consumer"],
  ): Promise<SubscriptionImpl> {
    this.#assertOpen();
    const req = buildSubscribeRequest(stream, options, consumer, Date.now());
    const sub = new SubscriptionImpl(this, req, options);
    await sub.start();
    return sub;
  }

  track(sub: { close(): Promise<void> }): () => void {
    this.#subs.add(sub);
    return () => this.#subs.delete(sub);
  }

  /** Go subscribe setup: up to 5 tries (10 + 50·i ms apart, refreshing metadata) on unknown leader, Unavailable, FailedPrecondition. */
  async openSubscribe(
    req: SubscribeRequestInit,
    signal: AbortSignal,
  ): Promise<{ call: ClientReadableCall<ApiMessage>; iterator: AsyncIterator<ApiMessage> | undefined }> {
    let last: unknown;
    for (let i = 0; i < 5; i++) {
      this.#assertOpen();
      if (signal.aborted) throw new LiftbridgeError(C.Canceled, "subscription closed");
      if (i > 0) {
        await sleep(10 + 50 * i);
        await this.updateMetadata().catch((e: unknown) => {
          last = e;
        });
      }
      let conn: BrokerConn;
      try {
        conn = this.#subscribeConn(req.stream ?? "", req.partition ?? 0, req.readISRReplica ?? false);
      } catch (e) {
        last = e;
        continue;
      }
      const call = conn.api.Subscribe(req, { signal });
      const iterator = call[Symbol.asyncIterator]();
      try {
        const first = await iterator.next(); // the empty setup frame (spec §0.2)
        if (first.done) throw new LiftbridgeError(C.Internal, "subscribe stream ended before setup");
        return { call, iterator };
      } catch (e) {
        last = e;
        const s = isGrpcError(e) ? e.code : undefined;
        if (s !== Status.UNAVAILABLE && s !== Status.FAILED_PRECONDITION) throw setupError(e);
      }
    }
    throw setupError(last);
  }

  #subscribeConn(stream: string, partition: number, readIsr: boolean): BrokerConn {
    const p = this.#metadata.getStream(stream)?.getPartition(partition);
    if (p === undefined) {
      if (this.#metadata.getStream(stream) !== undefined)
        throw new LiftbridgeError(C.NoSuchPartition, `no partition ${partition} in stream ${stream}`);
      throw new LiftbridgeError(C.NoLeader, `no metadata for stream ${stream}`);
    }
    if (readIsr && p.isr.length > 0) {
      const b = p.isr[Math.floor(this.opts.random() * p.isr.length)]!;
      return this.#dial(b.addr);
    }
    if (p.leader === undefined) throw new LiftbridgeError(C.NoLeader, "no known partition leader");
    return this.#dial(p.leader.addr);
  }

  // ---- consumer groups -----------------------------------------------------------------------

  createConsumer(groupId: string, options: ConsumerOptions = {}): Consumer {
    this.#assertOpen();
    return createConsumerImpl(this, groupId, options);
  }

  /** @internal For the consumer: an any-broker RPC. */
  anyBroker<T>(fn: (api: Api) => Promise<T>): Promise<T> {
    return this.#resilient(fn);
  }

  /** @internal For the consumer: an RPC to broker `id`. */
  toBroker<T>(id: string, fn: (api: Api) => Promise<T>): Promise<T> {
    return fn(this.#connFor(id).api);
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await Promise.all([...this.#subs].map((s) => s.close()));
      for (const c of this.#consumers) await c.close().catch(() => undefined);
      for (const conn of this.#conns.values()) conn.publisher.close();
      // Every stream call is cancelled by now: a graceful close only waits for unary RPCs in flight.
      // Those are cut off after CHANNEL_CLOSE_GRACE_MS (a frozen server), and the sockets destroyed.
      await Promise.all(
        [...this.#conns.values()].map((c) => c.channel.close({ graceMs: CHANNEL_CLOSE_GRACE_MS })),
      );
      this.#conns.clear();
      this.#resolveClosed(undefined);
    })();
    return this.#closing;
  }

  readonly #consumers = new Set<ConsumerImpl>();
  /** @internal */
  trackConsumer(c: ConsumerImpl): () => void {
    this.#consumers.add(c);
    return () => this.#consumers.delete(c);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

const EMPTY = new Uint8Array(0);

/** How long `close()` lets unary RPCs still in flight finish before it cuts them off. */
const CHANNEL_CLOSE_GRACE_MS = 2000;

function callOpts(o: CallOptions): { timeoutMs?: number; signal?: AbortSignal } {
  const out: { timeoutMs?: number; signal?: AbortSignal } = {};
  if (o.timeoutMs !== undefined) out.timeoutMs = o.timeoutMs;
  if (o.signal !== undefined) out.signal = o.signal;
  return out;
}

function setupError(e: unknown): LiftbridgeError {
  // spec §6.5: NotFound at setup = no such partition; ResourceExhausted = readonly partition.
  return fromGrpcError(e, "subscribeSetup");
}

function randomId(random: () => number, n: number): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(random() * alphabet.length)];
  return s;
}

/**
 * Connects to a Liftbridge cluster (go-liftbridge `Connect`): dials every address in `addrs`
 * (`host:port`), fetches metadata and connects to every advertised broker. Rejects with `unavailable`
 * when no address answers, `invalid_argument` for bad options.
 */
export async function connect(
  addrs: string | readonly string[],
  options: ClientOptions = {},
): Promise<Client> {
  const list = typeof addrs === "string" ? [addrs] : [...addrs];
  if (list.length === 0) throw new LiftbridgeError(C.InvalidArgument, "no addresses provided");
  const client = new LiftbridgeClient(list, resolveClientOptions(options));
  await client.start();
  return client;
}
