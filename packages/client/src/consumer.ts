import type { Api } from "./api.js";
import { LiftbridgeErrorCode as C, isLiftbridgeError, LiftbridgeError } from "./errors.js";
import { fromGrpcError } from "./grpc-status.js";
import type { Logger, StartAt } from "./options.js";
import type { Message, SubscribeOptions, SubscriptionImpl } from "./subscription.js";

/** Where a consumer starts on a partition without a committed cursor (Go `AutoOffset*`). */
export type AutoOffset = "newOnly" | "earliest" | "latest" | "none";

/** Options of `createConsumer` (go-liftbridge `ConsumerOptions`). */
export interface ConsumerOptions {
  /** Go `ConsumerID`; random when absent. Empty is an error. */
  readonly consumerId?: string;
  /** Go `AutoCheckpoint`: checkpoint interval; default 5000 ms; 0 = off. */
  readonly autoCheckpointIntervalMs?: number;
  /** Go `AutoOffset*`; default `"newOnly"`. */
  readonly autoOffset?: AutoOffset;
  /** Go `FetchAssignmentsInterval`: poll interval from the server's consumer timeout; default 0.4 × timeout. */
  readonly fetchAssignmentsInterval?: (consumerTimeoutMs: number) => number;
  /** Pause between retries after a failed assignment fetch; default 2000 ms (Go's fixed sleep). */
  readonly retryIntervalMs?: number;
}

/** Receives group messages, or an asynchronous group error (Go `ConsumerError`, code `consumer`). */
export type ConsumerHandler = (error: LiftbridgeError | undefined, message: Message | undefined) => void;

/** A consumer-group member (go-liftbridge `Consumer`). */
export interface Consumer extends AsyncDisposable {
  readonly groupId: string;
  readonly consumerId: string;
  /**
   * Go `Subscribe`: joins the group for `streams`, then polls assignments from the coordinator and
   * subscribes to the partitions assigned to this member; messages go to `handler`. Resolves once joined.
   */
  subscribe(streams: readonly string[], handler: ConsumerHandler): Promise<void>;
  /** Go `Checkpoint`: commits the last handled offset of every assigned partition that moved. */
  checkpoint(): Promise<void>;
  /** Go `Close`: leaves the group and stops every subscription and loop. Idempotent. */
  close(): Promise<void>;
  /** The current assignment (stream → partitions), for inspection. */
  readonly assignments: ReadonlyMap<string, readonly number[]>;
}

/** What the consumer needs from the client. @internal */
export interface ConsumerHost {
  readonly log: Logger;
  readonly opts: { readonly random: () => number };
  isClosed(): boolean;
  anyBroker<T>(fn: (api: Api) => Promise<T>): Promise<T>;
  toBroker<T>(id: string, fn: (api: Api) => Promise<T>): Promise<T>;
  updateMetadata(): Promise<unknown>;
  fetchMetadata(o: { consumerGroups: readonly string[] }): Promise<{
    getConsumerGroup(id: string): { coordinator: string; epoch: number } | undefined;
  }>;
  fetchCursor(
    id: string,
    stream: string,
    partition: number,
    options: { readonly signal: AbortSignal },
  ): Promise<number>;
  setCursor(id: string, stream: string, partition: number, offset: number): Promise<void>;
  subscribeWith(
    stream: string,
    options: SubscribeOptions,
    consumer: { groupId: string; consumerId: string; groupEpoch: number },
  ): Promise<SubscriptionImpl>;
  trackConsumer(c: ConsumerImpl): () => void;
}

interface PartitionState {
  readonly sub: SubscriptionImpl;
  readonly epoch: number;
  lastOffset: number;
  committed: number;
}

const key = (stream: string, partition: number): string => `${stream}\u0000${partition}`;

/** @internal */
export class ConsumerImpl implements Consumer {
  readonly groupId: string;
  readonly consumerId: string;
  readonly #host: ConsumerHost;
  readonly #autoCheckpointMs: number;
  readonly #autoOffset: AutoOffset;
  readonly #interval: (t: number) => number;
  readonly #retryMs: number;
  readonly #abort = new AbortController();
  #handler: ConsumerHandler = () => {};
  #streams: readonly string[] = [];
  #coordinator = "";
  #epoch = 0;
  #consumerTimeoutMs = 0;
  #coordinatorTimeoutMs = 0;
  #lastContact = 0;
  readonly #parts = new Map<string, PartitionState>();
  #assignments = new Map<string, readonly number[]>();
  #loops: Promise<void>[] = [];
  /** The latest fetched assignment not reconciled yet (latest wins). */
  #pending: { epoch: number; assignments: ReadonlyMap<string, readonly number[]> } | undefined;
  /** The running reconcile (at most one), and the abort of its subscribe attempts. */
  #reconciling: Promise<void> | undefined;
  #reconcileAbort: { epoch: number; ac: AbortController } | undefined;
  /** Partitions with a subscribe in flight. */
  readonly #opening = new Set<string>();
  #joined = false;
  #closing: Promise<void> | undefined;
  readonly #untrack: () => void;

  constructor(host: ConsumerHost, groupId: string, o: ConsumerOptions) {
    if (groupId === "") throw new LiftbridgeError(C.InvalidArgument, "group id cannot be empty");
    if (o.consumerId === "") throw new LiftbridgeError(C.InvalidArgument, "consumer id cannot be empty");
    if ("fetchAssignmentsInterval" in o && typeof o.fetchAssignmentsInterval !== "function")
      throw new LiftbridgeError(C.InvalidArgument, "fetchAssignmentsInterval must be a function");
    this.#host = host;
    this.groupId = groupId;
    this.consumerId = o.consumerId ?? randomName(host.opts.random);
    this.#autoCheckpointMs = o.autoCheckpointIntervalMs ?? 5000;
    this.#autoOffset = o.autoOffset ?? "newOnly";
    this.#interval = o.fetchAssignmentsInterval ?? ((t) => 0.4 * t);
    this.#retryMs = o.retryIntervalMs ?? 2000;
    this.#untrack = host.trackConsumer(this);
  }

  get assignments(): ReadonlyMap<string, readonly number[]> {
    return this.#assignments;
  }

  /** The cursor id of this group (Go: `__group:<groupId>`). */
  get cursorId(): string {
    return `__group:${this.groupId}`;
  }

  async subscribe(streams: readonly string[], handler: ConsumerHandler): Promise<void> {
    if (this.#closing !== undefined) throw new LiftbridgeError(C.Closed, "consumer is closed");
    if (this.#joined) throw new LiftbridgeError(C.InvalidArgument, "consumer already subscribed");
    if (streams.length === 0) throw new LiftbridgeError(C.InvalidArgument, "no streams provided");
    this.#handler = handler;
    this.#streams = [...streams];
    const res = await this.#host.anyBroker((api) =>
      api.JoinConsumerGroup({ groupId: this.groupId, consumerId: this.consumerId, streams: this.#streams }),
    );
    this.#joined = true;
    this.#coordinator = res.coordinator;
    this.#epoch = res.epoch;
    this.#consumerTimeoutMs = Number(res.consumerTimeout / 1_000_000n);
    this.#coordinatorTimeoutMs = Number(res.coordinatorTimeout / 1_000_000n);
    this.#lastContact = performance.now();
    this.#loops.push(this.#assignmentLoop());
    if (this.#autoCheckpointMs > 0) this.#loops.push(this.#checkpointLoop());
  }

  #sleep(ms: number): Promise<void> {
    const signal = this.#abort.signal;
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
  }

  #reportError(e: unknown): void {
    const err = new LiftbridgeError(
      C.Consumer,
      `ConsumerError: ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
      },
    );
    this.#handler(err, undefined);
  }

  /**
   * Polls the coordinator every interval. The poll is also the member's heartbeat (a member silent for
   * `consumerTimeout` is expired), so it never waits for a reconcile: results are handed to
   * {@link #reconcileLatest}, which runs in the background.
   */
  async #assignmentLoop(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted && !this.#host.isClosed()) {
      try {
        const res = await this.#host.toBroker(this.#coordinator, (api) =>
          api.FetchConsumerGroupAssignments({
            groupId: this.groupId,
            consumerId: this.consumerId,
            epoch: this.#epoch,
          }),
        );
        this.#lastContact = performance.now();
        if (signal.aborted) return;
        this.#onAssignments(res.epoch, res.assignments);
      } catch (e) {
        if (signal.aborted) return;
        // A changed coordinator or epoch is news: poll again at once. Otherwise back off (Go: 2 s).
        if (await this.#onFetchError(e)) continue;
        await this.#sleep(this.#retryMs);
        continue;
      }
      await this.#sleep(Math.max(1, this.#interval(this.#consumerTimeoutMs)));
    }
  }

  /**
   * spec §6.8 coordinator failure: follow a changed coordinator/epoch (returns true), else report it
   * after coordinatorTimeout without contact.
   */
  async #onFetchError(e: unknown): Promise<boolean> {
    this.#host.log.warn({ err: e, group: this.groupId }, "fetch assignments failed");
    try {
      const md = await this.#host.fetchMetadata({ consumerGroups: [this.groupId] });
      const g = md.getConsumerGroup(this.groupId);
      if (g !== undefined && (g.coordinator !== this.#coordinator || g.epoch !== this.#epoch)) {
        const coordinatorChanged = g.coordinator !== this.#coordinator;
        this.#coordinator = g.coordinator;
        this.#epoch = g.epoch;
        if (coordinatorChanged) await this.#host.updateMetadata().catch(() => undefined);
        return true;
      }
      if (performance.now() - this.#lastContact > this.#coordinatorTimeoutMs) {
        await this.#host.anyBroker((api) =>
          api.ReportConsumerGroupCoordinator({
            groupId: this.groupId,
            consumerId: this.consumerId,
            coordinator: this.#coordinator,
            epoch: this.#epoch,
          }),
        );
      }
    } catch (err) {
      this.#reportError(err);
    }
    return false;
  }

  /**
   * Records a fetched assignment and makes sure a reconcile runs for it. Never two reconciles at once:
   * a result arriving during one replaces any older pending result, and a reconcile working on an
   * older epoch is cut short (its subscribe attempts are aborted) so the newest result runs next.
   */
  #onAssignments(epoch: number, assignments: readonly { stream: string; partitions: number[] }[]): void {
    if (epoch < this.#epoch) return; // stale: a newer epoch is already known
    this.#epoch = epoch;
    const next = new Map<string, readonly number[]>();
    for (const a of assignments)
      next.set(
        a.stream,
        [...a.partitions].sort((x, y) => x - y),
      );
    this.#assignments = next;
    this.#pending = { epoch, assignments: next };
    const running = this.#reconcileAbort;
    if (running !== undefined && running.epoch !== epoch) running.ac.abort();
    this.#reconciling ??= this.#reconcileLatest();
  }

  async #reconcileLatest(): Promise<void> {
    // Yield first, so the caller has stored this promise before the loop can end and clear it.
    await Promise.resolve();
    try {
      for (;;) {
        const target = this.#pending;
        if (target === undefined || this.#abort.signal.aborted) return;
        this.#pending = undefined;
        const ac = new AbortController();
        this.#reconcileAbort = { epoch: target.epoch, ac };
        try {
          await this.#reconcile(target.epoch, target.assignments, ac.signal);
        } catch (e) {
          this.#reportError(e);
        } finally {
          this.#reconcileAbort = undefined;
        }
      }
    } finally {
      // Cleared in the same turn as the last check of #pending, so no result is left unreconciled.
      this.#reconciling = undefined;
    }
  }

  /** spec §6.8 reconcile rules, for one fetched epoch; partitions are (un)subscribed in parallel. */
  async #reconcile(
    epoch: number,
    assignments: ReadonlyMap<string, readonly number[]>,
    signal: AbortSignal,
  ): Promise<void> {
    const wanted = new Map<string, { stream: string; partition: number }>();
    for (const [stream, partitions] of assignments)
      for (const p of partitions) wanted.set(key(stream, p), { stream, partition: p });
    // Cancel partitions no longer assigned, or whose epoch changed.
    const closing: Promise<void>[] = [];
    for (const [k, st] of this.#parts) {
      if (!wanted.has(k) || st.epoch !== epoch) {
        this.#parts.delete(k);
        closing.push(st.sub.close());
      }
    }
    await Promise.all(closing);
    const opening: Promise<void>[] = [];
    for (const [k, { stream, partition }] of wanted) {
      if (this.#parts.has(k) || this.#opening.has(k)) continue;
      this.#opening.add(k);
      opening.push(
        this.#subscribePartition(k, stream, partition, epoch, signal)
          .catch((e: unknown) => {
            // Aborted because a newer epoch arrived (or closing): the next reconcile takes over.
            if (!signal.aborted && !this.#abort.signal.aborted) this.#reportError(e);
          })
          .finally(() => this.#opening.delete(k)),
      );
    }
    await Promise.all(opening);
  }

  async #subscribePartition(
    k: string,
    stream: string,
    partition: number,
    epoch: number,
    signal: AbortSignal,
  ): Promise<void> {
    const cursor = await this.#host.fetchCursor(this.cursorId, stream, partition, { signal });
    if (signal.aborted || this.#abort.signal.aborted) return;
    let startAt: StartAt;
    if (cursor >= 0) startAt = { offset: cursor + 1 };
    else if (this.#autoOffset === "none")
      throw new LiftbridgeError(
        C.InvalidArgument,
        `no committed offset for ${stream}/${partition} and autoOffset none`,
      );
    else startAt = this.#autoOffset;
    const handler = this.#handler;
    // Messages can arrive while subscribeWith is still resolving: track offsets from the start.
    const state: { sub: SubscriptionImpl | undefined; epoch: number; lastOffset: number; committed: number } =
      {
        sub: undefined,
        epoch,
        lastOffset: cursor,
        committed: cursor,
      };
    const sub = await this.#host.subscribeWith(
      stream,
      {
        partition,
        startAt,
        signal,
        callback: (err, msg) => {
          if (msg !== undefined) {
            state.lastOffset = msg.offset;
            handler(undefined, msg);
          } else if (err !== undefined && state.sub !== undefined && this.#parts.get(k)?.sub === state.sub) {
            this.#parts.delete(k);
            this.#reportError(err);
          }
        },
      },
      { groupId: this.groupId, consumerId: this.consumerId, groupEpoch: epoch },
    );
    state.sub = sub;
    // A result for an older epoch, or closing: do not keep it (spec §6.8: epoch changed = cancel).
    if (signal.aborted || this.#abort.signal.aborted || epoch !== this.#epoch) {
      await sub.close();
      return;
    }
    this.#parts.set(k, state as PartitionState);
    // Ended without an error (e.g. the server replaced this subscriber): forget it, so a later
    // reconcile subscribes again if the partition is still assigned here.
    void sub.closed.then(() => {
      if (this.#parts.get(k)?.sub === sub) this.#parts.delete(k);
    });
  }

  async #checkpointLoop(): Promise<void> {
    while (!this.#abort.signal.aborted) {
      await this.#sleep(this.#autoCheckpointMs);
      if (this.#abort.signal.aborted) return;
      await this.checkpoint().catch((e: unknown) => this.#reportError(e));
    }
  }

  async checkpoint(): Promise<void> {
    for (const st of [...this.#parts.values()]) {
      if (st.lastOffset <= st.committed) continue;
      const offset = st.lastOffset;
      await this.#host.setCursor(this.cursorId, st.sub.stream, st.sub.partition, offset);
      st.committed = offset;
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort();
      this.#reconcileAbort?.ac.abort();
      await Promise.all(this.#loops);
      await this.#reconciling;
      if (this.#autoCheckpointMs > 0 && !this.#host.isClosed())
        await this.checkpoint().catch(() => undefined);
      await Promise.all([...this.#parts.values()].map((s) => s.sub.close()));
      this.#parts.clear();
      this.#untrack();
      if (this.#joined && !this.#host.isClosed()) {
        try {
          await this.#host.anyBroker((api) =>
            api.LeaveConsumerGroup({ groupId: this.groupId, consumerId: this.consumerId }),
          );
        } catch (e) {
          if (!isLiftbridgeError(e, C.Closed)) throw fromGrpcError(e);
        }
      }
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function randomName(random: () => number): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  let s = "";
  for (let i = 0; i < 22; i++) s += alphabet[Math.floor(random() * alphabet.length)];
  return s;
}

/** @internal */
export function createConsumerImpl(host: ConsumerHost, groupId: string, o: ConsumerOptions): ConsumerImpl {
  return new ConsumerImpl(host, groupId, o);
}
