/**
 * The activity stream (spec internals §5.5, API spec §2.3 "Activity-stream payload messages"): when
 * `activity.stream.enabled`, the metadata leader creates the internal `__activity` stream (subject
 * `<ns>.activity`, one partition, every server a replica) and publishes one {@link ActivityStreamEvent}
 * per metadata operation, in Raft order, with `id` = the Raft index of the operation.
 *
 * Delivery is at least once: after an event is acked, the dispatcher proposes `publish_activity`
 * (PUBLISH_ACTIVITY) with its index, so the last published index is replicated state and a restarted
 * (or newly elected) leader resumes right after it. An event published but not yet recorded when the
 * server stops is published again, with the same `id`: consumers drop ids they have already seen.
 *
 * The mapping from ops to events ({@link toActivityEvent}) is pure; the dispatcher
 * ({@link ActivityDispatcher}) only talks to an {@link ActivityHost}, so it runs against a fake in
 * unit tests and against the broker ({@link createBrokerActivityHost}) in production.
 * @module
 */
import {
  AckError,
  AckPolicy,
  ActivityStreamEvent,
  ActivityStreamOp,
  encodePublish,
  type JoinConsumerGroupOpInit,
  type LeaveConsumerGroupOpInit,
} from "@liftbridge/api";
import type { BrokerCore } from "./broker.js";
import { BrokerError, BrokerErrorCode, isBrokerError } from "./errors.js";
import type { Logger } from "./logger.js";
import type { ApplyResult, MetadataOp } from "./metadata.js";
import { nowNs, partitionSubject } from "./util.js";

/** Name of the internal activity stream (reserved: the API refuses to create or delete it). */
export const ACTIVITY_STREAM = "__activity";

/** The subject of the activity stream in namespace `namespace`: `<ns>.activity` (spec §2.6). */
export function activitySubject(namespace: string): string {
  return `${namespace}.activity`;
}

/** Ack policies of `activity.stream.publish.ack.policy`. */
export type ActivityAckPolicy = "none" | "leader" | "all";

/** Settings of the activity stream (`activity.stream.*`, API spec §4.3). */
export interface ActivityOptions {
  /** `activity.stream.enabled`: create `__activity` and publish events. Default false. */
  readonly enabled: boolean;
  /** `activity.stream.publish.timeout`: ack wait per event publish. Default 5000 ms. */
  readonly publishTimeoutMs: number;
  /** `activity.stream.publish.ack.policy`. Default `all`. */
  readonly publishAckPolicy: ActivityAckPolicy;
}

/** Defaults of {@link ActivityOptions} (upstream's: disabled, 5 s, `all`). */
export const DEFAULT_ACTIVITY_OPTIONS: ActivityOptions = {
  enabled: false,
  publishTimeoutMs: 5000,
  publishAckPolicy: "all",
};

/** First retry delay after a failed publish, then doubled up to {@link ACTIVITY_MAX_BACKOFF_MS}. */
export const ACTIVITY_MIN_BACKOFF_MS = 1000;
/** Longest retry delay of a failed publish (spec internals §5.5 step 7). */
export const ACTIVITY_MAX_BACKOFF_MS = 10_000;

/**
 * Applies defaults to partial activity settings. Throws `invalid_argument` for a timeout that is not
 * a positive safe integer or an unknown ack policy.
 */
export function resolveActivityOptions(o: Partial<ActivityOptions> | undefined): ActivityOptions {
  const r: ActivityOptions = { ...DEFAULT_ACTIVITY_OPTIONS, ...o };
  if (!Number.isSafeInteger(r.publishTimeoutMs) || r.publishTimeoutMs < 1) {
    throw new BrokerError(BrokerErrorCode.InvalidArgument, "activity publishTimeoutMs must be >= 1");
  }
  if (!["none", "leader", "all"].includes(r.publishAckPolicy)) {
    throw new BrokerError(
      BrokerErrorCode.InvalidArgument,
      "activity publishAckPolicy must be none, leader or all",
    );
  }
  return r;
}

const ACK_POLICY: Record<ActivityAckPolicy, AckPolicy> = {
  none: AckPolicy.NONE,
  leader: AckPolicy.LEADER,
  all: AckPolicy.ALL,
};

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * The activity event of the metadata op committed at Raft `index` (spec internals §5.5 table), or
 * `undefined` for ops that have no event (PUBLISH_ACTIVITY, and any op this function does not know,
 * such as leader or ISR changes). Pure.
 *
 * Partition lists are the op's own. The API lists every partition when a pause or set-readonly
 * request names none (as upstream); an empty list, possible only in older logs, means all of them. Events of the `__activity` and `__cursors` streams'
 * own creation are reported like any other (upstream does the same).
 */
export function toActivityEvent(index: number, op: MetadataOp): ActivityStreamEvent | undefined {
  switch (op.op) {
    case "create_stream":
      return ActivityStreamEvent.create({
        id: index,
        op: ActivityStreamOp.CREATE_STREAM,
        createStreamOp: { stream: op.name, partitions: range(op.partitions) },
      });
    case "delete_stream":
      return ActivityStreamEvent.create({
        id: index,
        op: ActivityStreamOp.DELETE_STREAM,
        deleteStreamOp: { stream: op.name },
      });
    case "pause_stream":
      return ActivityStreamEvent.create({
        id: index,
        op: ActivityStreamOp.PAUSE_STREAM,
        pauseStreamOp: { stream: op.name, partitions: [...op.partitions], resumeAll: op.resumeAll },
      });
    case "resume_stream":
      return ActivityStreamEvent.create({
        id: index,
        op: ActivityStreamOp.RESUME_STREAM,
        resumeStreamOp: { stream: op.name, partitions: [...op.partitions] },
      });
    case "set_stream_readonly":
      return ActivityStreamEvent.create({
        id: index,
        op: ActivityStreamOp.SET_STREAM_READONLY,
        setStreamReadonlyOp: { stream: op.name, partitions: [...op.partitions], readonly: op.readonly },
      });
    case "create_consumer_group": // reported as the first member's join (spec internals §5.5)
    case "join_consumer_group":
      return joinConsumerGroupEvent(index, op);
    case "leave_consumer_group":
      return leaveConsumerGroupEvent(index, op);
    default:
      return undefined;
  }
}

/**
 * The JOIN_CONSUMER_GROUP event of a member joining at Raft `index`. Also the event of a group's
 * creation (reported as the first member's join, spec internals §5.5). Pure.
 */
export function joinConsumerGroupEvent(
  index: number,
  join: Pick<Required<JoinConsumerGroupOpInit>, "groupId" | "consumerId"> & {
    readonly streams: readonly string[];
  },
): ActivityStreamEvent {
  return ActivityStreamEvent.create({
    id: index,
    op: ActivityStreamOp.JOIN_CONSUMER_GROUP,
    joinConsumerGroupOp: { groupId: join.groupId, consumerId: join.consumerId, streams: [...join.streams] },
  });
}

/**
 * The LEAVE_CONSUMER_GROUP event of a member leaving at Raft `index`; `expired` is true when the
 * coordinator removed it for missing heartbeats. Pure.
 */
export function leaveConsumerGroupEvent(
  index: number,
  leave: Required<Pick<LeaveConsumerGroupOpInit, "groupId" | "consumerId" | "expired">>,
): ActivityStreamEvent {
  return ActivityStreamEvent.create({
    id: index,
    op: ActivityStreamOp.LEAVE_CONSUMER_GROUP,
    leaveConsumerGroupOp: { groupId: leave.groupId, consumerId: leave.consumerId, expired: leave.expired },
  });
}

/** What the dispatcher needs from the broker (the metadata leader). */
export interface ActivityHost {
  /** The settings in force (logged when the dispatcher starts). */
  readonly options: ActivityOptions;
  /** Raft index recorded by the last applied PUBLISH_ACTIVITY; 0 = none. */
  readonly lastPublishedIndex: number;
  /** Index of the last applied metadata entry. */
  readonly appliedIndex: number;
  /** Index of the first entry still in the Raft log. */
  readonly firstIndex: number;
  /** The op at `index` (≤ {@link appliedIndex}); `undefined` = no command, `null` = compacted. */
  entryOp(index: number): MetadataOp | null | undefined;
  /** Creates `__activity` unless it exists (AlreadyExists is fine). */
  ensureStream(): Promise<void>;
  /** Publishes one encoded event; resolves once acked under the configured policy. */
  publish(event: Uint8Array, id: number, signal: AbortSignal): Promise<void>;
  /** Proposes PUBLISH_ACTIVITY{index}; resolves once applied. */
  recordPublished(index: number): Promise<void>;
  /** Waits `ms` (backoff between retries); resolves early when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/**
 * The dispatcher: one loop on the metadata leader that turns every applied op into an event, in Raft
 * order, head-of-line blocking on failures (the same event is retried with a 1 s .. 10 s backoff).
 * {@link applied} must be called for every applied entry, during recovery too.
 * Concurrency: one event loop; {@link start} and {@link stop} are idempotent.
 */
export class ActivityDispatcher {
  readonly #host: ActivityHost;
  readonly #log: Logger;
  /** Indexes whose op was skipped by the FSM (failed preconditions): they get no event. */
  readonly #skipped = new Set<number>();
  #wake: (() => void) | undefined;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #next = 0;

  constructor(host: ActivityHost, logger: Logger) {
    this.#host = host;
    this.#log = logger;
  }

  /** The next Raft index the dispatcher will look at (0 before {@link start}). */
  get nextIndex(): number {
    return this.#next;
  }

  /** Apply hook: remembers skipped ops and wakes the loop. Never throws. */
  applied(index: number, op: MetadataOp, result: ApplyResult): void {
    if (!result.ok) this.#skipped.add(index);
    if (op.op === "publish_activity")
      for (const i of this.#skipped) if (i <= op.index) this.#skipped.delete(i);
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /** Starts the loop (on gaining metadata leadership). */
  start(): void {
    if (this.#loop !== undefined) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#loop = this.#run(abort.signal).catch((err: unknown) => {
      if (!abort.signal.aborted) this.#log.error({ err }, "activity dispatcher stopped");
    });
  }

  /** Stops the loop (on losing leadership or closing) and waits for it. */
  async stop(): Promise<void> {
    this.#abort?.abort();
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
    await this.#loop;
    this.#loop = undefined;
    this.#abort = undefined;
  }

  async #retry(what: string, signal: AbortSignal, fn: () => Promise<void>): Promise<void> {
    let backoff = ACTIVITY_MIN_BACKOFF_MS;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (signal.aborted || isBrokerError(err, BrokerErrorCode.Closed)) throw err;
        this.#log.warn({ err, backoffMs: backoff }, what);
        await this.#host.sleep(backoff, signal);
        if (signal.aborted) throw err;
        backoff = Math.min(backoff * 2, ACTIVITY_MAX_BACKOFF_MS);
      }
    }
  }

  async #run(signal: AbortSignal): Promise<void> {
    const h = this.#host;
    await this.#retry("activity stream creation failed", signal, () => h.ensureStream());
    this.#next = h.lastPublishedIndex + 1;
    this.#log.info(
      { index: this.#next, ackPolicy: h.options.publishAckPolicy, timeoutMs: h.options.publishTimeoutMs },
      "activity dispatcher started",
    );
    while (!signal.aborted) {
      const index = this.#next;
      if (index > h.appliedIndex) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          if (signal.aborted || index <= h.appliedIndex) {
            this.#wake = undefined;
            resolve();
          }
        });
        continue;
      }
      const op = h.entryOp(index);
      if (op === null) {
        // Compacted before it was published: those events are gone (the dispatcher lagged by more
        // than the entries kept after a snapshot).
        const first = h.firstIndex;
        this.#log.error({ index, first }, "activity events compacted before publishing");
        for (const i of this.#skipped) if (i < first) this.#skipped.delete(i);
        this.#next = Math.max(first, index + 1);
        continue;
      }
      const event = op === undefined || this.#skipped.has(index) ? undefined : toActivityEvent(index, op);
      if (event !== undefined) {
        const bytes = ActivityStreamEvent.encode(event);
        await this.#retry("activity event publish failed", signal, async () => {
          await h.publish(bytes, index, signal);
          await h.recordPublished(index);
        });
      }
      this.#skipped.delete(index);
      this.#next = index + 1;
    }
  }
}

/**
 * The {@link ActivityHost} of a broker (`getCore` is called lazily: the dispatcher exists before the
 * broker so that it hears the applies of recovery): Raft state and log from its metadata group, publishes through
 * the NATS envelope path every API publish takes (resuming `__activity` first if it was paused).
 * @internal
 */
export function createBrokerActivityHost(getCore: () => BrokerCore, options: ActivityOptions): ActivityHost {
  const policy = ACK_POLICY[options.publishAckPolicy];
  return {
    options,
    get lastPublishedIndex() {
      return getCore().raft.state.lastActivityIndex;
    },
    get appliedIndex() {
      return getCore().raft.applied;
    },
    get firstIndex() {
      return getCore().raft.firstIndex;
    },
    entryOp: (index) => getCore().raft.entryOp(index),
    async ensureStream() {
      const core = getCore();
      const id = core.options.serverId;
      const res = await core.propose({
        op: "create_stream",
        name: ACTIVITY_STREAM,
        subject: activitySubject(core.options.namespace),
        group: "",
        partitions: 1,
        replicationFactor: core.clusterSize,
        replicas: [id],
        leader: id,
        config: {},
        creationTimestamp: nowNs().toString(),
      });
      if (!res.ok && res.reason !== "stream_exists") {
        throw new BrokerError(BrokerErrorCode.Raft, `cannot create ${ACTIVITY_STREAM}: ${res.reason}`);
      }
    },
    async publish(event, id, signal) {
      const core = getCore();
      const s = core.stream(ACTIVITY_STREAM);
      const p = s?.partitions[0];
      if (s === undefined || p === undefined) {
        throw new BrokerError(BrokerErrorCode.NoSuchStream, `${ACTIVITY_STREAM} does not exist`);
      }
      if (p.paused) {
        await core.propose({
          op: "resume_stream",
          name: s.name,
          partitions: [0],
          timestamp: nowNs().toString(),
        });
      }
      const subject = partitionSubject(s.subject, 0);
      const correlationId = String(id);
      if (policy === AckPolicy.NONE) {
        core.options.nats.publish(subject, encodePublish({ value: event, correlationId, ackPolicy: policy }));
        return;
      }
      const inbox = core.newAckInbox();
      const data = encodePublish({ value: event, ackInbox: inbox, correlationId, ackPolicy: policy });
      await new Promise<void>((resolve, reject) => {
        const finish = (err: Error | undefined): void => {
          clearTimeout(timer);
          off();
          signal.removeEventListener("abort", onAbort);
          if (err === undefined) resolve();
          else reject(err);
        };
        const onAbort = (): void =>
          finish(new BrokerError(BrokerErrorCode.Closed, "activity dispatcher stopped"));
        const timer = setTimeout(
          () => finish(new BrokerError(BrokerErrorCode.Timeout, "timed out waiting for activity event ack")),
          options.publishTimeoutMs,
        );
        const off = core.onAck(inbox, (ack) =>
          finish(
            ack.ackError === AckError.OK
              ? undefined
              : new BrokerError(BrokerErrorCode.Io, `activity event rejected (ack error ${ack.ackError})`),
          ),
        );
        signal.addEventListener("abort", onAbort);
        if (signal.aborted) return onAbort();
        core.options.nats.publish(subject, data);
      });
    },
    async recordPublished(index) {
      await getCore().propose({ op: "publish_activity", index });
    },
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal.addEventListener("abort", done);
        if (signal.aborted) done();
      }),
  };
}
