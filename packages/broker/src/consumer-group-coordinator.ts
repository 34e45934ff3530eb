/**
 * The moving parts of consumer groups on a broker (spec internals §3.8, §5.7): member liveness timers
 * on the coordinator (a member that stops fetching assignments is removed with
 * `leave_consumer_group{expired: true}`), coordinator failure reports, and the per-partition fence
 * that keeps one subscriber per (group, partition). Time comes from an injected {@link BrokerClock}.
 * @module
 */

import { type BrokerClock, systemBrokerClock, type TimerHandle } from "./clock.js";
import { type ConsumerGroupOp, type ConsumerGroupState, pickCoordinator } from "./consumer-groups.js";
import type { Logger } from "./logger.js";
import type { ApplyResult } from "./metadata.js";

/** Consumer-group settings of a broker (`groups.*`, spec §4.3). Defaults in {@link DEFAULT_GROUP_OPTIONS}. */
export interface ConsumerGroupOptions {
  /** `groups.consumer.timeout`: a member silent this long is removed. Default 15000 ms. */
  readonly consumerTimeoutMs: number;
  /** `groups.coordinator.timeout`: members report the coordinator after this long. Default 15000 ms. */
  readonly coordinatorTimeoutMs: number;
  /** Timer source. Default: the broker's `clock` ({@link systemBrokerClock}). */
  readonly clock: BrokerClock;
}

/** Default {@link ConsumerGroupOptions} (spec §4.3: 15 s and 15 s). */
export const DEFAULT_GROUP_OPTIONS: ConsumerGroupOptions = {
  consumerTimeoutMs: 15_000,
  coordinatorTimeoutMs: 15_000,
  clock: systemBrokerClock,
};

/** What the coordinator needs from its broker. */
export interface GroupCoordinatorHost {
  readonly serverId: string;
  readonly logger: Logger;
  /** The replicated groups (read-only view of the FSM). */
  groups(): ReadonlyMap<string, ConsumerGroupState>;
  /** Every broker of the cluster (placement candidates). */
  brokers(): readonly string[];
  /** Proposes a group op after checking its preconditions; resolves once applied. */
  propose(op: ConsumerGroupOp): Promise<ApplyResult>;
}

/** Outcome of a coordinator report. */
export type CoordinatorReportOutcome =
  /** Recorded; not enough members reported yet. */
  | { readonly kind: "recorded"; readonly witnesses: number }
  /** A majority reported: the coordinator was changed to `coordinator`. */
  | { readonly kind: "changed"; readonly coordinator: string }
  /** A majority reported but no other broker can coordinate. */
  | { readonly kind: "no_candidates" };

/**
 * Member liveness and coordinator failover for the groups this broker coordinates. Driven by FSM
 * effects ({@link groupChanged}) and by the API ({@link heartbeat}, {@link report}). Single event loop;
 * timers never overlap an apply.
 */
export class ConsumerGroupCoordinator {
  readonly options: ConsumerGroupOptions;
  readonly #host: GroupCoordinatorHost;
  readonly #log: Logger;
  /** groupId -> consumerId -> expiry timer (only for groups coordinated here). */
  readonly #timers = new Map<string, Map<string, TimerHandle>>();
  /** groupId -> reporting members + the timer that forgets them. */
  readonly #reports = new Map<string, { witnesses: Set<string>; epoch: number; timer: TimerHandle }>();
  readonly #pending = new Set<Promise<void>>();
  #started = false;
  #closed = false;

  constructor(host: GroupCoordinatorHost, options: ConsumerGroupOptions) {
    this.#host = host;
    this.options = options;
    this.#log = host.logger.child({ component: "groups", nodeId: host.serverId });
  }

  /** Starts the member timers of every recovered group coordinated here (after FSM recovery). */
  start(): void {
    this.#started = true;
    for (const [id, g] of this.#host.groups()) this.groupChanged(id, g);
  }

  /**
   * FSM effect: a group changed (`undefined` = deleted). Coordinated here: new members get a fresh
   * timer, removed members lose theirs. Coordinated elsewhere (or deleted): all timers stop.
   */
  groupChanged(groupId: string, group: ConsumerGroupState | undefined): void {
    const report = this.#reports.get(groupId);
    if (report !== undefined && (group === undefined || group.epoch !== report.epoch)) {
      report.timer.cancel();
      this.#reports.delete(groupId);
    }
    if (!this.#started || this.#closed) return;
    const timers = this.#timers.get(groupId) ?? new Map<string, TimerHandle>();
    if (group === undefined || group.coordinator !== this.#host.serverId) {
      for (const t of timers.values()) t.cancel();
      this.#timers.delete(groupId);
      return;
    }
    const members = new Set(group.members.map((m) => m.id));
    for (const [id, t] of timers) {
      if (members.has(id)) continue;
      t.cancel();
      timers.delete(id);
    }
    for (const id of members) if (!timers.has(id)) timers.set(id, this.#arm(groupId, id));
    this.#timers.set(groupId, timers);
  }

  /** A member fetched its assignments: restarts its expiry timer (when coordinated here). */
  heartbeat(groupId: string, consumerId: string): void {
    const timers = this.#timers.get(groupId);
    const t = timers?.get(consumerId);
    if (timers === undefined || t === undefined) return;
    t.cancel();
    timers.set(consumerId, this.#arm(groupId, consumerId));
  }

  #arm(groupId: string, consumerId: string, ms = this.options.consumerTimeoutMs): TimerHandle {
    return this.options.clock.setTimer(ms, () => this.#expire(groupId, consumerId));
  }

  /** The member missed its heartbeats: propose its removal; retry while it stays a member. */
  #expire(groupId: string, consumerId: string): void {
    if (this.#closed) return;
    this.#log.info({ group: groupId, consumer: consumerId }, "consumer group member expired");
    const p = this.#host
      .propose({ op: "leave_consumer_group", groupId, consumerId, expired: true })
      .then(
        (res) => {
          if (!res.ok) this.#forget(groupId, consumerId); // already gone
        },
        (err: unknown) => {
          if (this.#closed) return;
          this.#log.warn({ err, group: groupId, consumer: consumerId }, "expiring member failed; retrying");
          const timers = this.#timers.get(groupId);
          if (timers?.has(consumerId)) {
            timers.set(
              consumerId,
              this.#arm(groupId, consumerId, Math.min(1000, this.options.consumerTimeoutMs)),
            );
          }
        },
      )
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  #forget(groupId: string, consumerId: string): void {
    const timers = this.#timers.get(groupId);
    timers?.get(consumerId)?.cancel();
    timers?.delete(consumerId);
  }

  /**
   * A member reports the coordinator as failed (already validated: the group exists, the member
   * belongs to it, and coordinator and epoch match). Witnesses are forgotten `coordinatorTimeoutMs`
   * after the last report; when more than half the members (`witnesses > floor(members / 2)`) reported,
   * the broker with the lowest coordinator load other than the failed one becomes coordinator.
   */
  async report(group: ConsumerGroupState, consumerId: string): Promise<CoordinatorReportOutcome> {
    let r = this.#reports.get(group.id);
    if (r === undefined) {
      r = {
        witnesses: new Set(),
        epoch: group.epoch,
        timer: { cancel: () => {} },
      };
      this.#reports.set(group.id, r);
    }
    r.witnesses.add(consumerId);
    r.timer.cancel();
    const entry = r;
    r.timer = this.options.clock.setTimer(this.options.coordinatorTimeoutMs, () => {
      if (this.#reports.get(group.id) === entry) this.#reports.delete(group.id);
    });
    const quorum = Math.floor(group.members.length / 2);
    if (r.witnesses.size <= quorum) return { kind: "recorded", witnesses: r.witnesses.size };
    const next = pickCoordinator(this.#host.brokers(), this.#host.groups().values(), group.coordinator);
    if (next === undefined) return { kind: "no_candidates" };
    r.timer.cancel();
    this.#reports.delete(group.id);
    this.#log.info({ group: group.id, coordinator: next }, "consumer group coordinator changed");
    await this.#host.propose({
      op: "change_consumer_group_coordinator",
      groupId: group.id,
      coordinator: next,
    });
    return { kind: "changed", coordinator: next };
  }

  /** Stops every timer and waits for in-flight expiry proposals. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timers of this.#timers.values()) for (const t of timers.values()) t.cancel();
    this.#timers.clear();
    for (const r of this.#reports.values()) r.timer.cancel();
    this.#reports.clear();
    await Promise.allSettled([...this.#pending]);
  }
}

/** One admitted group subscriber of a partition. */
export interface GroupSubscriberSlot {
  /** Aborted when a subscriber with an equal or newer epoch replaces this one. */
  readonly signal: AbortSignal;
  /** Whether this subscriber was replaced. */
  readonly fenced: boolean;
  /** Frees the slot when the subscription ends (no-op when replaced). */
  release(): void;
}

/**
 * The subscription fence of spec internals §5.7: at most one subscriber per (group, stream, partition)
 * on this broker. A subscriber with a group epoch >= the current one replaces it (the old one's signal
 * aborts); a lower epoch is refused. The assignment table is not consulted (as upstream).
 */
export class GroupSubscriberFence {
  readonly #slots = new Map<string, { epoch: number; ac: AbortController }>();

  /** Admits a subscriber, or returns `undefined` when a newer epoch holds the partition. */
  admit(groupId: string, stream: string, partition: number, epoch: number): GroupSubscriberSlot | undefined {
    const key = `${groupId}\u0000${stream}\u0000${partition}`;
    const cur = this.#slots.get(key);
    if (cur !== undefined && epoch < cur.epoch) return undefined;
    cur?.ac.abort();
    const entry = { epoch, ac: new AbortController() };
    this.#slots.set(key, entry);
    const slots = this.#slots;
    return {
      signal: entry.ac.signal,
      get fenced() {
        return entry.ac.signal.aborted;
      },
      release() {
        if (slots.get(key) === entry) slots.delete(key);
      },
    };
  }

  /**
   * The group was deleted (its last member left or expired): its remaining subscribers are closed and
   * their slots freed, so a re-created group (epoch 0 again) is not refused by a stale higher epoch.
   */
  dropGroup(groupId: string): void {
    const prefix = `${groupId}\u0000`;
    for (const [key, slot] of this.#slots) {
      if (!key.startsWith(prefix)) continue;
      this.#slots.delete(key);
      slot.ac.abort();
    }
  }

  /** Number of live slots (for tests and metrics). */
  get size(): number {
    return this.#slots.size;
  }
}
