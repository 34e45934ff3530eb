import { createRawNode, type RawNode, type RawNodeOptions } from "./core/raw-node.js";
import type { ConfChange, ConfState, Entry, Message, NodeId, Snapshot, Status } from "./core/types.js";
import { RaftError, RaftErrorCode } from "./errors.js";
import { type Logger, noopLogger } from "./logger.js";
import { completeReady, type DurableStorage, writeReady } from "./ready-loop.js";

/** Transport port of a {@link RaftNode}: best-effort, unordered delivery is fine (raft tolerates loss). */
export interface RaftTransport {
  /** Sends a message to `m.to`; never throws for unreachable peers (drops instead). */
  send(m: Message): void;
  /** Installs the handler for incoming messages. */
  setHandler(handler: (m: Message) => void): void;
  close(): Promise<void>;
}

/** Timer handle of a {@link RaftClock}. */
export interface RaftTimer {
  cancel(): void;
}

/** Clock port (STYLE §5); `@liftbridge/testkit`'s ManualClock satisfies it. */
export interface RaftClock {
  now(): number;
  setTimer(ms: number, fn: () => void): RaftTimer;
}

/** The replicated state machine driven by a {@link RaftNode}. */
export interface StateMachine {
  /** Applies a committed normal entry; the result is returned to the proposer. */
  apply(entry: Entry): unknown;
  /** Serializes the state (for snapshots). */
  snapshot(): Uint8Array;
  /** Replaces the state from snapshot data. */
  restore(data: Uint8Array): void;
}

/** Options of {@link createRaftNode}. */
export interface RaftNodeOptions {
  readonly id: NodeId;
  readonly storage: DurableStorage;
  readonly transport: RaftTransport;
  readonly stateMachine: StateMachine;
  /** Default: the system clock with `setTimeout`. */
  readonly clock?: RaftClock;
  /** Milliseconds per tick. Default 100 (with 10 election ticks: a 1 s election timeout, as Liftbridge). */
  readonly tickMs?: number;
  /** Default `Math.random`. */
  readonly random?: () => number;
  /** Take a snapshot every N applied entries; 0 disables. Default 8192 (hashicorp SnapshotThreshold). */
  readonly snapshotEvery?: number;
  /** Entries kept behind a snapshot. Default 1024. */
  readonly keepEntries?: number;
  /** Default timeout of `propose`/`read`. Default 5000 ms (Liftbridge `applyOperation`). */
  readonly defaultTimeoutMs?: number;
  /** Core options other than id/storage/random/applied. */
  readonly raft?: Omit<RawNodeOptions, "id" | "storage" | "random" | "applied" | "logger">;
  readonly logger?: Logger;
}

/** Per-call options (STYLE §3). */
export interface CallOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Async driver around the pure core: timer → `tick`, transport → `step`, and the Ready loop
 * (persist → send → apply → advance) with injected storage, transport and clock.
 */
export interface RaftNode {
  readonly id: NodeId;
  /**
   * Proposes `data`; resolves with its index and the state machine's result once applied locally.
   * Throws `not_leader`/`proposal_dropped` if refused, `timeout` if not applied in time (outcome
   * unknown), `closed` if the node closes first.
   */
  propose(data: Uint8Array, opts?: CallOptions): Promise<{ index: number; result: unknown }>;
  /** Linearizable read barrier: resolves with the read index once the local state machine reached it. */
  readBarrier(opts?: CallOptions): Promise<number>;
  /** Proposes a membership change; resolves with the new configuration once applied. */
  proposeConf(cc: ConfChange, opts?: CallOptions): Promise<ConfState>;
  /** Starts a leadership transfer (leader only). */
  transferLeadership(to: NodeId): void;
  /** Starts an election now. */
  campaign(): void;
  status(): Status;
  /** Resolves when the node stops: undefined after `close()`, or the fatal error (e.g. fsync failure). */
  readonly closed: Promise<Error | undefined>;
  /** Stops timers and the transport; idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The system clock. */
export const systemClock: RaftClock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: Error): void;
}

/** Creates and starts a {@link RaftNode} on already-opened storage. */
export function createRaftNode(opts: RaftNodeOptions): RaftNode {
  return new DrivenRaftNode(opts);
}

class DrivenRaftNode implements RaftNode {
  readonly id: NodeId;
  readonly closed: Promise<Error | undefined>;
  readonly #o: RaftNodeOptions;
  readonly #core: RawNode;
  readonly #clock: RaftClock;
  readonly #log: Logger;
  readonly #storage: DurableStorage;
  #resolveClosed!: (e: Error | undefined) => void;
  #timer: RaftTimer | null = null;
  #scheduled = false;
  #stopped = false;
  #applied = 0;
  #ticks = 0;
  #tickOrigin: number;
  #conf: ConfState;
  readonly #proposals = new Map<number, Waiter<{ index: number; result: unknown }> & { term: number }>();
  readonly #confWaiters = new Map<number, Waiter<ConfState> & { term: number }>();
  readonly #reads = new Map<string, Waiter<number>>();
  #readWaits: { index: number; w: Waiter<number> }[] = [];

  constructor(o: RaftNodeOptions) {
    this.#o = o;
    this.id = o.id;
    this.#clock = o.clock ?? systemClock;
    this.#log = (o.logger ?? noopLogger).child({ component: "raft", nodeId: o.id });
    this.#storage = o.storage;
    this.closed = new Promise((r) => {
      this.#resolveClosed = r;
    });
    this.#tickOrigin = this.#clock.now();
    const snap = o.storage.snapshot();
    if (snap.meta.index > 0) o.stateMachine.restore(snap.data);
    this.#applied = snap.meta.index;
    this.#conf = snap.meta.conf;
    this.#core = createRawNode({
      ...o.raft,
      id: o.id,
      storage: o.storage,
      random: o.random ?? Math.random,
      applied: snap.meta.index,
      // The core binds component and nodeId itself; passing #log would repeat them in every line.
      logger: o.logger ?? noopLogger,
    });
    o.transport.setHandler((m) => {
      if (this.#stopped) return;
      this.#core.step(m);
      this.#kick();
    });
    this.#scheduleTick();
    this.#kick();
  }

  #scheduleTick(): void {
    this.#timer = this.#clock.setTimer(this.#o.tickMs ?? 100, () => {
      if (this.#stopped) return;
      this.#catchUpTicks();
      this.#kick();
      this.#scheduleTick();
    });
  }

  /**
   * Delivers every tick due by the clock, not one per timer callback: after a process pause the
   * ticks burst, so elections, check-quorum and leases see the real elapsed time.
   */
  #catchUpTicks(): void {
    const tickMs = this.#o.tickMs ?? 100;
    const due = Math.floor((this.#clock.now() - this.#tickOrigin) / tickMs);
    let n = 0;
    while (this.#ticks < due && n++ < 10_000) {
      this.#ticks++;
      this.#core.tick();
    }
    this.#ticks = Math.max(this.#ticks, due);
  }

  #kick(): void {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#drain();
    });
  }

  #drain(): void {
    if (this.#stopped) return;
    try {
      while (this.#core.hasReady()) {
        const rd = this.#core.ready();
        writeReady(this.#storage, rd);
        completeReady(this.#core, this.#storage, rd, {
          send: (m) => this.#o.transport.send(m),
          restore: (s) => this.#restore(s),
          apply: (e, conf) => this.#apply(e, conf),
          readState: (rs) => {
            const w = this.#reads.get(rs.readId);
            if (!w) return;
            this.#reads.delete(rs.readId);
            if (rs.index < 0) w.reject(new RaftError(RaftErrorCode.NotLeader, "read refused: no leader"));
            else this.#readWaits.push({ index: rs.index, w });
          },
        });
        this.#serveReads();
      }
      this.#maybeSnapshot();
    } catch (err) {
      // Storage errors (e.g. a failed fsync) are fatal: fail-stop.
      this.#log.error({ err }, "fatal error in ready loop");
      this.#stop(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #restore(s: Snapshot): void {
    this.#o.stateMachine.restore(s.data);
    this.#applied = s.meta.index;
    this.#conf = s.meta.conf;
  }

  #apply(e: Entry, conf: ConfState | null): void {
    this.#applied = e.index;
    let result: unknown;
    if (e.kind === "normal") result = this.#o.stateMachine.apply(e);
    if (conf) this.#conf = conf;
    const p = this.#proposals.get(e.index);
    if (p) {
      this.#proposals.delete(e.index);
      if (p.term === e.term) p.resolve({ index: e.index, result });
      else p.reject(new RaftError(RaftErrorCode.ProposalDropped, "entry was overwritten by a new leader"));
    }
    const c = this.#confWaiters.get(e.index);
    if (c) {
      this.#confWaiters.delete(e.index);
      if (c.term === e.term) c.resolve(this.#conf);
      else c.reject(new RaftError(RaftErrorCode.ProposalDropped, "conf change was overwritten"));
    }
  }

  #serveReads(): void {
    if (this.#readWaits.length === 0) return;
    const rest: { index: number; w: Waiter<number> }[] = [];
    for (const r of this.#readWaits) {
      if (this.#applied >= r.index) r.w.resolve(r.index);
      else rest.push(r);
    }
    this.#readWaits = rest;
  }

  #maybeSnapshot(): void {
    const every = this.#o.snapshotEvery ?? 8192;
    if (every <= 0) return;
    const snapIndex = this.#storage.snapshot().meta.index;
    if (this.#applied - snapIndex < every) return;
    this.#storage.createSnapshot(this.#applied, this.#conf, this.#o.stateMachine.snapshot());
    const compactTo = this.#applied - (this.#o.keepEntries ?? 1024);
    if (compactTo > this.#storage.firstIndex()) this.#storage.compact(compactTo);
    this.#log.info({ index: this.#applied }, "snapshot taken");
  }

  #withDeadline<T>(
    opts: CallOptions | undefined,
    register: (w: Waiter<T>) => void,
    unregister: () => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#stopped) {
        reject(new RaftError(RaftErrorCode.Closed, "node is closed"));
        return;
      }
      const timeoutMs = opts?.timeoutMs ?? this.#o.defaultTimeoutMs ?? 5000;
      let timer: RaftTimer | null = null;
      const done = () => {
        timer?.cancel();
        opts?.signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        unregister();
        done();
        reject(
          new RaftError(RaftErrorCode.Timeout, "aborted; outcome unknown", { cause: opts?.signal?.reason }),
        );
      };
      timer = this.#clock.setTimer(timeoutMs, () => {
        unregister();
        done();
        reject(new RaftError(RaftErrorCode.Timeout, `not applied within ${timeoutMs} ms; outcome unknown`));
      });
      opts?.signal?.addEventListener("abort", onAbort, { once: true });
      register({
        resolve: (v) => {
          done();
          resolve(v);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
    });
  }

  propose(data: Uint8Array, opts?: CallOptions): Promise<{ index: number; result: unknown }> {
    if (this.#stopped) return Promise.reject(new RaftError(RaftErrorCode.Closed, "node is closed"));
    const r = this.#core.propose(data);
    if (!r.ok) {
      const code = r.reason === "not_leader" ? RaftErrorCode.NotLeader : RaftErrorCode.ProposalDropped;
      return Promise.reject(new RaftError(code, `proposal dropped: ${r.reason}`));
    }
    this.#kick();
    return this.#withDeadline(
      opts,
      (w) => this.#proposals.set(r.index, { ...w, term: r.term }),
      () => this.#proposals.delete(r.index),
    );
  }

  proposeConf(cc: ConfChange, opts?: CallOptions): Promise<ConfState> {
    if (this.#stopped) return Promise.reject(new RaftError(RaftErrorCode.Closed, "node is closed"));
    const r = this.#core.proposeConf(cc);
    if (!r.ok) {
      const code = r.reason === "not_leader" ? RaftErrorCode.NotLeader : RaftErrorCode.ProposalDropped;
      return Promise.reject(new RaftError(code, `conf change dropped: ${r.reason}`));
    }
    this.#kick();
    return this.#withDeadline(
      opts,
      (w) => this.#confWaiters.set(r.index, { ...w, term: r.term }),
      () => this.#confWaiters.delete(r.index),
    );
  }

  readBarrier(opts?: CallOptions): Promise<number> {
    if (this.#stopped) return Promise.reject(new RaftError(RaftErrorCode.Closed, "node is closed"));
    this.#catchUpTicks(); // a lease must not outlive a pause we have not ticked through yet
    const id = this.#core.readIndex();
    this.#kick();
    return this.#withDeadline(
      opts,
      (w) => this.#reads.set(id, w),
      () => this.#reads.delete(id),
    );
  }

  transferLeadership(to: NodeId): void {
    this.#core.transferLeadership(to);
    this.#kick();
  }

  campaign(): void {
    this.#drain(); // apply pending committed conf entries first: the core won't campaign before that
    this.#core.campaign();
    this.#kick();
  }

  status(): Status {
    return this.#core.status();
  }

  #stop(err: Error | undefined): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#timer?.cancel();
    const closedErr = new RaftError(RaftErrorCode.Closed, "node closed", err ? { cause: err } : undefined);
    for (const p of this.#proposals.values()) p.reject(closedErr);
    for (const p of this.#confWaiters.values()) p.reject(closedErr);
    for (const p of this.#reads.values()) p.reject(closedErr);
    for (const r of this.#readWaits) r.w.reject(closedErr);
    this.#proposals.clear();
    this.#confWaiters.clear();
    this.#reads.clear();
    this.#readWaits = [];
    this.#resolveClosed(err);
  }

  async close(): Promise<void> {
    this.#stop(undefined);
    await this.#o.transport.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
