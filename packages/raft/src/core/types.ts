/** Stable node identifier; never reused after removal. */
export type NodeId = string;

/** Kind of a log entry. */
export const EntryKind = { Normal: "normal", Conf: "conf", Noop: "noop" } as const;
/** Union of {@link EntryKind} values. */
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];

/** One replicated log entry. Indexes start at 1; index 0 term 0 is the empty log. */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  readonly data: Uint8Array;
}

/** State that must be durable before any message depending on it is sent (Raft §5, Figure 2). */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
}

/**
 * Cluster membership. `votersOutgoing` is non-empty only in a joint configuration; `learnersNext` are
 * learners that are still outgoing voters and become learners when the joint config is left.
 */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly votersOutgoing: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly learnersNext: readonly NodeId[];
  readonly autoLeave: boolean;
}

/** The empty configuration. */
export const EMPTY_CONF: ConfState = {
  voters: [],
  votersOutgoing: [],
  learners: [],
  learnersNext: [],
  autoLeave: false,
};

/** Metadata of a snapshot: the last index and term it covers and the configuration at that index. */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
}

/** A snapshot: metadata plus opaque application bytes. */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

/** One step of a membership change. */
export interface ConfChangeSingle {
  readonly type: "add_voter" | "add_learner" | "remove";
  readonly node: NodeId;
}

/**
 * A membership change. One change with `transition: "auto"` is applied directly (single-server change);
 * several changes, or `transition: "joint_explicit" | "joint_implicit"`, enter a joint configuration.
 * An empty `changes` list leaves the joint configuration.
 */
export interface ConfChange {
  readonly changes: readonly ConfChangeSingle[];
  readonly transition?: "auto" | "joint_implicit" | "joint_explicit";
}

/** Message types exchanged between raft nodes. */
export const MsgType = {
  PreVote: "pre_vote",
  PreVoteResp: "pre_vote_resp",
  Vote: "vote",
  VoteResp: "vote_resp",
  App: "app",
  AppResp: "app_resp",
  Heartbeat: "heartbeat",
  HeartbeatResp: "heartbeat_resp",
  Snap: "snap",
  TimeoutNow: "timeout_now",
  ReadIndex: "read_index",
  ReadIndexResp: "read_index_resp",
} as const;
/** Union of {@link MsgType} values. */
export type MsgType = (typeof MsgType)[keyof typeof MsgType];

/** One chunk of a snapshot in transit. */
export interface SnapshotChunk {
  readonly meta: SnapshotMeta;
  /** Byte offset of this chunk in the snapshot data. */
  readonly offset: number;
  /** Total snapshot data length. */
  readonly total: number;
  readonly data: Uint8Array;
}

/**
 * A raft message: plain data. Unused fields are 0, -1, empty or null so that the codec is total.
 * `index`/`logTerm` are the probe position (App), the candidate's last entry (votes) or the acked
 * index (AppResp); `hintIndex`/`hintTerm` are the conflict hint of a rejected append.
 */
export interface Message {
  readonly type: MsgType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly logTerm: number;
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  readonly hintIndex: number;
  readonly hintTerm: number;
  /** Read request id (ReadIndex) or heartbeat context. Empty when unused. */
  readonly context: string;
  /** Leader tick at which a heartbeat was sent (echoed in the response; used for leases). */
  readonly seq: number;
  /** Set on votes caused by leadership transfer: bypasses leader stickiness. */
  readonly transfer: boolean;
  readonly snapshot: SnapshotChunk | null;
}

/** Role of a node. */
export const Role = {
  Follower: "follower",
  PreCandidate: "pre_candidate",
  Candidate: "candidate",
  Leader: "leader",
} as const;
/** Union of {@link Role} values. */
export type Role = (typeof Role)[keyof typeof Role];

/** Volatile state reported in {@link Ready} when it changes. */
export interface SoftState {
  readonly leader: NodeId | null;
  readonly role: Role;
}

/** The result of a ReadIndex request: reads are linearizable once `applied >= index`; -1 means refused. */
export interface ReadState {
  readonly readId: string;
  readonly index: number;
}

/**
 * Output of the core. The host must handle it in order: persist `snapshot`, `entries` and `hardState`
 * (fsync if `mustSync`), then send `messages`, then apply `snapshot` and `committed`, then call
 * `advance(ready)`.
 */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
  readonly mustSync: boolean;
  readonly messages: readonly Message[];
  readonly committed: readonly Entry[];
  readonly readStates: readonly ReadState[];
}

/** Why a proposal was refused. */
export const DropReason = {
  NotLeader: "not_leader",
  Transferring: "transferring",
  Backpressure: "backpressure",
  ConfPending: "conf_pending",
  /** A learner may be promoted only once it has caught up with the commit index. */
  LearnerBehind: "learner_behind",
} as const;
/** Union of {@link DropReason} values. */
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

/** Result of `propose`: the entry's position, or why it was dropped. */
export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly reason: DropReason };

/** Replication state of a follower as seen by the leader. */
export const ProgressState = { Probe: "probe", Replicate: "replicate", Snapshot: "snapshot" } as const;
/** Union of {@link ProgressState} values. */
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

/** Per-peer progress in {@link Status}. */
export interface PeerStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly inflight: number;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
}

/** Snapshot of a node's state for monitoring and tests. */
export interface Status {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly leader: NodeId | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly firstIndex: number;
  readonly conf: ConfState;
  readonly pendingConfIndex: number;
  readonly leadTransferee: NodeId | null;
  readonly progress: Readonly<Record<NodeId, PeerStatus>>;
}

/** Builds a message with defaults for unused fields. */
export function msg(
  fields: Pick<Message, "type" | "from" | "to" | "term"> &
    Partial<Omit<Message, "type" | "from" | "to" | "term">>,
): Message {
  return {
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    hintIndex: 0,
    hintTerm: 0,
    context: "",
    seq: 0,
    transfer: false,
    snapshot: null,
    ...fields,
  };
}
