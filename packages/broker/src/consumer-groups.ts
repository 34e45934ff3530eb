/**
 * Consumer groups in the metadata FSM (spec internals §3.2 ops 10-14, §5.7): group state, the four
 * group ops, their preconditions and the balanced assignment. Pure and deterministic: the same ops at
 * the same Raft indexes give the same groups on every server. Timers and RPCs live in
 * `consumer-group-coordinator.ts` and `consumer-group-api.ts`.
 * @module
 */

/** One stream's partitions assigned to a member, ascending. */
export interface GroupAssignment {
  readonly stream: string;
  partitions: number[];
}

/** A member of a consumer group. */
export interface GroupMember {
  readonly id: string;
  /** Streams the member consumes (in join order; a deleted stream is removed). */
  streams: string[];
  /** Its assigned partitions, one entry per stream with at least one partition, sorted by stream. */
  assignments: GroupAssignment[];
}

/** One consumer group's replicated state (upstream `ConsumerGroup` plus the assignment table). */
export interface ConsumerGroupState {
  readonly id: string;
  /** Broker id of the coordinator (the broker that tracks member liveness). */
  coordinator: string;
  /**
   * Group epoch: 0 when created, then the Raft index of the last join, leave, coordinator change or
   * stream deletion that touched the group (spec §6.8).
   */
  epoch: number;
  /** Members in join order. */
  members: GroupMember[];
}

/** The consumer-group ops of the metadata log (upstream `Op` numbers in comments). */
export type ConsumerGroupOp =
  /** CREATE_CONSUMER_GROUP (10): the group with its first member; epoch 0. */
  | {
      readonly op: "create_consumer_group";
      readonly groupId: string;
      readonly consumerId: string;
      readonly streams: readonly string[];
      readonly coordinator: string;
    }
  /** JOIN_CONSUMER_GROUP (11): epoch = index, rebalance the member's streams. */
  | {
      readonly op: "join_consumer_group";
      readonly groupId: string;
      readonly consumerId: string;
      readonly streams: readonly string[];
    }
  /** LEAVE_CONSUMER_GROUP (12): epoch = index, rebalance; the group is deleted when empty. */
  | {
      readonly op: "leave_consumer_group";
      readonly groupId: string;
      readonly consumerId: string;
      /** True when the coordinator removed the member for missing heartbeats. */
      readonly expired: boolean;
    }
  /** CHANGE_CONSUMER_GROUP_COORDINATOR (14): skipped when the group epoch is >= the op's index. */
  | {
      readonly op: "change_consumer_group_coordinator";
      readonly groupId: string;
      readonly coordinator: string;
    };

/** Why a group op was refused (checked before proposing, re-checked at apply). */
export type ConsumerGroupError =
  | "group_exists"
  | "no_such_group"
  | "already_member"
  | "not_member"
  | "no_such_stream";

/** Result of checking or applying a group op. */
export type ConsumerGroupResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: ConsumerGroupError };

/** Tells whether `op` is one of the {@link ConsumerGroupOp}s. */
export function isConsumerGroupOp(op: { readonly op: string }): op is ConsumerGroupOp {
  return (
    op.op === "create_consumer_group" ||
    op.op === "join_consumer_group" ||
    op.op === "leave_consumer_group" ||
    op.op === "change_consumer_group_coordinator"
  );
}

/** Number of partitions of a stream, or `undefined` when it does not exist. */
export type PartitionCountOf = (stream: string) => number | undefined;

const OK: ConsumerGroupResult = { ok: true };
const refuse = (reason: ConsumerGroupError): ConsumerGroupResult => ({ ok: false, reason });

/** Total number of partitions assigned to a member, across all its streams. */
export function assignedCount(m: GroupMember): number {
  let n = 0;
  for (const a of m.assignments) n += a.partitions.length;
  return n;
}

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Reassigns every partition of each of `streams` (in sorted order) from scratch (spec §6.8): first the
 * stream's current assignments are dropped, then partitions 0..N-1 go one by one to the subscribed
 * member with the fewest assigned partitions (counted across all its streams), ties broken by the
 * smaller consumer id. A stream that no longer exists is only cleared.
 */
export function rebalance(
  group: ConsumerGroupState,
  streams: Iterable<string>,
  partitionCount: PartitionCountOf,
): void {
  for (const stream of [...new Set(streams)].sort(byId)) {
    for (const m of group.members) m.assignments = m.assignments.filter((a) => a.stream !== stream);
    const n = partitionCount(stream) ?? 0;
    const subscribers = group.members.filter((m) => m.streams.includes(stream));
    if (n === 0 || subscribers.length === 0) continue;
    const counts = new Map(subscribers.map((m) => [m.id, assignedCount(m)]));
    const given = new Map<string, number[]>();
    for (let p = 0; p < n; p++) {
      let best: GroupMember | undefined;
      for (const m of subscribers) {
        if (
          best === undefined ||
          counts.get(m.id)! < counts.get(best.id)! ||
          (counts.get(m.id) === counts.get(best.id) && m.id < best.id)
        )
          best = m;
      }
      counts.set(best!.id, counts.get(best!.id)! + 1);
      const list = given.get(best!.id);
      if (list === undefined) given.set(best!.id, [p]);
      else list.push(p);
    }
    for (const m of subscribers) {
      const partitions = given.get(m.id);
      if (partitions === undefined) continue;
      m.assignments.push({ stream, partitions });
      m.assignments.sort((a, b) => byId(a.stream, b.stream));
    }
  }
}

/**
 * Picks the coordinator for a new group, or the replacement of `exclude`: the broker coordinating the
 * fewest groups, ties broken by the smaller id (spec §6.8 / internals §3.8). `undefined` when there is
 * no candidate.
 */
export function pickCoordinator(
  brokers: readonly string[],
  groups: Iterable<ConsumerGroupState>,
  exclude?: string,
): string | undefined {
  const load = new Map<string, number>();
  for (const b of brokers) if (b !== exclude) load.set(b, 0);
  for (const g of groups) if (load.has(g.coordinator)) load.set(g.coordinator, load.get(g.coordinator)! + 1);
  let best: string | undefined;
  for (const [b, n] of load) {
    if (best === undefined || n < load.get(best)! || (n === load.get(best)! && b < best)) best = b;
  }
  return best;
}

/** The groups of the metadata FSM plus the apply rules of their ops. */
export class ConsumerGroups {
  readonly groups = new Map<string, ConsumerGroupState>();

  /** Checks a group op's preconditions (spec internals §3.6) without applying it. */
  check(op: ConsumerGroupOp, partitionCount: PartitionCountOf): ConsumerGroupResult {
    const g = this.groups.get(op.groupId);
    switch (op.op) {
      case "create_consumer_group":
        if (g !== undefined) return refuse("group_exists");
        return op.streams.every((s) => partitionCount(s) !== undefined) ? OK : refuse("no_such_stream");
      case "join_consumer_group":
        if (g === undefined) return refuse("no_such_group");
        if (g.members.some((m) => m.id === op.consumerId)) return refuse("already_member");
        return op.streams.every((s) => partitionCount(s) !== undefined) ? OK : refuse("no_such_stream");
      case "leave_consumer_group":
        if (g === undefined) return refuse("no_such_group");
        return g.members.some((m) => m.id === op.consumerId) ? OK : refuse("not_member");
      case "change_consumer_group_coordinator":
        return g === undefined ? refuse("no_such_group") : OK;
    }
  }

  /**
   * Applies a group op committed at Raft `index`. Ops whose preconditions fail are skipped with the
   * reason; join, leave and coordinator changes at an index <= the group epoch are skipped as already
   * applied (idempotent replay, spec internals §3.2). Returns the touched group id in `changed` when
   * the state changed.
   */
  apply(
    index: number,
    op: ConsumerGroupOp,
    partitionCount: PartitionCountOf,
  ): ConsumerGroupResult & { readonly changed?: string } {
    const pre = this.check(op, partitionCount);
    if (!pre.ok) return pre;
    const g = this.groups.get(op.groupId);
    if (op.op === "create_consumer_group") {
      const group: ConsumerGroupState = {
        id: op.groupId,
        coordinator: op.coordinator,
        epoch: 0,
        members: [{ id: op.consumerId, streams: [...new Set(op.streams)], assignments: [] }],
      };
      rebalance(group, group.members[0]!.streams, partitionCount);
      this.groups.set(op.groupId, group);
      return { ok: true, changed: op.groupId };
    }
    if (g === undefined || g.epoch >= index) return OK;
    switch (op.op) {
      case "join_consumer_group": {
        const member: GroupMember = { id: op.consumerId, streams: [...new Set(op.streams)], assignments: [] };
        g.members.push(member);
        g.epoch = index;
        rebalance(g, member.streams, partitionCount);
        break;
      }
      case "leave_consumer_group": {
        const member = g.members.find((m) => m.id === op.consumerId)!;
        g.members = g.members.filter((m) => m !== member);
        g.epoch = index;
        if (g.members.length === 0) this.groups.delete(g.id);
        else rebalance(g, member.streams, partitionCount);
        break;
      }
      case "change_consumer_group_coordinator":
        g.coordinator = op.coordinator;
        g.epoch = index;
        break;
    }
    return { ok: true, changed: op.groupId };
  }

  /**
   * A stream was deleted at `index` (DELETE_STREAM): it is removed from its subscribers, their other
   * streams are rebalanced and the group epoch becomes `index`. Returns the ids of the touched groups.
   */
  streamDeleted(index: number, stream: string, partitionCount: PartitionCountOf): string[] {
    const touched: string[] = [];
    for (const g of this.groups.values()) {
      const affected = g.members.filter((m) => m.streams.includes(stream));
      if (affected.length === 0) continue;
      const others = new Set<string>();
      for (const m of affected) {
        m.streams = m.streams.filter((s) => s !== stream);
        m.assignments = m.assignments.filter((a) => a.stream !== stream);
        for (const s of m.streams) others.add(s);
      }
      rebalance(g, others, partitionCount);
      g.epoch = Math.max(g.epoch, index);
      touched.push(g.id);
    }
    return touched;
  }

  /**
   * A stream was created at `index`: members that list it (only possible for state carried over from
   * elsewhere, as a deletion removes the stream from its members) get its partitions assigned.
   */
  streamCreated(index: number, stream: string, partitionCount: PartitionCountOf): string[] {
    const touched: string[] = [];
    for (const g of this.groups.values()) {
      if (!g.members.some((m) => m.streams.includes(stream))) continue;
      rebalance(g, [stream], partitionCount);
      g.epoch = Math.max(g.epoch, index);
      touched.push(g.id);
    }
    return touched;
  }

  /** The member's assignments, or `undefined` when the group or member does not exist. */
  assignments(groupId: string, consumerId: string): readonly GroupAssignment[] | undefined {
    return this.groups.get(groupId)?.members.find((m) => m.id === consumerId)?.assignments;
  }

  /** The groups as plain JSON-able values (part of the metadata snapshot). */
  toJSON(): ConsumerGroupState[] {
    return [...this.groups.values()];
  }

  /** Replaces the groups with a list made by {@link toJSON}. */
  restore(groups: readonly ConsumerGroupState[] | undefined): void {
    this.groups.clear();
    for (const g of groups ?? []) this.groups.set(g.id, g);
  }
}
