import { invariant } from "../errors.js";
import { type ConfChange, type ConfState, type NodeId, ProgressState } from "./types.js";

/** Sliding window of in-flight append messages, capped by count and bytes (etcd Inflights). */
export class Inflights {
  readonly maxCount: number;
  readonly maxBytes: number;
  #idx: number[] = [];
  #sizes: number[] = [];
  bytes = 0;
  constructor(maxCount: number, maxBytes: number) {
    this.maxCount = maxCount;
    this.maxBytes = maxBytes;
  }
  get count(): number {
    return this.#idx.length;
  }
  add(lastIndex: number, bytes: number): void {
    this.#idx.push(lastIndex);
    this.#sizes.push(bytes);
    this.bytes += bytes;
  }
  /** Frees all in-flight messages with last index ≤ `to`. */
  freeLE(to: number): void {
    let n = 0;
    while (n < this.#idx.length && this.#idx[n]! <= to) {
      this.bytes -= this.#sizes[n]!;
      n++;
    }
    if (n > 0) {
      this.#idx = this.#idx.slice(n);
      this.#sizes = this.#sizes.slice(n);
    }
    invariant(this.bytes >= 0, "inflight bytes went negative");
  }
  freeFirst(): void {
    if (this.#idx.length > 0) this.freeLE(this.#idx[0]!);
  }
  full(): boolean {
    return this.#idx.length >= this.maxCount || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }
  reset(): void {
    this.#idx = [];
    this.#sizes = [];
    this.bytes = 0;
  }
}

/** The leader's view of one peer (etcd tracker.Progress). */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** In probe state: an append is outstanding, wait for a response or heartbeat. */
  probeSent = false;
  pendingSnapshot = 0;
  /** Ticks spent in snapshot state, to retry lost snapshots. */
  snapshotTicks = 0;
  recentActive = false;
  /** Leader tick at which we last heard from this peer (sliding check-quorum window). */
  lastHeardTick = 0;
  /** Leader tick at which the latest acknowledged heartbeat was sent (for leases). */
  ackedSeq = -1;
  isLearner: boolean;
  readonly inflights: Inflights;
  constructor(next: number, isLearner: boolean, maxInflight: number, maxInflightBytes: number) {
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(maxInflight, maxInflightBytes);
  }
  #resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotTicks = 0;
    this.state = state;
    this.inflights.reset();
  }
  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.#resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.#resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }
  becomeReplicate(): void {
    this.#resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }
  becomeSnapshot(index: number): void {
    this.#resetState(ProgressState.Snapshot);
    this.pendingSnapshot = index;
  }
  /** Acknowledges `n`; returns false if the ack is stale. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }
  /** Handles a rejected append at `rejected` with a hint; returns false if the rejection is stale. */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      default:
        return true;
    }
  }
}

/** Result of a vote count. */
export type VoteResult = "won" | "lost" | "pending";

/** Index committed by a majority of `voters` given their match indexes (Raft §5.3). Empty set → +∞. */
export function majorityCommitted(voters: ReadonlySet<NodeId>, match: (id: NodeId) => number): number {
  if (voters.size === 0) return Number.MAX_SAFE_INTEGER;
  const arr: number[] = [];
  for (const v of voters) arr.push(match(v));
  arr.sort((a, b) => b - a);
  return arr[Math.floor(voters.size / 2)]!;
}

/** Vote outcome for one majority config. Empty set wins (the joint half is absent). */
export function majorityVote(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.size === 0) return "won";
  let yes = 0;
  let missing = 0;
  for (const v of voters) {
    const r = votes.get(v);
    if (r === undefined) missing++;
    else if (r) yes++;
  }
  const q = Math.floor(voters.size / 2) + 1;
  if (yes >= q) return "won";
  if (yes + missing >= q) return "pending";
  return "lost";
}

/** Joint vote: both halves must win. */
export function jointVote(
  incoming: ReadonlySet<NodeId>,
  outgoing: ReadonlySet<NodeId>,
  votes: ReadonlyMap<NodeId, boolean>,
): VoteResult {
  const a = majorityVote(incoming, votes);
  const b = majorityVote(outgoing, votes);
  if (a === "lost" || b === "lost") return "lost";
  if (a === "won" && b === "won") return "won";
  return "pending";
}

/** Mutable membership configuration. */
export class Config {
  incoming = new Set<NodeId>();
  outgoing = new Set<NodeId>();
  learners = new Set<NodeId>();
  learnersNext = new Set<NodeId>();
  autoLeave = false;

  static from(cs: ConfState): Config {
    const c = new Config();
    c.incoming = new Set(cs.voters);
    c.outgoing = new Set(cs.votersOutgoing);
    c.learners = new Set(cs.learners);
    c.learnersNext = new Set(cs.learnersNext);
    c.autoLeave = cs.autoLeave;
    return c;
  }

  clone(): Config {
    return Config.from(this.toState());
  }

  toState(): ConfState {
    const s = (x: Set<NodeId>) => [...x].sort();
    return {
      voters: s(this.incoming),
      votersOutgoing: s(this.outgoing),
      learners: s(this.learners),
      learnersNext: s(this.learnersNext),
      autoLeave: this.autoLeave,
    };
  }

  isJoint(): boolean {
    return this.outgoing.size > 0;
  }

  isVoter(id: NodeId): boolean {
    return this.incoming.has(id) || this.outgoing.has(id);
  }

  /** Every node the leader replicates to, sorted for determinism. */
  all(): NodeId[] {
    const s = new Set<NodeId>([...this.incoming, ...this.outgoing, ...this.learners, ...this.learnersNext]);
    return [...s].sort();
  }

  voters(): NodeId[] {
    return [...new Set<NodeId>([...this.incoming, ...this.outgoing])].sort();
  }

  committed(match: (id: NodeId) => number): number {
    return Math.min(majorityCommitted(this.incoming, match), majorityCommitted(this.outgoing, match));
  }

  vote(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    return jointVote(this.incoming, this.outgoing, votes);
  }
}

function applySingle(c: Config, type: "add_voter" | "add_learner" | "remove", id: NodeId): void {
  switch (type) {
    case "add_voter":
      c.learners.delete(id);
      c.learnersNext.delete(id);
      c.incoming.add(id);
      break;
    case "add_learner":
      c.incoming.delete(id);
      c.learners.delete(id);
      c.learnersNext.delete(id);
      if (c.outgoing.has(id)) c.learnersNext.add(id);
      else c.learners.add(id);
      break;
    case "remove":
      c.incoming.delete(id);
      c.learners.delete(id);
      c.learnersNext.delete(id);
      break;
  }
}

/** Whether a change is a joint-consensus change (several voter changes or explicitly requested). */
export function isJointChange(cc: ConfChange): boolean {
  return cc.changes.length > 1 || (cc.transition !== undefined && cc.transition !== "auto");
}

/**
 * Applies a conf change to a config, returning a new config or an error string (etcd confchange).
 * Empty change list = leave joint.
 */
export function changeConfig(cur: Config, cc: ConfChange): Config | string {
  const c = cur.clone();
  if (cc.changes.length === 0) {
    if (!c.isJoint()) return "not in joint config";
    for (const l of c.learnersNext) c.learners.add(l);
    c.learnersNext.clear();
    c.outgoing.clear();
    c.autoLeave = false;
    return c;
  }
  if (isJointChange(cc)) {
    if (c.isJoint()) return "already in joint config";
    c.outgoing = new Set(c.incoming);
    for (const ch of cc.changes) applySingle(c, ch.type, ch.node);
    c.autoLeave = cc.transition !== "joint_explicit";
    if (c.outgoing.size === 0 || sameSet(c.incoming, c.outgoing)) {
      // No voter changes (e.g. the bootstrap entry replayed): a joint config would be pointless.
      for (const l of c.learnersNext) c.learners.add(l);
      c.learnersNext.clear();
      c.outgoing.clear();
      c.autoLeave = false;
    }
  } else {
    if (c.isJoint()) return "can't apply simple change in joint config";
    const before = new Set(c.incoming);
    for (const ch of cc.changes) applySingle(c, ch.type, ch.node);
    let diff = 0;
    for (const v of before) if (!c.incoming.has(v)) diff++;
    for (const v of c.incoming) if (!before.has(v)) diff++;
    if (diff > 1) return "more than one voter changed without joint consensus";
  }
  if (c.incoming.size === 0) return "removed all voters";
  for (const l of c.learners) if (c.isVoter(l)) return `learner ${l} is also a voter`;
  return c;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
