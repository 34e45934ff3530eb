/**
 * The metadata state machine (spec internals §3.2): streams, partitions, leaders, ISRs, pause and
 * read-only flags. Pure and deterministic: `apply` mutates the state from one committed Raft entry and
 * reports what changed through a {@link MetadataListener}; preconditions are checked by the proposer
 * (the controller) before proposing, and an op that fails them here is skipped with a result error,
 * so replay is always safe.
 * @module
 */
import {
  type ConsumerGroupError,
  type ConsumerGroupOp,
  type ConsumerGroupState,
  ConsumerGroups,
  isConsumerGroupOp,
} from "./consumer-groups.js";

/** Per-stream overrides of the server's stream defaults (CreateStreamRequest fields 6-18; ms units). */
export interface StreamConfig {
  readonly retentionMaxBytes?: number;
  readonly retentionMaxMessages?: number;
  readonly retentionMaxAgeMs?: number;
  readonly cleanerIntervalMs?: number;
  readonly segmentMaxBytes?: number;
  readonly segmentMaxAgeMs?: number;
  readonly compactMaxGoroutines?: number;
  readonly compactEnabled?: boolean;
  readonly autoPauseTimeMs?: number;
  readonly autoPauseDisableIfSubscribers?: boolean;
  readonly minIsr?: number;
  readonly optimisticConcurrencyControl?: boolean;
  readonly encryption?: boolean;
}

/** First and latest time (Unix ns, as decimal strings; "0" = never) an event happened. */
export interface EventTimestamps {
  first: string;
  latest: string;
}

/** One partition's replicated metadata. */
export interface PartitionState {
  readonly id: number;
  /** The stream's base subject (partition N listens on `subject.N`). */
  readonly subject: string;
  readonly stream: string;
  readonly group: string;
  readonly replicationFactor: number;
  replicas: string[];
  leader: string;
  isr: string[];
  leaderEpoch: number;
  epoch: number;
  paused: boolean;
  readonly: boolean;
  pauseTimestamps: EventTimestamps;
  readonlyTimestamps: EventTimestamps;
}

/** One stream's replicated metadata. */
export interface StreamState {
  readonly name: string;
  readonly subject: string;
  readonly group: string;
  readonly config: StreamConfig;
  /** Unix ns as a decimal string. */
  readonly creationTimestamp: string;
  resumeAll: boolean;
  readonly partitions: PartitionState[];
}

/** The operations of the metadata log (our own JSON encoding; upstream's `Op` numbers in comments). */
export type MetadataOp =
  /** CREATE_STREAM (0). */
  | {
      readonly op: "create_stream";
      readonly name: string;
      readonly subject: string;
      readonly group: string;
      readonly partitions: number;
      readonly replicationFactor: number;
      readonly replicas: readonly string[];
      readonly leader: string;
      readonly config: StreamConfig;
      readonly creationTimestamp: string;
    }
  /** DELETE_STREAM (5). */
  | { readonly op: "delete_stream"; readonly name: string }
  /** PAUSE_STREAM (6). */
  | {
      readonly op: "pause_stream";
      readonly name: string;
      readonly partitions: readonly number[];
      readonly resumeAll: boolean;
      readonly timestamp: string;
    }
  /** RESUME_STREAM (7). */
  | {
      readonly op: "resume_stream";
      readonly name: string;
      readonly partitions: readonly number[];
      readonly timestamp: string;
    }
  /** SET_STREAM_READONLY (9). */
  | {
      readonly op: "set_stream_readonly";
      readonly name: string;
      readonly partitions: readonly number[];
      readonly readonly: boolean;
      readonly timestamp: string;
    }
  /** PUBLISH_ACTIVITY (8): the activity stream published the event of Raft entry `index`. */
  | { readonly op: "publish_activity"; readonly index: number }
  /** Consumer-group ops (10, 11, 12, 14): see `consumer-groups.ts`. */
  | ConsumerGroupOp;

/** Result of applying one op: `ok`, or why it was skipped. */
export type ApplyResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: "stream_exists" | "no_such_stream" | "no_such_partition" | ConsumerGroupError;
    };

/** Receives the effects of applied ops (the broker starts and stops partitions from these). */
export interface MetadataListener {
  streamCreated(stream: StreamState): void;
  streamDeleted(stream: StreamState): void;
  partitionPaused(partition: PartitionState): void;
  partitionResumed(partition: PartitionState): void;
  partitionReadonlyChanged(partition: PartitionState): void;
  /** A consumer group was created, changed or deleted (`group` undefined when deleted). */
  consumerGroupChanged?(groupId: string, group: ConsumerGroupState | undefined): void;
}

const NEVER = (): EventTimestamps => ({ first: "0", latest: "0" });

function stamp(t: EventTimestamps, ts: string): void {
  if (t.first === "0") t.first = ts;
  t.latest = ts;
}

/** The metadata FSM state plus its `apply`. */
export class MetadataState {
  readonly streams = new Map<string, StreamState>();
  /** Raft index of the last activity event published to `__activity` (PUBLISH_ACTIVITY); 0 = none. */
  lastActivityIndex = 0;
  /** Consumer groups (spec internals §5.7). */
  readonly groups = new ConsumerGroups();
  readonly #partitionCount = (name: string): number | undefined => this.streams.get(name)?.partitions.length;

  #groupsChanged(ids: readonly string[], listener: MetadataListener | undefined): void {
    for (const id of ids) listener?.consumerGroupChanged?.(id, this.groups.groups.get(id));
  }

  /** The partitions an op names (`[]` = all), or `undefined` when one does not exist. */
  static select(stream: StreamState, ids: readonly number[]): PartitionState[] | undefined {
    if (ids.length === 0) return stream.partitions;
    const out: PartitionState[] = [];
    for (const id of ids) {
      const p = stream.partitions[id];
      if (!Number.isInteger(id) || p === undefined) return undefined;
      out.push(p);
    }
    return out;
  }

  /** Checks an op's preconditions against the current state without applying it. */
  check(op: MetadataOp): ApplyResult {
    if (op.op === "publish_activity") return { ok: true };
    if (isConsumerGroupOp(op)) return this.groups.check(op, this.#partitionCount);
    if (op.op === "create_stream") {
      return this.streams.has(op.name) ? { ok: false, reason: "stream_exists" } : { ok: true };
    }
    const s = this.streams.get(op.name);
    if (s === undefined) return { ok: false, reason: "no_such_stream" };
    if (op.op === "delete_stream") return { ok: true };
    return MetadataState.select(s, op.partitions) === undefined
      ? { ok: false, reason: "no_such_partition" }
      : { ok: true };
  }

  /** Applies the op committed at Raft `index`; `listener` (when given) hears the effects. */
  apply(index: number, op: MetadataOp, listener?: MetadataListener): ApplyResult {
    if (isConsumerGroupOp(op)) {
      const res = this.groups.apply(index, op, this.#partitionCount);
      if (res.changed !== undefined) this.#groupsChanged([res.changed], listener);
      return res.ok ? { ok: true } : res;
    }
    const pre = this.check(op);
    if (!pre.ok) return pre;
    switch (op.op) {
      case "create_stream": {
        const partitions: PartitionState[] = [];
        for (let id = 0; id < op.partitions; id++) {
          partitions.push({
            id,
            subject: op.subject,
            stream: op.name,
            group: op.group,
            replicationFactor: op.replicationFactor,
            replicas: [...op.replicas],
            leader: op.leader,
            isr: [...op.replicas],
            leaderEpoch: index,
            epoch: index,
            paused: false,
            readonly: false,
            pauseTimestamps: NEVER(),
            readonlyTimestamps: NEVER(),
          });
        }
        const stream: StreamState = {
          name: op.name,
          subject: op.subject,
          group: op.group,
          config: op.config,
          creationTimestamp: op.creationTimestamp,
          resumeAll: false,
          partitions,
        };
        this.streams.set(op.name, stream);
        listener?.streamCreated(stream);
        this.#groupsChanged(this.groups.streamCreated(index, op.name, this.#partitionCount), listener);
        return pre;
      }
      case "delete_stream": {
        const s = this.streams.get(op.name)!;
        this.streams.delete(op.name);
        listener?.streamDeleted(s);
        this.#groupsChanged(this.groups.streamDeleted(index, op.name, this.#partitionCount), listener);
        return pre;
      }
      case "pause_stream": {
        const s = this.streams.get(op.name)!;
        s.resumeAll = op.resumeAll;
        for (const p of MetadataState.select(s, op.partitions)!) {
          if (p.paused) continue;
          p.paused = true;
          stamp(p.pauseTimestamps, op.timestamp);
          listener?.partitionPaused(p);
        }
        return pre;
      }
      case "resume_stream": {
        const s = this.streams.get(op.name)!;
        for (const p of MetadataState.select(s, op.partitions)!) {
          if (!p.paused) continue;
          p.paused = false;
          stamp(p.pauseTimestamps, op.timestamp);
          listener?.partitionResumed(p);
        }
        if (s.partitions.every((p) => !p.paused)) s.resumeAll = false;
        return pre;
      }
      case "set_stream_readonly": {
        const s = this.streams.get(op.name)!;
        for (const p of MetadataState.select(s, op.partitions)!) {
          if (p.readonly === op.readonly) continue;
          p.readonly = op.readonly;
          stamp(p.readonlyTimestamps, op.timestamp);
          listener?.partitionReadonlyChanged(p);
        }
        return pre;
      }
      case "publish_activity": {
        // Never moves backwards: a retried publish of an older event proposes an older index.
        if (op.index > this.lastActivityIndex) this.lastActivityIndex = op.index;
        return pre;
      }
    }
  }

  /** Serialises the whole state (the Raft snapshot payload). */
  toSnapshot(): Uint8Array {
    return Buffer.from(
      JSON.stringify({
        streams: [...this.streams.values()],
        lastActivityIndex: this.lastActivityIndex,
        groups: this.groups.toJSON(),
      }),
      "utf8",
    );
  }

  /** Replaces the state with a snapshot made by {@link toSnapshot}. */
  restore(data: Uint8Array): void {
    this.streams.clear();
    this.lastActivityIndex = 0;
    this.groups.restore([]);
    if (data.byteLength === 0) return;
    const parsed = JSON.parse(Buffer.from(data).toString("utf8")) as {
      streams: StreamState[];
      lastActivityIndex?: number;
      groups?: ConsumerGroupState[];
    };
    for (const s of parsed.streams) this.streams.set(s.name, s);
    this.lastActivityIndex = parsed.lastActivityIndex ?? 0;
    this.groups.restore(parsed.groups);
  }
}

/** Encodes an op as a Raft entry payload. */
export function encodeOp(op: MetadataOp): Uint8Array {
  return Buffer.from(JSON.stringify(op), "utf8");
}

/** Decodes a Raft entry payload made by {@link encodeOp}. */
export function decodeOp(data: Uint8Array): MetadataOp {
  return JSON.parse(
    Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8"),
  ) as MetadataOp;
}
