import {
  check,
  EventQueue,
  encodeKvCommand,
  formatSeed,
  History,
  hashMix,
  InvariantViolation,
  type KvOp,
  KvStateMachine,
  NodeClock,
  Prng,
  SimFs,
  SimFsError,
  SimNetwork,
  TraceRecorder,
} from "@liftbridge/testkit";
import {
  type ConfChange,
  type ConfState,
  completeReady,
  decodeMessage,
  EMPTY_CONF,
  type Entry,
  encodeMessage,
  FileStorage,
  type Message,
  type Ready,
  writeReady,
} from "../../src/index.js";
import { RaftCore, type RaftMutations, resolveRawNodeOptions } from "../../src/internal.js";

/** Timing and engine options of a simulated cluster. */
export interface SimClusterOptions {
  readonly seed: bigint;
  /** Initial voters: n1..nN. */
  readonly nodes: number;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly readOnly?: "safe" | "lease";
  readonly maxClockDriftTicks?: number;
  /** Snapshot every N applied entries (0 = never). */
  readonly snapshotEvery?: number;
  /** Entries kept behind a snapshot when compacting. */
  readonly keepEntries?: number;
  readonly maxSnapshotChunkBytes?: number;
  readonly maxInflightMsgs?: number;
  readonly maxSizePerMsg?: number;
  readonly maxUncommittedBytes?: number;
  readonly mutations?: RaftMutations;
  /** Disk latency range for a synced Ready, in virtual ms. */
  readonly fsyncMs?: readonly [number, number];
  readonly trace?: TraceRecorder;
  /** Client op timeout (virtual ms): afterwards the op is indeterminate. */
  readonly opTimeoutMs?: number;
  /** Probability that an fsync fails; the node must crash (fail-stop) and restart. */
  readonly fsyncErrorRate?: number;
}

/** A simulated raft node: the real RawNode and FileStorage, on SimFs, behind a SimNetwork. */
export interface SimNode {
  readonly id: string;
  readonly fs: SimFs;
  core: RaftCore | null;
  storage: FileStorage | null;
  kv: KvStateMachine;
  conf: ConfState;
  /** Configuration before the last applied conf change (a commit may predate that change). */
  prevConf: ConfState;
  readonly clock: NodeClock;
  up: boolean;
  busy: boolean;
  incarnation: number;
  /** Identity epoch for invariants; bumped when the disk is wiped. */
  wipeEpoch: number;
  ticksDone: number;
  tickOrigin: number;
  readonly proposals: Map<number, { term: number; op: KvOp | null; done: (ok: boolean) => void }>;
  readonly reads: Map<string, KvOp>;
  waiting: { index: number; op: KvOp }[];
  /** Durable last index (after the last sync). */
  durableLast: number;
}

/** Hash of entry data (32-bit FNV over the bytes). */
export function dataHash(d: Uint8Array): number {
  let x = 0x811c9dc5;
  for (let i = 0; i < d.length; i++) {
    x ^= d[i]!;
    x = Math.imul(x, 0x01000193);
  }
  return x >>> 0;
}

/**
 * A deterministic simulated raft cluster (STYLE §10): RawNodes with FileStorage on SimFs, a SimNetwork,
 * per-node clocks, one event queue, a KV state machine, a Jepsen-style history, and invariant checks
 * after every event.
 */
export class SimCluster {
  readonly o: Required<Omit<SimClusterOptions, "trace" | "mutations">> & {
    trace: TraceRecorder;
    mutations: RaftMutations;
  };
  readonly queue = new EventQueue();
  readonly prng: Prng;
  readonly netPrng: Prng;
  readonly diskPrng: Prng;
  readonly workPrng: Prng;
  readonly faultPrng: Prng;
  readonly net: SimNetwork<Message>;
  readonly nodes = new Map<string, SimNode>();
  readonly history = new History();
  readonly trace: TraceRecorder;
  /** Ids ever created (never reused). */
  nextId: number;
  // ---- invariant state
  readonly #leaders = new Map<number, string>();
  readonly #votes = new Map<string, string>();
  readonly #entries = new Map<string, string>();
  readonly #applied = new Map<number, { term: number; hash: number }>();
  #maxApplied = 0;
  /** Committed entries: index → entry term and the term in which it was first known committed. */
  readonly #committed = new Map<number, { term: number; commitTerm: number }>();
  #maxCommitted = 0;
  readonly #nodeTerm = new Map<string, number>();
  readonly #nodeCommit = new Map<string, number>();
  readonly #nodeApplied = new Map<string, number>();
  events = 0;
  #cmdSeq = 0;

  constructor(opts: SimClusterOptions) {
    this.o = {
      seed: opts.seed,
      nodes: opts.nodes,
      tickMs: opts.tickMs ?? 10,
      electionTicks: opts.electionTicks ?? 10,
      preVote: opts.preVote ?? true,
      checkQuorum: opts.checkQuorum ?? true,
      readOnly: opts.readOnly ?? "safe",
      maxClockDriftTicks: opts.maxClockDriftTicks ?? 2,
      snapshotEvery: opts.snapshotEvery ?? 0,
      keepEntries: opts.keepEntries ?? 5,
      maxSnapshotChunkBytes: opts.maxSnapshotChunkBytes ?? 256,
      maxInflightMsgs: opts.maxInflightMsgs ?? 8,
      maxSizePerMsg: opts.maxSizePerMsg ?? 4096,
      maxUncommittedBytes: opts.maxUncommittedBytes ?? 0,
      mutations: opts.mutations ?? {},
      fsyncMs: opts.fsyncMs ?? [0.1, 2],
      trace: opts.trace ?? new TraceRecorder(),
      opTimeoutMs: opts.opTimeoutMs ?? 3000,
      fsyncErrorRate: opts.fsyncErrorRate ?? 0,
    };
    this.trace = this.o.trace;
    this.prng = new Prng(opts.seed);
    this.netPrng = this.prng.fork("network");
    this.diskPrng = this.prng.fork("disk");
    this.workPrng = this.prng.fork("workload");
    this.faultPrng = this.prng.fork("faults");
    this.net = new SimNetwork<Message>({
      queue: this.queue,
      prng: this.netPrng,
      encode: encodeMessage,
      decode: decodeMessage,
      deliver: (to, m) => this.#deliver(to, m),
    });
    const voters = Array.from({ length: opts.nodes }, (_, i) => `n${i + 1}`);
    this.nextId = opts.nodes + 1;
    for (const id of voters) this.#createNode(id, voters);
    for (const id of voters) this.start(id);
  }

  // ------------------------------------------------------------------ lifecycle

  #createNode(id: string, bootstrapVoters: readonly string[] | null): SimNode {
    const fs = new SimFs(this.diskPrng.fork(id));
    const node: SimNode = {
      id,
      fs,
      core: null,
      storage: null,
      kv: new KvStateMachine(),
      conf: EMPTY_CONF,
      prevConf: EMPTY_CONF,
      clock: new NodeClock(),
      up: false,
      busy: false,
      incarnation: 0,
      wipeEpoch: 0,
      ticksDone: 0,
      tickOrigin: 0,
      proposals: new Map(),
      reads: new Map(),
      waiting: [],
      durableLast: 0,
    };
    this.nodes.set(id, node);
    if (bootstrapVoters) {
      const s = FileStorage.open(fs, `/${id}`, { voters: bootstrapVoters });
      node.durableLast = s.lastIndex();
    }
    fs.fsyncErrorRate = this.o.fsyncErrorRate; // after provisioning: faults hit the running node only
    return node;
  }

  /** Creates a brand-new empty node (for membership changes) and starts it. */
  addEmptyNode(): string {
    const id = `n${this.nextId++}`;
    this.#createNode(id, null);
    this.start(id);
    this.#log("add-node", id, "");
    return id;
  }

  /** Starts (or restarts) a node from its disk. */
  start(id: string): void {
    const n = this.nodes.get(id)!;
    if (n.up) return;
    let storage: FileStorage;
    try {
      storage = FileStorage.open(n.fs, `/${id}`);
    } catch (err) {
      if (!(err instanceof SimFsError)) throw err;
      this.#log("start-failed", id, err.message);
      this.queue.after(50, "restart", id, () => this.start(id));
      return;
    }
    const snap = storage.snapshot();
    n.kv = new KvStateMachine();
    if (snap.meta.index > 0) n.kv.restore(snap.data);
    n.conf = snap.meta.conf;
    n.storage = storage;
    n.durableLast = storage.lastIndex();
    const hs = storage.initialState().hardState;
    const key = this.#nodeKey(n);
    check(
      hs.term >= (this.#nodeTerm.get(key) ?? 0),
      "TermMonotonic",
      () => `node=${id} restarted with older term`,
    );
    check(
      hs.commit >= (this.#nodeCommit.get(key) ?? 0),
      "DurableCommit",
      () => `node=${id} durable commit ${hs.commit} < ${this.#nodeCommit.get(key)}`,
    );
    n.core = new RaftCore(
      resolveRawNodeOptions({
        id,
        storage,
        random: this.prng.fork(`${id}/${n.incarnation}/${n.wipeEpoch}`).asRandom(),
        electionTicks: this.o.electionTicks,
        heartbeatTicks: 1,
        preVote: this.o.preVote,
        checkQuorum: this.o.checkQuorum,
        readOnly: this.o.readOnly,
        maxClockDriftTicks: this.o.maxClockDriftTicks,
        maxSnapshotChunkBytes: this.o.maxSnapshotChunkBytes,
        maxInflightMsgs: this.o.maxInflightMsgs,
        maxSizePerMsg: this.o.maxSizePerMsg,
        maxUncommittedBytes: this.o.maxUncommittedBytes,
        applied: snap.meta.index,
        mutations: this.o.mutations,
      }),
    );
    this.#nodeApplied.set(key, snap.meta.index);
    n.up = true;
    n.busy = false;
    n.incarnation++;
    n.ticksDone = 0;
    n.tickOrigin = n.clock.local(this.queue.now);
    this.#log(
      "start",
      id,
      `inc=${n.incarnation} last=${storage.lastIndex()} torn=${storage.recovery.tornBytesDropped}`,
    );
    this.#scheduleWake(n);
    this.#pump(n);
  }

  /** Crashes a node: volatile state is lost; the disk keeps synced data plus a prefix of unsynced writes. */
  crash(id: string, opts: { torn?: boolean } = {}): void {
    const n = this.nodes.get(id)!;
    if (!n.up) return;
    n.up = false;
    n.core = null;
    n.storage = null;
    n.busy = false;
    n.fs.crash({ torn: opts.torn ?? false });
    for (const p of n.proposals.values()) if (p.op) this.history.complete(p.op, "info", this.queue.now);
    n.proposals.clear();
    for (const op of n.reads.values()) this.history.complete(op, "info", this.queue.now);
    n.reads.clear();
    for (const w of n.waiting) this.history.complete(w.op, "info", this.queue.now);
    n.waiting = [];
    this.#log("crash", id, `torn=${opts.torn ?? false}`);
  }

  /** Wipes a stopped node's disk; it gets a new identity epoch for the invariants. */
  wipe(id: string): void {
    const n = this.nodes.get(id)!;
    this.crash(id);
    n.fs.wipe();
    n.wipeEpoch++;
    this.#log("wipe", id, "");
  }

  #nodeKey(n: SimNode): string {
    return `${n.id}#${n.wipeEpoch}`;
  }

  // ------------------------------------------------------------------ event loop

  #log(kind: string, node: string, detail: string): void {
    this.trace.add(`${this.queue.executed} t=${this.queue.now.toFixed(3)} ${kind} ${node} ${detail}`);
  }

  /** Runs one event; returns false if the queue is empty. Invariants are checked after it. */
  step(): boolean {
    const ev = this.queue.step();
    if (!ev) return false;
    this.events++;
    const n = this.nodes.get(ev.node);
    if (n?.core) {
      const s = n.core.brief();
      this.trace.add(
        `${this.queue.executed} t=${ev.at.toFixed(3)} ${ev.kind} ${ev.node} ${s.role[0]} t${s.term} c${s.commit} a${s.applied} l${s.lastIndex}`,
      );
      this.#checkNode(n);
    } else {
      this.trace.add(`${this.queue.executed} t=${ev.at.toFixed(3)} ${ev.kind} ${ev.node}`);
    }
    return true;
  }

  /** Runs events until virtual time `untilMs` (or the queue empties). */
  runUntilTime(untilMs: number): void {
    while (this.queue.peekTime() <= untilMs) this.step();
    if (this.queue.now < untilMs) this.queue.now = untilMs;
  }

  /** Runs for `ms` of virtual time. */
  runFor(ms: number): void {
    this.runUntilTime(this.queue.now + ms);
  }

  /** Runs until `pred` holds (checked after each event) or `maxMs` passes; returns whether it held. */
  runUntil(pred: () => boolean, maxMs: number): boolean {
    const end = this.queue.now + maxMs;
    if (pred()) return true;
    while (this.queue.peekTime() <= end) {
      this.step();
      if (pred()) return true;
    }
    return pred();
  }

  #scheduleWake(n: SimNode): void {
    const inc = n.incarnation;
    const delay = n.clock.virtualFor(this.o.tickMs);
    this.queue.after(Math.max(0.01, delay), "tick", n.id, () => {
      if (!n.up || n.incarnation !== inc) return;
      if (n.clock.isPaused(this.queue.now)) {
        this.queue.schedule(n.clock.pausedUntil, "tick", n.id, () => {
          if (n.up && n.incarnation === inc) {
            this.#catchUp(n);
            this.#scheduleWake(n);
          }
        });
        return;
      }
      this.#catchUp(n);
      this.#scheduleWake(n);
    });
  }

  /** Delivers the ticks due by the node's local clock (a burst after a pause or forward jump). */
  #catchUp(n: SimNode): void {
    const due = Math.floor((n.clock.local(this.queue.now) - n.tickOrigin) / this.o.tickMs);
    let k = 0;
    while (n.ticksDone < due && k++ < 1000) {
      n.ticksDone++;
      n.core!.tick();
    }
    if (n.ticksDone < due) n.ticksDone = due;
    this.#pump(n);
  }

  #deliver(to: string, m: Message): void {
    const n = this.nodes.get(to);
    if (!n?.up || !n.core) return;
    if (n.clock.isPaused(this.queue.now)) {
      const inc = n.incarnation;
      this.queue.schedule(n.clock.pausedUntil, "deliver", to, () => {
        if (n.up && n.incarnation === inc) this.#deliver(to, m);
      });
      return;
    }
    this.#catchUp(n);
    n.core.step(m);
    this.#pump(n);
  }

  /** The Ready loop of one node: write → (fsync delay) → sync → send → apply → advance. */
  #pump(n: SimNode): void {
    if (!n.up || n.busy || !n.core || !n.core.hasReady()) return;
    const core = n.core;
    const storage = n.storage!;
    const rd = core.ready();
    this.#onReady(n, rd);
    if (!this.#guard(n, () => writeReady(storage, rd))) return; // step 1 (shared with RaftNode)
    n.busy = true;
    const inc = n.incarnation;
    const [lo, hi] = this.o.fsyncMs;
    const delay = rd.mustSync ? lo + this.diskPrng.float() * (hi - lo) : 0;
    this.queue.after(delay, "sync", n.id, () => {
      if (!n.up || n.incarnation !== inc) return; // crashed before the fsync completed
      if (!this.#guard(n, () => this.#complete(n, core, storage, rd))) return;
      n.busy = false;
      if (!this.#guard(n, () => this.#maybeSnapshot(n))) return;
      this.#pump(n);
    });
  }

  /** Runs `fn`; an fsync error is fatal (fail-stop): the node crashes and restarts from its disk. */
  #guard(n: SimNode, fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (err) {
      if (!(err instanceof SimFsError)) throw err;
      this.#log("fsync-error", n.id, err.message);
      this.crash(n.id);
      this.queue.after(50, "restart", n.id, () => this.start(n.id));
      return false;
    }
  }

  #complete(n: SimNode, core: RaftCore, storage: FileStorage, rd: Ready): void {
    completeReady(core, storage, rd, {
      durable: () => {
        n.durableLast = storage.lastIndex();
        this.#onDurable(n, rd);
      },
      send: (m) => {
        this.#onSend(n, m);
        this.net.send(n.id, m.to, m);
      },
      restore: (snap) => {
        n.kv.restore(snap.data);
        n.kv.appliedIndex = snap.meta.index;
        n.conf = snap.meta.conf;
        this.#nodeApplied.set(this.#nodeKey(n), snap.meta.index);
      },
      apply: (e, conf) => this.#apply(n, e, conf),
      readState: (rs) => {
        const op = n.reads.get(rs.readId);
        if (!op) return;
        n.reads.delete(rs.readId);
        if (rs.index < 0) this.history.complete(op, "fail", this.queue.now);
        else n.waiting.push({ index: rs.index, op });
      },
    });
    this.#serveReads(n);
  }

  #apply(n: SimNode, e: Entry, conf: ConfState | null): void {
    const key = this.#nodeKey(n);
    const prev = this.#nodeApplied.get(key) ?? 0;
    check(e.index === prev + 1, "ApplyOrder", () => `node=${n.id} applied ${e.index} after ${prev}`);
    this.#nodeApplied.set(key, e.index);
    const h = dataHash(e.data);
    const seen = this.#applied.get(e.index);
    check(
      !seen || (seen.term === e.term && seen.hash === h),
      "StateMachineSafety",
      () => `node=${n.id} index=${e.index} applied term ${e.term} but ${seen?.term} was applied elsewhere`,
    );
    if (!seen) this.#applied.set(e.index, { term: e.term, hash: h });
    if (e.index > this.#maxApplied) this.#maxApplied = e.index;
    if (e.kind === "normal") n.kv.apply(e.index, e.data);
    else {
      if (conf) {
        n.prevConf = n.conf;
        n.conf = conf;
      }
      n.kv.skip(e.index);
    }
    const p = n.proposals.get(e.index);
    if (p) {
      n.proposals.delete(e.index);
      const ok = p.term === e.term;
      if (p.op) this.history.complete(p.op, ok ? "ok" : "fail", this.queue.now);
      p.done(ok);
    }
  }

  #serveReads(n: SimNode): void {
    if (n.waiting.length === 0) return;
    const rest: { index: number; op: KvOp }[] = [];
    for (const w of n.waiting) {
      if (n.kv.appliedIndex >= w.index) this.history.complete(w.op, "ok", this.queue.now, n.kv.get(w.op.key));
      else rest.push(w);
    }
    n.waiting = rest;
  }

  #maybeSnapshot(n: SimNode): void {
    const every = this.o.snapshotEvery;
    const storage = n.storage;
    if (every <= 0 || !storage || !n.up) return;
    const applied = n.kv.appliedIndex;
    if (applied - storage.snapshot().meta.index < every) return;
    const status = n.core!.status();
    check(applied <= status.commit, "SnapshotBeyondCommit", () => `node=${n.id} snapshot ${applied}`);
    storage.createSnapshot(applied, n.conf, n.kv.snapshot());
    const compactTo = applied - this.o.keepEntries;
    if (compactTo > storage.firstIndex()) storage.compact(compactTo);
    this.#log("snapshot", n.id, `index=${applied} first=${storage.firstIndex()}`);
  }

  // ------------------------------------------------------------------ invariants

  #onReady(n: SimNode, rd: Ready): void {
    const core = n.core!;
    if (rd.softState?.role === "leader") {
      const term = core.status().term;
      const prev = this.#leaders.get(term);
      check(!prev || prev === n.id, "ElectionSafety", () => `term=${term} leaders ${prev} and ${n.id}`);
      this.#leaders.set(term, n.id);
      // Leader completeness (Raft §5.4): every entry committed in an earlier term is in the new leader's log.
      const first = core.status().firstIndex;
      for (let i = Math.max(1, first); i <= this.#maxCommitted; i++) {
        const a = this.#committed.get(i);
        if (!a || a.commitTerm >= term) continue;
        check(
          core.termAt(i) === a.term,
          "LeaderCompleteness",
          () => `leader=${n.id} term=${term} index=${i} has term ${core.termAt(i)}, committed ${a.term}`,
        );
      }
    }
    let prevTerm = rd.entries.length > 0 ? core.termAt(rd.entries[0]!.index - 1) : 0;
    for (const e of rd.entries) {
      const k = `${e.index}/${e.term}`;
      const v = `${dataHash(e.data)}|${prevTerm}`;
      const seen = this.#entries.get(k);
      check(!seen || seen === v, "LogMatching", () => `node=${n.id} entry ${k} differs: ${v} vs ${seen}`);
      if (!seen) this.#entries.set(k, v);
      prevTerm = e.term;
    }
  }

  #onDurable(n: SimNode, rd: Ready): void {
    const key = this.#nodeKey(n);
    if (rd.hardState) {
      const hs = rd.hardState;
      check(hs.term >= (this.#nodeTerm.get(key) ?? 0), "TermMonotonic", () => `node=${n.id} term went back`);
      check(
        hs.commit >= (this.#nodeCommit.get(key) ?? 0),
        "CommitMonotonic",
        () => `node=${n.id} commit ${hs.commit} < ${this.#nodeCommit.get(key)}`,
      );
      this.#nodeTerm.set(key, hs.term);
      // A commit-only hard state is not fsynced (etcd): only synced commits must survive a crash.
      if (rd.mustSync) this.#nodeCommit.set(key, hs.commit);
      // The first node to persist a commit index is the leader that committed it (followers learn later).
      for (let i = this.#maxCommitted + 1; i <= hs.commit; i++) {
        const t = n.storage!.term(i);
        if (t >= 0) this.#committed.set(i, { term: t, commitTerm: hs.term });
      }
      if (hs.commit > this.#maxCommitted) this.#maxCommitted = hs.commit;
      for (let i = Math.max(n.storage!.firstIndex(), hs.commit - 3); i <= hs.commit; i++) {
        const k = this.#committed.get(i);
        check(
          !k || n.storage!.term(i) === k.term,
          "CommittedEntryAgreement",
          () => `node=${n.id} index=${i} term ${n.storage!.term(i)} but committed term ${k?.term}`,
        );
      }
      const s = n.core!.status();
      if (s.role === "leader" && hs.commit > 0) {
        // The commit may have been reached under the configuration before the last applied change.
        const durableIn = (voters: readonly string[]) =>
          voters.filter((v) => (this.nodes.get(v)?.durableLast ?? -1) >= hs.commit).length;
        const ok = [s.conf.voters, n.prevConf.voters].some(
          (voters) => voters.length === 0 || durableIn(voters) * 2 > voters.length,
        );
        check(
          ok,
          "CommitDurableMajority",
          () =>
            `leader=${n.id} commit=${hs.commit} durable on ${durableIn(s.conf.voters)}/${s.conf.voters.length}`,
        );
      }
    }
  }

  #onSend(n: SimNode, m: Message): void {
    if (m.type === "vote_resp" && !m.reject) {
      const k = `${this.#nodeKey(n)}/${m.term}`;
      const prev = this.#votes.get(k);
      check(
        !prev || prev === m.to,
        "OneVotePerTerm",
        () => `node=${n.id} term=${m.term} voted ${prev} and ${m.to}`,
      );
      this.#votes.set(k, m.to);
    }
  }

  #checkNode(n: SimNode): void {
    const s = n.core!.brief();
    check(
      s.applied <= s.commit && s.commit <= s.lastIndex,
      "AppliedCommitLast",
      () => `node=${n.id} applied=${s.applied} commit=${s.commit} last=${s.lastIndex}`,
    );
  }

  /** Full cross-node check of logs and state machines (used at the end of a run). */
  checkAll(): void {
    const up = [...this.nodes.values()].filter((n) => n.up && n.storage);
    const byIndex = new Map<number, { term: number; hash: number; node: string }>();
    for (const n of up) {
      const s = n.storage!;
      const commit = n.core!.status().commit;
      for (let i = s.firstIndex(); i <= Math.min(commit, s.lastIndex()); i++) {
        const e = s.entries(i, i + 1, Number.MAX_SAFE_INTEGER)![0]!;
        const h = dataHash(e.data);
        const other = byIndex.get(i);
        check(
          !other || (other.term === e.term && other.hash === h),
          "CommittedLogsAgree",
          () => `index=${i} ${n.id} term ${e.term} vs ${other?.node} term ${other?.term}`,
        );
        if (!other) byIndex.set(i, { term: e.term, hash: h, node: n.id });
      }
    }
    const hashes = new Map<number, { hash: number; node: string }>();
    for (const n of up) {
      const other = hashes.get(n.kv.appliedIndex);
      check(
        !other || other.hash === n.kv.applyHash,
        "StateMachinesAgree",
        () => `${n.id} and ${other?.node} differ at applied ${n.kv.appliedIndex}`,
      );
      hashes.set(n.kv.appliedIndex, { hash: n.kv.applyHash, node: n.id });
    }
  }

  // ------------------------------------------------------------------ queries and client ops

  /** Live leader with the highest term, if any. */
  leader(): SimNode | null {
    let best: SimNode | null = null;
    let bestTerm = -1;
    for (const n of this.nodes.values()) {
      if (!n.up || !n.core) continue;
      const s = n.core.status();
      if (s.role === "leader" && s.term > bestTerm) {
        best = n;
        bestTerm = s.term;
      }
    }
    return best;
  }

  /** Ids of live nodes. */
  upIds(): string[] {
    return [...this.nodes.values()].filter((n) => n.up).map((n) => n.id);
  }

  /** All node ids, sorted. */
  ids(): string[] {
    return [...this.nodes.keys()].sort();
  }

  /** Proposes a KV put on `via`; the history records it. Returns the op. */
  write(via: string, key: string, value: string, process = "c0"): KvOp {
    const op = this.history.invoke(process, "write", key, value, this.queue.now);
    const n = this.nodes.get(via)!;
    if (!n.up || !n.core) {
      this.history.complete(op, "fail", this.queue.now);
      return op;
    }
    this.#catchUp(n);
    const id = `${process}-${this.#cmdSeq++}`;
    const r = n.core.propose(encodeKvCommand({ op: "put", key, value, id }));
    if (!r.ok) {
      this.history.complete(op, "fail", this.queue.now);
      return op;
    }
    n.proposals.set(r.index, { term: r.term, op, done: () => {} });
    this.#timeout(op);
    this.#pump(n);
    return op;
  }

  /** Starts a linearizable read on `via`. */
  read(via: string, key: string, process = "c0"): KvOp {
    const op = this.history.invoke(process, "read", key, null, this.queue.now);
    const n = this.nodes.get(via)!;
    if (!n.up || !n.core) {
      this.history.complete(op, "fail", this.queue.now);
      return op;
    }
    this.#catchUp(n);
    const id = n.core.readIndex();
    n.reads.set(id, op);
    this.#timeout(op);
    this.#pump(n);
    return op;
  }

  /** Proposes a raw entry (not tracked in the history); `done` gets whether it committed as proposed. */
  proposeRaw(via: string, data: Uint8Array, done: (ok: boolean) => void = () => {}): number {
    const n = this.nodes.get(via)!;
    if (!n.core) return -1;
    const r = n.core.propose(data);
    if (!r.ok) return -1;
    n.proposals.set(r.index, { term: r.term, op: null, done });
    this.#pump(n);
    return r.index;
  }

  /** Proposes a conf change on `via`; returns the index or -1. */
  proposeConf(via: string, cc: ConfChange): number {
    const n = this.nodes.get(via)!;
    if (!n.core) return -1;
    try {
      const r = n.core.proposeConf(cc);
      this.#pump(n);
      this.#log("propose-conf", via, `${JSON.stringify(cc.changes)} -> ${r.ok ? r.index : r.reason}`);
      return r.ok ? r.index : -1;
    } catch {
      return -1;
    }
  }

  /** Runs `fn` against a node's core and pumps its Ready. */
  withCore(id: string, fn: (c: RaftCore) => void): void {
    const n = this.nodes.get(id)!;
    if (!n.core) return;
    this.#catchUp(n);
    fn(n.core);
    this.#pump(n);
  }

  #timeout(op: KvOp): void {
    this.queue.after(this.o.opTimeoutMs, "op-timeout", "client", () => {
      if (op.outcome === null) this.history.complete(op, "info", this.queue.now);
    });
  }

  /** Whether every op in the history has completed. */
  allOpsDone(): boolean {
    return this.history.ops.every((o) => o.outcome !== null);
  }

  /** Trace hash so far (determinism checks). */
  traceHash(): string {
    return this.trace.hash;
  }

  /** A short summary line of every node (for traces and failures). */
  summary(): string {
    return this.ids()
      .map((id) => {
        const n = this.nodes.get(id)!;
        if (!n.core) return `${id}:down`;
        const s = n.core.status();
        return `${id}:${s.role[0]}${s.term}/c${s.commit}/a${s.applied}/l${s.lastIndex}`;
      })
      .join(" ");
  }

  /** Seed as hex. */
  get seedHex(): string {
    return formatSeed(this.o.seed);
  }

  /** Applied-entry consensus so far: index → term (for tests). */
  appliedTerm(i: number): number | undefined {
    return this.#applied.get(i)?.term;
  }

  /** Highest index applied by any node. */
  get maxApplied(): number {
    return this.#maxApplied;
  }

  /** Raises an invariant violation from a scenario (outcome checks use the same channel). */
  fail(invariant: string, detail: string): never {
    throw new InvariantViolation(invariant, detail);
  }

  /** Mixes a string into a running hash (helpers for tests). */
  static mix(h: number, s: string): number {
    return hashMix(h, s);
  }
}
