import { invariant, RaftError, RaftErrorCode } from "../errors.js";
import { type Logger, noopLogger } from "../logger.js";
import { decodeConfChange, encodeConfChange } from "./conf-codec.js";
import { RaftLog } from "./raft-log.js";
import { entrySize, type Storage } from "./storage.js";
import { Config, changeConfig, Progress } from "./tracker.js";
import {
  type ConfChange,
  type ConfState,
  DropReason,
  type Entry,
  EntryKind,
  type HardState,
  type Message,
  MsgType,
  msg,
  type NodeId,
  type PeerStatus,
  ProgressState,
  type ProposeResult,
  type ReadState,
  type Ready,
  Role,
  type Snapshot,
  type SoftState,
  type Status,
} from "./types.js";

/**
 * Deliberately broken rules, used only by the simulation's mutation tests to prove the harness catches
 * bugs. Never set in production.
 * @internal
 */
export interface RaftMutations {
  /** Commit entries of earlier terms by replica count (violates Raft §5.4.2 / Figure 8). */
  readonly commitOldTerm?: boolean;
  /** Grant a vote even if already voted for someone else in this term. */
  readonly voteTwice?: boolean;
  /** Leave the vote out of the persisted HardState (vote is sent before it is durable). */
  readonly unpersistedVote?: boolean;
  /** Serve ReadIndex at the commit index without confirming leadership with a quorum. */
  readonly readWithoutQuorum?: boolean;
}

/** Options of {@link createRawNode}. Ticks are abstract: the host decides how long one is. */
export interface RawNodeOptions {
  /** This node's id. */
  readonly id: NodeId;
  /** Durable log, read synchronously. */
  readonly storage: Storage;
  /** Uniform random in [0, 1): randomizes election timeouts (inject a seeded PRNG in tests). */
  readonly random: () => number;
  /** Minimum election timeout in ticks; the actual one is drawn from [n, 2n). Default 10. */
  readonly electionTicks?: number;
  /** Heartbeat interval in ticks. Default 1. */
  readonly heartbeatTicks?: number;
  /** Pre-vote (Raft thesis §9.6). Default true. */
  readonly preVote?: boolean;
  /** Leader steps down without a live quorum each election timeout; followers ignore votes while a leader is live. Default true. */
  readonly checkQuorum?: boolean;
  /** Max entry bytes per append message. Default 1 MiB. */
  readonly maxSizePerMsg?: number;
  /** Max in-flight append messages per follower. Default 256. */
  readonly maxInflightMsgs?: number;
  /** Max in-flight append bytes per follower; 0 means no limit. Default 0. */
  readonly maxInflightBytes?: number;
  /** Max bytes of uncommitted proposals on the leader; 0 means no limit. Default 0. */
  readonly maxUncommittedBytes?: number;
  /** Max committed entry bytes per Ready. Default 4 MiB. */
  readonly maxCommittedBytesPerReady?: number;
  /** Snapshot chunk size in bytes. Default 64 KiB. */
  readonly maxSnapshotChunkBytes?: number;
  /** Index already applied by the host's state machine (e.g. its snapshot). Default 0. */
  readonly applied?: number;
  /** `safe` confirms every read with a heartbeat round; `lease` uses the check-quorum lease. Default `safe`. */
  readonly readOnly?: "safe" | "lease";
  /** Bound on clock drift, in ticks, subtracted from the lease. Default 2. */
  readonly maxClockDriftTicks?: number;
  /** Logger; default silent. */
  readonly logger?: Logger;
  /** @internal Test-only rule breakers for mutation testing. */
  readonly mutations?: RaftMutations;
}

/** Options with defaults filled in. */
export type ResolvedRawNodeOptions = Required<Omit<RawNodeOptions, "mutations" | "logger">> & {
  readonly mutations: RaftMutations;
  readonly logger: Logger;
};

/** Fills option defaults. Throws `invalid_argument` on bad values. */
export function resolveRawNodeOptions(o: RawNodeOptions): ResolvedRawNodeOptions {
  const r: ResolvedRawNodeOptions = {
    id: o.id,
    storage: o.storage,
    random: o.random,
    electionTicks: o.electionTicks ?? 10,
    heartbeatTicks: o.heartbeatTicks ?? 1,
    preVote: o.preVote ?? true,
    checkQuorum: o.checkQuorum ?? true,
    maxSizePerMsg: o.maxSizePerMsg ?? 1024 * 1024,
    maxInflightMsgs: o.maxInflightMsgs ?? 256,
    maxInflightBytes: o.maxInflightBytes ?? 0,
    maxUncommittedBytes: o.maxUncommittedBytes ?? 0,
    maxCommittedBytesPerReady: o.maxCommittedBytesPerReady ?? 4 * 1024 * 1024,
    maxSnapshotChunkBytes: o.maxSnapshotChunkBytes ?? 64 * 1024,
    applied: o.applied ?? 0,
    readOnly: o.readOnly ?? "safe",
    maxClockDriftTicks: o.maxClockDriftTicks ?? 2,
    logger: o.logger ?? noopLogger,
    mutations: o.mutations ?? {},
  };
  if (r.id === "") throw new RaftError(RaftErrorCode.InvalidArgument, "id must not be empty");
  if (r.heartbeatTicks < 1 || r.electionTicks <= r.heartbeatTicks) {
    throw new RaftError(RaftErrorCode.InvalidArgument, "electionTicks must exceed heartbeatTicks >= 1");
  }
  if (r.maxInflightMsgs < 1)
    throw new RaftError(RaftErrorCode.InvalidArgument, "maxInflightMsgs must be >= 1");
  if (r.maxSnapshotChunkBytes < 1)
    throw new RaftError(RaftErrorCode.InvalidArgument, "maxSnapshotChunkBytes < 1");
  return r;
}

/**
 * The pure raft state machine. Synchronous and deterministic: no timers, clocks, randomness (other than
 * the injected `random`) or I/O. See the package README for the Ready-loop contract.
 * Not safe for re-entrant use; call from one logical thread.
 */
export interface RawNode {
  /** This node's id. */
  readonly id: NodeId;
  /** Advances logical time by one tick (elections, heartbeats, check-quorum, transfer timeout). */
  tick(): void;
  /** Feeds a message from a peer. Messages with stale terms are answered or dropped per Raft §5.1. */
  step(m: Message): void;
  /** Starts an election now (with pre-vote if enabled). No-op for leaders and non-voters. */
  campaign(): void;
  /** Appends a normal entry if leader. Never throws for dropped proposals: see {@link ProposeResult}. */
  propose(data: Uint8Array): ProposeResult;
  /**
   * Proposes a membership change. Dropped with `conf_pending` while an earlier change is unapplied.
   * Throws `invalid_argument` if the change is invalid against the current configuration.
   */
  proposeConf(cc: ConfChange): ProposeResult;
  /** Applies a committed conf entry (call when applying it); returns the new configuration. */
  applyConf(cc: ConfChange): ConfState;
  /**
   * Starts a linearizable read; returns a unique id. The result arrives as a {@link ReadState} with the
   * same id: the read may be served once `applied >= index`; index -1 means refused (no leader,
   * leadership lost). A new leader holds reads until it commits an entry of its own term.
   */
  readIndex(): string;
  /** Leader only: hands leadership to `to` after catching it up; aborts after one election timeout. */
  transferLeadership(to: NodeId): void;
  /** Tells the leader that `peer` could not be reached; its replication falls back to probing. */
  reportUnreachable(peer: NodeId): void;
  /** Tells the leader whether sending a snapshot to `peer` finished (`ok`) or failed. */
  reportSnapshot(peer: NodeId, ok: boolean): void;
  /** True if {@link ready} has anything to do. */
  hasReady(): boolean;
  /** Collects the pending work; hand it back through {@link advance} once handled. */
  ready(): Ready;
  /** Acknowledges that a Ready was persisted, sent and applied. */
  advance(rd: Ready): void;
  /** Current state for monitoring and tests. */
  status(): Status;
}

interface ReadRequest {
  readonly id: string;
  readonly from: NodeId;
  readonly index: number;
  readonly acks: Map<NodeId, boolean>;
}

interface SnapshotReceive {
  readonly key: string;
  readonly total: number;
  readonly chunks: Map<number, Uint8Array>;
  received: number;
}

/** Creates a {@link RawNode} from durable state in `opts.storage`. */
export function createRawNode(opts: RawNodeOptions): RawNode {
  return new RaftCore(resolveRawNodeOptions(opts));
}

/** Implementation of {@link RawNode}. @internal */
export class RaftCore implements RawNode {
  readonly id: NodeId;
  readonly #o: ResolvedRawNodeOptions;
  readonly #log: RaftLog;
  readonly #logger: Logger;
  #term = 0;
  #vote: NodeId | null = null;
  #lead: NodeId | null = null;
  #role: Role = Role.Follower;
  #config: Config;
  #prs = new Map<NodeId, Progress>();
  #votes = new Map<NodeId, boolean>();
  #msgs: Message[] = [];
  #readStates: ReadState[] = [];
  #electionElapsed = 0;
  #heartbeatElapsed = 0;
  #randomizedElectionTimeout = 0;
  #tickCount = 0;
  #leadTransferee: NodeId | null = null;
  #pendingConfIndex = 0;
  #uncommitted: { index: number; size: number }[] = [];
  #uncommittedBytes = 0;
  #readQueue: ReadRequest[] = [];
  /** Newest queued read id not yet announced: reads issued between two Readies share one heartbeat round. */
  #readRoundCtx: string | null = null;
  #pendingReads: { id: string; from: NodeId }[] = [];
  #readSeq = 0;
  #leaseDisabled = false;
  #needBcast = false;
  #applyingTo: number;
  #snapRecv: SnapshotReceive | null = null;
  #prevSoft: SoftState;
  #prevHard: HardState;
  readonly #readyGen = new WeakMap<Ready, number>();

  constructor(o: ResolvedRawNodeOptions) {
    this.#o = o;
    this.id = o.id;
    this.#logger = o.logger.child({ component: "raft", nodeId: o.id });
    this.#log = new RaftLog(o.storage, o.applied);
    const { hardState, conf } = o.storage.initialState();
    invariant(
      hardState.commit <= o.storage.lastIndex() || hardState.commit === 0,
      `durable commit ${hardState.commit} beyond durable last index ${o.storage.lastIndex()}`,
    );
    this.#config = Config.from(conf);
    this.#term = hardState.term;
    this.#vote = hardState.vote;
    this.#applyingTo = this.#log.applied;
    this.#prevHard = hardState;
    this.#becomeFollower(this.#term, null);
    this.#prevSoft = { leader: null, role: Role.Follower };
  }

  // ---------------------------------------------------------------- public API

  tick(): void {
    this.#tickCount++;
    if (this.#role === Role.Leader) this.#tickLeader();
    else this.#tickElection();
  }

  campaign(): void {
    this.#hup(false);
  }

  step(m: Message): void {
    if (m.to !== this.id) return;
    if (!Number.isSafeInteger(m.term) || m.term < 0) return;
    if (m.term > this.#term) {
      if (m.type === MsgType.Vote || m.type === MsgType.PreVote) {
        // Leader stickiness (thesis §4.2.3): ignore while we recently heard from a live leader.
        const inLease =
          this.#o.checkQuorum && this.#lead !== null && this.#electionElapsed < this.#o.electionTicks;
        if (!m.transfer && inLease) return;
      }
      if (m.type === MsgType.PreVote) {
        // Never change term on a pre-vote.
      } else if (m.type === MsgType.PreVoteResp && !m.reject) {
        // Granted pre-votes carry the future term; the term changes when the real election starts.
      } else if (m.type === MsgType.App || m.type === MsgType.Heartbeat || m.type === MsgType.Snap) {
        this.#becomeFollower(m.term, m.from);
      } else {
        this.#becomeFollower(m.term, null);
      }
    } else if (m.term < this.#term) {
      if (
        (this.#o.checkQuorum || this.#o.preVote) &&
        (m.type === MsgType.App || m.type === MsgType.Heartbeat)
      ) {
        // Tell a stale leader about the newer term so it steps down (etcd #8334/#9586).
        this.#send(msg({ type: MsgType.AppResp, from: this.id, to: m.from, term: this.#term }));
      } else if (m.type === MsgType.PreVote) {
        this.#send(
          msg({ type: MsgType.PreVoteResp, from: this.id, to: m.from, term: this.#term, reject: true }),
        );
      }
      return;
    }

    if (m.type === MsgType.Vote || m.type === MsgType.PreVote) {
      this.#handleVoteRequest(m);
      return;
    }
    switch (this.#role) {
      case Role.Leader:
        this.#stepLeader(m);
        break;
      case Role.Candidate:
      case Role.PreCandidate:
        this.#stepCandidate(m);
        break;
      default:
        this.#stepFollower(m);
    }
  }

  propose(data: Uint8Array): ProposeResult {
    return this.#propose(EntryKind.Normal, data);
  }

  proposeConf(cc: ConfChange): ProposeResult {
    if (this.#role !== Role.Leader) return { ok: false, reason: DropReason.NotLeader };
    if (this.#pendingConfIndex > this.#log.applied) return { ok: false, reason: DropReason.ConfPending };
    const next = changeConfig(this.#config, cc);
    if (typeof next === "string") throw new RaftError(RaftErrorCode.InvalidArgument, `conf change: ${next}`);
    for (const ch of cc.changes) {
      // Learners catch up before they are promoted (hashicorp membership.md): a voter that cannot
      // acknowledge would weaken the quorum right away.
      const pr = this.#prs.get(ch.node);
      if (
        ch.type === "add_voter" &&
        this.#config.learners.has(ch.node) &&
        pr &&
        pr.match < this.#log.committed
      ) {
        return { ok: false, reason: DropReason.LearnerBehind };
      }
    }
    const r = this.#propose(EntryKind.Conf, encodeConfChange(cc));
    if (r.ok) this.#pendingConfIndex = r.index;
    return r;
  }

  applyConf(cc: ConfChange): ConfState {
    const next = changeConfig(this.#config, cc);
    if (typeof next === "string") {
      this.#logger.warn({ reason: next }, "ignoring invalid committed conf change");
      return this.#config.toState();
    }
    this.#config = next;
    this.#logger.info({ conf: next.toState() }, "conf change applied");
    if (this.#role !== Role.Leader) return next.toState();
    const last = this.#log.lastIndex();
    for (const id of next.all()) {
      const pr = this.#prs.get(id);
      const learner = !next.isVoter(id);
      if (pr) pr.isLearner = learner;
      else {
        const p = this.#newProgress(last + 1, learner);
        this.#prs.set(id, p);
      }
    }
    for (const id of [...this.#prs.keys()]) if (!next.all().includes(id)) this.#prs.delete(id);
    if (!next.isVoter(this.id)) {
      // Step down when removed (etcd StepDownOnRemoval); we can no longer count ourselves.
      this.#becomeFollower(this.#term, null);
      return next.toState();
    }
    if (this.#leadTransferee !== null && !next.isVoter(this.#leadTransferee)) this.#abortTransfer();
    if (this.#maybeCommit()) this.#needBcast = true;
    return next.toState();
  }

  readIndex(): string {
    const id = `${this.id}/${this.#term}/${++this.#readSeq}`;
    if (this.#role === Role.Leader) {
      this.#leaderRead(id, this.id);
    } else if (this.#lead !== null) {
      this.#send(
        msg({ type: MsgType.ReadIndex, from: this.id, to: this.#lead, term: this.#term, context: id }),
      );
    } else {
      this.#readStates.push({ readId: id, index: -1 });
    }
    return id;
  }

  transferLeadership(to: NodeId): void {
    if (this.#role !== Role.Leader) return;
    if (to === this.id || !this.#config.isVoter(to)) return;
    if (this.#leadTransferee === to) return;
    if (this.#leadTransferee !== null) this.#abortTransfer();
    this.#leadTransferee = to;
    this.#electionElapsed = 0; // the transfer aborts after one election timeout
    this.#logger.info({ to }, "leadership transfer started");
    const pr = this.#prs.get(to)!;
    if (pr.match === this.#log.lastIndex()) this.#sendTimeoutNow(to);
    else this.#sendAppend(to, true);
  }

  reportUnreachable(peer: NodeId): void {
    const pr = this.#prs.get(peer);
    if (this.#role !== Role.Leader || !pr) return;
    if (pr.state === ProgressState.Replicate) pr.becomeProbe();
  }

  reportSnapshot(peer: NodeId, ok: boolean): void {
    const pr = this.#prs.get(peer);
    if (this.#role !== Role.Leader || !pr || pr.state !== ProgressState.Snapshot) return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    pr.probeSent = true; // wait for the next heartbeat response before probing
  }

  hasReady(): boolean {
    this.#flushBcast();
    const soft = this.#softState();
    if (soft.leader !== this.#prevSoft.leader || soft.role !== this.#prevSoft.role) return true;
    const hs = this.#hardState();
    if (!hardStateEqual(hs, this.#prevHard)) return true;
    if (this.#log.unstableSnapshot !== null && !this.#log.snapshotInProgress) return true;
    if (this.#msgs.length > 0 || this.#readStates.length > 0) return true;
    if (this.#log.offsetInProgress < this.#log.offset + this.#log.unstable.length) return true;
    return this.#log.committed > this.#applyingTo && this.#applyingTo + 1 >= this.#log.firstIndex();
  }

  ready(): Ready {
    this.#flushBcast();
    const soft = this.#softState();
    const hs = this.#hardState();
    const entries = this.#log.unstableToPersist();
    const snapshot =
      this.#log.unstableSnapshot !== null && !this.#log.snapshotInProgress
        ? this.#log.unstableSnapshot
        : null;
    let committed: Entry[] = [];
    if (this.#log.committed > this.#applyingTo && this.#applyingTo + 1 >= this.#log.firstIndex()) {
      committed =
        this.#log.slice(this.#applyingTo + 1, this.#log.committed + 1, this.#o.maxCommittedBytesPerReady) ??
        [];
      if (committed.length > 0) this.#applyingTo = committed[committed.length - 1]!.index;
    }
    const hardChanged = !hardStateEqual(hs, this.#prevHard);
    const rd: Ready = {
      softState: soft.leader !== this.#prevSoft.leader || soft.role !== this.#prevSoft.role ? soft : null,
      hardState: hardChanged ? hs : null,
      entries,
      snapshot,
      mustSync:
        entries.length > 0 ||
        snapshot !== null ||
        (hardChanged && (hs.term !== this.#prevHard.term || hs.vote !== this.#prevHard.vote)),
      messages: this.#msgs,
      committed,
      readStates: this.#readStates,
    };
    this.#msgs = [];
    this.#readStates = [];
    this.#log.acceptInProgress();
    if (rd.softState) this.#prevSoft = soft;
    if (rd.hardState) this.#prevHard = hs;
    this.#readyGen.set(rd, this.#log.generation);
    return rd;
  }

  advance(rd: Ready): void {
    const gen = this.#readyGen.get(rd);
    invariant(gen !== undefined, "advance called with a Ready not produced by this node");
    if (rd.snapshot) {
      this.#log.stableSnapTo(rd.snapshot.meta.index);
      if (rd.snapshot.meta.index > this.#log.applied) this.#log.applied = rd.snapshot.meta.index;
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!;
      // An ack for entries that were truncated and re-appended since is ignored (etcd async-append ABA).
      this.#log.stableTo(last.index, last.term, gen);
    }
    if (rd.committed.length > 0) {
      const last = rd.committed[rd.committed.length - 1]!.index;
      if (last > this.#log.applied) this.#log.appliedTo(last);
    }
    this.#readyGen.delete(rd);
    // Auto-leave a joint configuration once the entering change is applied (etcd AutoLeave).
    if (
      this.#role === Role.Leader &&
      this.#config.isJoint() &&
      this.#config.autoLeave &&
      this.#log.applied >= this.#pendingConfIndex
    ) {
      const r = this.#propose(EntryKind.Conf, encodeConfChange({ changes: [] }));
      if (r.ok) this.#pendingConfIndex = r.index;
    }
  }

  status(): Status {
    const progress: Record<NodeId, PeerStatus> = {};
    if (this.#role === Role.Leader) {
      for (const [id, pr] of this.#prs) {
        progress[id] = {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          inflight: pr.inflights.count,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
        };
      }
    }
    return {
      id: this.id,
      role: this.#role,
      term: this.#term,
      vote: this.#vote,
      leader: this.#lead,
      commit: this.#log.committed,
      applied: this.#log.applied,
      lastIndex: this.#log.lastIndex(),
      firstIndex: this.#log.firstIndex(),
      conf: this.#config.toState(),
      pendingConfIndex: this.#pendingConfIndex,
      leadTransferee: this.#leadTransferee,
      progress,
    };
  }

  /** Cheap subset of {@link status} for per-event traces and checks. @internal */
  brief(): { role: Role; term: number; commit: number; applied: number; lastIndex: number } {
    return {
      role: this.#role,
      term: this.#term,
      commit: this.#log.committed,
      applied: this.#log.applied,
      lastIndex: this.#log.lastIndex(),
    };
  }

  /** Term of entry `i` as the core sees it (-1 if unavailable). @internal */
  termAt(i: number): number {
    return this.#log.term(i);
  }

  // ---------------------------------------------------------------- state transitions

  #softState(): SoftState {
    return { leader: this.#lead, role: this.#role };
  }

  #hardState(): HardState {
    let vote = this.#vote;
    if (this.#o.mutations.unpersistedVote && vote !== null && vote !== this.id) {
      vote = this.#prevHard.term === this.#term ? this.#prevHard.vote : null;
    }
    return { term: this.#term, vote, commit: this.#log.committed };
  }

  #reset(term: number): void {
    if (term !== this.#term) {
      invariant(term > this.#term, `term going backwards ${this.#term} -> ${term}`);
      this.#term = term;
      this.#vote = null;
    }
    this.#lead = null;
    this.#electionElapsed = 0;
    this.#heartbeatElapsed = 0;
    this.#randomizedElectionTimeout =
      this.#o.electionTicks + Math.floor(this.#o.random() * this.#o.electionTicks);
    this.#abortTransfer();
    this.#votes.clear();
    this.#failReads();
    this.#uncommitted = [];
    this.#uncommittedBytes = 0;
    this.#leaseDisabled = false;
  }

  #becomeFollower(term: number, lead: NodeId | null): void {
    const wasLeader = this.#role === Role.Leader;
    this.#reset(term);
    this.#role = Role.Follower;
    this.#lead = lead;
    if (wasLeader) this.#logger.info({ term }, "stepped down");
  }

  #becomePreCandidate(): void {
    invariant(this.#role !== Role.Leader, "leader cannot become pre-candidate");
    this.#votes.clear();
    this.#failReads();
    this.#role = Role.PreCandidate;
    this.#lead = null;
  }

  #becomeCandidate(): void {
    invariant(this.#role !== Role.Leader, "leader cannot become candidate");
    this.#reset(this.#term + 1);
    this.#vote = this.id;
    this.#role = Role.Candidate;
  }

  #becomeLeader(): void {
    invariant(this.#role === Role.Candidate, "only a candidate can become leader");
    this.#reset(this.#term);
    this.#role = Role.Leader;
    this.#lead = this.id;
    this.#prs = new Map();
    const last = this.#log.lastIndex();
    for (const id of this.#config.all()) {
      const pr = this.#newProgress(last + 1, !this.#config.isVoter(id));
      if (id === this.id) {
        pr.match = last;
        pr.becomeReplicate();
        pr.recentActive = true;
      }
      this.#prs.set(id, pr);
    }
    if (!this.#prs.has(this.id)) {
      const pr = this.#newProgress(last + 1, true);
      pr.match = last;
      this.#prs.set(this.id, pr);
    }
    // Conservatively treat any conf entry in the log as pending (etcd).
    this.#pendingConfIndex = last;
    this.#logger.info({ term: this.#term }, "became leader");
    // The no-op lets the leader commit entries of earlier terms (Raft §5.4.2, §8).
    this.#appendEntries([
      { index: last + 1, term: this.#term, kind: EntryKind.Noop, data: new Uint8Array(0) },
    ]);
  }

  #newProgress(next: number, learner: boolean): Progress {
    const pr = new Progress(next, learner, this.#o.maxInflightMsgs, this.#o.maxInflightBytes);
    pr.lastHeardTick = this.#tickCount; // a grace period of one election timeout
    pr.recentActive = true;
    return pr;
  }

  #promotable(): boolean {
    return this.#config.isVoter(this.id) && this.#log.unstableSnapshot === null;
  }

  #hup(transfer: boolean): void {
    if (this.#role === Role.Leader) return;
    if (!this.#promotable()) return;
    if (this.#hasUnappliedConf()) return;
    if (this.#o.preVote && !transfer) this.#campaign(true, false);
    else this.#campaign(false, transfer);
  }

  #hasUnappliedConf(): boolean {
    const lo = this.#log.applied + 1;
    const hi = this.#log.committed + 1;
    if (lo >= hi || lo < this.#log.firstIndex()) return false;
    const ents = this.#log.slice(lo, hi, Number.MAX_SAFE_INTEGER) ?? [];
    return ents.some((e) => e.kind === EntryKind.Conf);
  }

  #campaign(pre: boolean, transfer: boolean): void {
    let voteTerm: number;
    if (pre) {
      this.#becomePreCandidate();
      voteTerm = this.#term + 1;
    } else {
      this.#becomeCandidate();
      voteTerm = this.#term;
    }
    this.#votes.set(this.id, true);
    const r = this.#config.vote(this.#votes);
    if (r === "won") {
      if (pre) this.#campaign(false, false);
      else this.#becomeLeader();
      return;
    }
    for (const id of this.#config.voters()) {
      if (id === this.id) continue;
      this.#send(
        msg({
          type: pre ? MsgType.PreVote : MsgType.Vote,
          from: this.id,
          to: id,
          term: voteTerm,
          index: this.#log.lastIndex(),
          logTerm: this.#log.lastTerm(),
          transfer,
        }),
      );
    }
  }

  #handleVoteRequest(m: Message): void {
    const pre = m.type === MsgType.PreVote;
    const canVote =
      this.#vote === m.from ||
      (this.#vote === null && this.#lead === null) ||
      (pre && m.term > this.#term) ||
      this.#o.mutations.voteTwice === true;
    const respType = pre ? MsgType.PreVoteResp : MsgType.VoteResp;
    if (canVote && this.#log.isUpToDate(m.index, m.logTerm)) {
      this.#send(msg({ type: respType, from: this.id, to: m.from, term: m.term }));
      if (!pre) {
        this.#electionElapsed = 0;
        this.#vote = m.from;
      }
    } else {
      this.#send(msg({ type: respType, from: this.id, to: m.from, term: this.#term, reject: true }));
    }
  }

  #tickElection(): void {
    this.#electionElapsed++;
    if (this.#promotable() && this.#electionElapsed >= this.#randomizedElectionTimeout) {
      this.#electionElapsed = 0;
      this.#hup(false);
    }
  }

  #tickLeader(): void {
    this.#heartbeatElapsed++;
    this.#electionElapsed++;
    // Check-quorum over a sliding window: step down as soon as a quorum has not been heard from for a
    // full election timeout (so within one election timeout of losing it).
    const active = new Map<NodeId, boolean>();
    for (const [id, pr] of this.#prs) {
      pr.recentActive = id === this.id || this.#tickCount - pr.lastHeardTick < this.#o.electionTicks;
      active.set(id, pr.recentActive);
    }
    if (this.#o.checkQuorum && this.#config.vote(active) !== "won") {
      this.#logger.warn({ term: this.#term }, "lost quorum; stepping down");
      this.#becomeFollower(this.#term, null);
      return;
    }
    if (this.#electionElapsed >= this.#o.electionTicks) {
      this.#electionElapsed = 0;
      if (this.#leadTransferee !== null) this.#abortTransfer();
    }
    for (const pr of this.#prs.values()) {
      if (pr.state === ProgressState.Snapshot && ++pr.snapshotTicks > 2 * this.#o.electionTicks) {
        pr.becomeProbe(); // the snapshot was probably lost: retry
      }
    }
    if (this.#heartbeatElapsed >= this.#o.heartbeatTicks) {
      this.#heartbeatElapsed = 0;
      this.#bcastHeartbeat("");
    }
  }

  #abortTransfer(): void {
    if (this.#leadTransferee !== null)
      this.#logger.info({ to: this.#leadTransferee }, "leadership transfer aborted");
    this.#leadTransferee = null;
  }

  // ---------------------------------------------------------------- leader

  #propose(kind: EntryKind, data: Uint8Array): ProposeResult {
    if (this.#role !== Role.Leader) return { ok: false, reason: DropReason.NotLeader };
    if (this.#leadTransferee !== null) return { ok: false, reason: DropReason.Transferring };
    const size = data.length;
    if (
      this.#o.maxUncommittedBytes > 0 &&
      this.#uncommittedBytes > 0 &&
      this.#uncommittedBytes + size > this.#o.maxUncommittedBytes
    ) {
      return { ok: false, reason: DropReason.Backpressure };
    }
    const index = this.#log.lastIndex() + 1;
    this.#appendEntries([{ index, term: this.#term, kind, data }]);
    this.#uncommitted.push({ index, size });
    this.#uncommittedBytes += size;
    return { ok: true, index, term: this.#term };
  }

  #appendEntries(ents: Entry[]): void {
    this.#log.append(ents);
    this.#prs.get(this.id)?.maybeUpdate(this.#log.lastIndex());
    this.#maybeCommit();
    this.#needBcast = true; // batched: one append per follower per Ready
  }

  #flushBcast(): void {
    if (this.#readRoundCtx !== null) {
      if (this.#role === Role.Leader) this.#bcastHeartbeat(this.#readRoundCtx);
      this.#readRoundCtx = null;
    }
    if (!this.#needBcast) return;
    this.#needBcast = false;
    if (this.#role !== Role.Leader) return;
    for (const id of this.#prs.keys()) {
      if (id === this.id) continue;
      // One append (possibly empty, carrying the commit index), then fill the in-flight window.
      if (this.#sendAppend(id, true)) while (this.#sendAppend(id, false)) {}
    }
  }

  #maybeCommit(): boolean {
    const mci = this.#config.committed((id) => this.#prs.get(id)?.match ?? 0);
    if (mci <= this.#log.committed || mci > this.#log.lastIndex()) return false;
    // Raft §5.4.2: only entries of the current term are committed by counting replicas.
    if (!this.#o.mutations.commitOldTerm && this.#log.term(mci) !== this.#term) return false;
    this.#log.commitTo(mci);
    while (this.#uncommitted.length > 0 && this.#uncommitted[0]!.index <= mci) {
      this.#uncommittedBytes -= this.#uncommitted.shift()!.size;
    }
    if (this.#pendingReads.length > 0 && this.#committedInTerm()) {
      const pending = this.#pendingReads;
      this.#pendingReads = [];
      for (const r of pending) this.#leaderRead(r.id, r.from);
    }
    return true;
  }

  #committedInTerm(): boolean {
    return this.#log.term(this.#log.committed) === this.#term;
  }

  /** Sends an append (or snapshot) to `to` if its progress allows; returns whether something was sent. */
  #sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.#prs.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.#log.term(prevIndex);
    const last = this.#log.lastIndex();
    const ents = prevTerm === -1 ? null : this.#log.slice(pr.next, last + 1, this.#o.maxSizePerMsg);
    if (ents === null) return this.#sendSnapshot(to, pr);
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.#send(
      msg({
        type: MsgType.App,
        from: this.id,
        to,
        term: this.#term,
        index: prevIndex,
        logTerm: prevTerm,
        entries: ents,
        commit: this.#log.committed,
      }),
    );
    if (ents.length > 0) {
      if (pr.state === ProgressState.Replicate) {
        const lastSent = ents[ents.length - 1]!.index;
        pr.next = lastSent + 1;
        let bytes = 0;
        for (const e of ents) bytes += entrySize(e);
        pr.inflights.add(lastSent, bytes);
      } else if (pr.state === ProgressState.Probe) {
        pr.probeSent = true;
      }
    } else if (pr.state === ProgressState.Probe) {
      pr.probeSent = true;
    }
    return true;
  }

  #sendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) return false;
    const snap: Snapshot = this.#o.storage.snapshot();
    invariant(snap.meta.index > 0, "need a snapshot but storage has none");
    pr.becomeSnapshot(snap.meta.index);
    const total = snap.data.length;
    const chunk = this.#o.maxSnapshotChunkBytes;
    for (let off = 0; off < total || off === 0; off += chunk) {
      this.#send(
        msg({
          type: MsgType.Snap,
          from: this.id,
          to,
          term: this.#term,
          snapshot: {
            meta: snap.meta,
            offset: off,
            total,
            data: snap.data.subarray(off, Math.min(total, off + chunk)),
          },
        }),
      );
      if (total === 0) break;
    }
    this.#logger.debug({ to, index: snap.meta.index, bytes: total }, "sending snapshot");
    return true;
  }

  #sendTimeoutNow(to: NodeId): void {
    this.#leaseDisabled = true; // the target may win with transfer votes that bypass stickiness
    this.#send(msg({ type: MsgType.TimeoutNow, from: this.id, to, term: this.#term }));
  }

  #bcastHeartbeat(context: string): void {
    for (const [id, pr] of this.#prs) {
      if (id === this.id) continue;
      this.#send(
        msg({
          type: MsgType.Heartbeat,
          from: this.id,
          to: id,
          term: this.#term,
          commit: Math.min(pr.match, this.#log.committed),
          context,
          seq: this.#tickCount,
        }),
      );
    }
  }

  #leaseValid(): boolean {
    if (this.#o.readOnly !== "lease" || !this.#o.checkQuorum || this.#leaseDisabled) return false;
    if (this.#leadTransferee !== null) return false;
    const leaseTicks = this.#o.electionTicks - this.#o.maxClockDriftTicks;
    if (leaseTicks <= 0) return false;
    const fresh = new Map<NodeId, boolean>();
    for (const [id, pr] of this.#prs) {
      fresh.set(id, id === this.id || (pr.ackedSeq >= 0 && this.#tickCount - pr.ackedSeq < leaseTicks));
    }
    return this.#config.vote(fresh) === "won";
  }

  #leaderRead(id: string, from: NodeId): void {
    if (!this.#committedInTerm() && !this.#o.mutations.readWithoutQuorum) {
      // etcd #7331: the commit index may be stale until the leader commits in its own term.
      this.#pendingReads.push({ id, from });
      return;
    }
    const index = this.#log.committed;
    const selfOnly = this.#config.vote(new Map([[this.id, true]])) === "won";
    if (selfOnly || this.#leaseValid() || this.#o.mutations.readWithoutQuorum) {
      this.#releaseRead({ id, from, index, acks: new Map() });
      return;
    }
    this.#readQueue.push({ id, from, index, acks: new Map([[this.id, true]]) });
    this.#readRoundCtx = id; // acks for the newest id release every older queued read too
  }

  #releaseRead(r: ReadRequest): void {
    if (r.from === this.id) this.#readStates.push({ readId: r.id, index: r.index });
    else
      this.#send(
        msg({
          type: MsgType.ReadIndexResp,
          from: this.id,
          to: r.from,
          term: this.#term,
          index: r.index,
          context: r.id,
        }),
      );
  }

  #failReads(): void {
    for (const r of [...this.#readQueue, ...this.#pendingReads]) {
      if (r.from === this.id) this.#readStates.push({ readId: r.id, index: -1 });
      else
        this.#send(
          msg({
            type: MsgType.ReadIndexResp,
            from: this.id,
            to: r.from,
            term: this.#term,
            index: -1,
            context: r.id,
          }),
        );
    }
    this.#readQueue = [];
    this.#pendingReads = [];
    this.#readRoundCtx = null;
  }

  #stepLeader(m: Message): void {
    const pr = this.#prs.get(m.from);
    switch (m.type) {
      case MsgType.AppResp: {
        if (!pr) return;
        pr.recentActive = true;
        pr.lastHeardTick = this.#tickCount;
        if (m.reject) {
          let nextProbe = m.hintIndex;
          if (m.hintTerm > 0) nextProbe = this.#log.findConflictByTerm(m.hintIndex, m.hintTerm);
          if (pr.maybeDecrTo(m.index, nextProbe)) {
            if (pr.state === ProgressState.Replicate) pr.becomeProbe();
            this.#sendAppend(m.from, true);
          }
          return;
        }
        const oldPaused = pr.isPaused();
        if (!pr.maybeUpdate(m.index)) return;
        if (pr.state === ProgressState.Probe) pr.becomeReplicate();
        else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= this.#log.firstIndex()) {
          pr.becomeProbe();
          pr.becomeReplicate();
        } else if (pr.state === ProgressState.Replicate) pr.inflights.freeLE(m.index);
        if (this.#maybeCommit()) this.#needBcast = true;
        else if (oldPaused) this.#sendAppend(m.from, false);
        while (this.#sendAppend(m.from, false)) {
          // keep the pipeline full
        }
        if (m.from === this.#leadTransferee && pr.match === this.#log.lastIndex())
          this.#sendTimeoutNow(m.from);
        return;
      }
      case MsgType.HeartbeatResp: {
        if (!pr) return;
        pr.recentActive = true;
        pr.lastHeardTick = this.#tickCount;
        pr.probeSent = false;
        if (m.seq > pr.ackedSeq) pr.ackedSeq = m.seq;
        if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirst();
        if (pr.match < this.#log.lastIndex()) this.#sendAppend(m.from, true);
        if (m.context !== "") this.#ackRead(m.context, m.from);
        return;
      }
      case MsgType.ReadIndex:
        this.#leaderRead(m.context, m.from);
        return;
      default:
        return;
    }
  }

  #ackRead(id: string, from: NodeId): void {
    const pos = this.#readQueue.findIndex((r) => r.id === id);
    if (pos < 0) return;
    const req = this.#readQueue[pos]!;
    req.acks.set(from, true);
    if (this.#config.vote(req.acks) !== "won") return;
    // A quorum confirmed leadership after this request was queued: release it and all earlier ones.
    const done = this.#readQueue.slice(0, pos + 1);
    this.#readQueue = this.#readQueue.slice(pos + 1);
    for (const r of done) this.#releaseRead(r);
  }

  // ---------------------------------------------------------------- candidate / follower

  #stepCandidate(m: Message): void {
    switch (m.type) {
      case MsgType.App:
        this.#becomeFollower(m.term, m.from);
        this.#handleAppend(m);
        return;
      case MsgType.Heartbeat:
        this.#becomeFollower(m.term, m.from);
        this.#handleHeartbeat(m);
        return;
      case MsgType.Snap:
        this.#becomeFollower(m.term, m.from);
        this.#handleSnapshotChunk(m);
        return;
      case MsgType.PreVoteResp:
      case MsgType.VoteResp: {
        const expect = this.#role === Role.PreCandidate ? MsgType.PreVoteResp : MsgType.VoteResp;
        if (m.type !== expect) return;
        this.#votes.set(m.from, !m.reject);
        const r = this.#config.vote(this.#votes);
        if (r === "won") {
          if (this.#role === Role.PreCandidate) this.#campaign(false, false);
          else this.#becomeLeader();
        } else if (r === "lost") {
          this.#becomeFollower(this.#term, null);
        }
        return;
      }
      case MsgType.ReadIndex:
        this.#send(
          msg({
            type: MsgType.ReadIndexResp,
            from: this.id,
            to: m.from,
            term: this.#term,
            index: -1,
            context: m.context,
          }),
        );
        return;
      case MsgType.ReadIndexResp:
        this.#readStates.push({ readId: m.context, index: m.index });
        return;
      default:
        return;
    }
  }

  #stepFollower(m: Message): void {
    switch (m.type) {
      case MsgType.App:
        this.#electionElapsed = 0;
        this.#lead = m.from;
        this.#handleAppend(m);
        return;
      case MsgType.Heartbeat:
        this.#electionElapsed = 0;
        this.#lead = m.from;
        this.#handleHeartbeat(m);
        return;
      case MsgType.Snap:
        this.#electionElapsed = 0;
        this.#lead = m.from;
        this.#handleSnapshotChunk(m);
        return;
      case MsgType.TimeoutNow:
        this.#logger.info({ from: m.from }, "campaigning on leadership transfer");
        this.#hup(true);
        return;
      case MsgType.ReadIndex:
        this.#send(
          msg({
            type: MsgType.ReadIndexResp,
            from: this.id,
            to: m.from,
            term: this.#term,
            index: -1,
            context: m.context,
          }),
        );
        return;
      case MsgType.ReadIndexResp:
        this.#readStates.push({ readId: m.context, index: m.index });
        return;
      default:
        return;
    }
  }

  #handleAppend(m: Message): void {
    if (m.index < this.#log.committed) {
      this.#send(
        msg({
          type: MsgType.AppResp,
          from: this.id,
          to: m.from,
          term: this.#term,
          index: this.#log.committed,
        }),
      );
      return;
    }
    const last = this.#log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (last >= 0) {
      this.#send(msg({ type: MsgType.AppResp, from: this.id, to: m.from, term: this.#term, index: last }));
      return;
    }
    // Conflict hint (etcd): the largest index ≤ the probe whose term is ≤ the leader's term there.
    let hintIndex = Math.min(m.index, this.#log.lastIndex());
    hintIndex = this.#log.findConflictByTerm(hintIndex, m.logTerm);
    const hintTerm = this.#log.term(hintIndex);
    this.#send(
      msg({
        type: MsgType.AppResp,
        from: this.id,
        to: m.from,
        term: this.#term,
        index: m.index,
        reject: true,
        hintIndex,
        hintTerm,
      }),
    );
  }

  #handleHeartbeat(m: Message): void {
    this.#log.commitTo(Math.min(m.commit, this.#log.lastIndex()));
    this.#send(
      msg({
        type: MsgType.HeartbeatResp,
        from: this.id,
        to: m.from,
        term: this.#term,
        context: m.context,
        seq: m.seq,
      }),
    );
  }

  #handleSnapshotChunk(m: Message): void {
    const c = m.snapshot;
    if (c === null) return;
    if (c.meta.index <= this.#log.committed) {
      this.#snapRecv = null;
      this.#send(
        msg({
          type: MsgType.AppResp,
          from: this.id,
          to: m.from,
          term: this.#term,
          index: this.#log.committed,
        }),
      );
      return;
    }
    const key = `${m.term}/${c.meta.index}/${c.meta.term}/${c.total}`;
    if (this.#snapRecv === null || this.#snapRecv.key !== key) {
      this.#snapRecv = { key, total: c.total, chunks: new Map(), received: 0 };
    }
    const rcv = this.#snapRecv;
    if (!rcv.chunks.has(c.offset) && c.offset + c.data.length <= c.total) {
      rcv.chunks.set(c.offset, c.data.slice());
      rcv.received += c.data.length;
    }
    if (rcv.received < rcv.total) return;
    // Every chunk is in: assemble. A partial snapshot is never applied.
    const data = new Uint8Array(rcv.total);
    for (const [off, d] of rcv.chunks) data.set(d, off);
    this.#snapRecv = null;
    const snap: Snapshot = { meta: c.meta, data };
    if (this.#log.matchTerm(snap.meta.index, snap.meta.term)) {
      this.#log.commitTo(snap.meta.index);
    } else {
      this.#logger.info({ index: snap.meta.index }, "restoring snapshot");
      this.#log.restore(snap);
      this.#applyingTo = snap.meta.index;
      this.#config = Config.from(snap.meta.conf);
    }
    this.#send(
      msg({
        type: MsgType.AppResp,
        from: this.id,
        to: m.from,
        term: this.#term,
        index: this.#log.lastIndex(),
      }),
    );
  }

  #send(m: Message): void {
    this.#msgs.push(m);
  }
}

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** Decodes the conf change carried by a `conf` entry (for hosts applying committed entries). */
export function confChangeOf(e: Entry): ConfChange {
  invariant(e.kind === EntryKind.Conf, "not a conf entry");
  return decodeConfChange(e.data);
}
