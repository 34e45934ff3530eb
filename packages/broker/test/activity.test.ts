import { ActivityStreamEvent, ActivityStreamOp } from "@liftbridge/api";
import { describe, expect, it, vi } from "vitest";
import type { ApplyResult, MetadataOp } from "../src/index.js";
import {
  ActivityDispatcher,
  type ActivityHost,
  DEFAULT_ACTIVITY_OPTIONS,
  isBrokerError,
  joinConsumerGroupEvent,
  leaveConsumerGroupEvent,
  noopLogger,
  resolveActivityOptions,
  toActivityEvent,
} from "../src/index.js";
import { MetadataState } from "../src/metadata.js";
import { createStreamOp } from "./ops.js";

const create = createStreamOp;

describe("toActivityEvent (spec internals §5.5 table)", () => {
  it.each<[MetadataOp, Partial<ActivityStreamEvent>]>([
    [
      create("a", 3),
      { op: ActivityStreamOp.CREATE_STREAM, createStreamOp: { stream: "a", partitions: [0, 1, 2] } },
    ],
    [
      { op: "delete_stream", name: "a" },
      { op: ActivityStreamOp.DELETE_STREAM, deleteStreamOp: { stream: "a" } },
    ],
    [
      { op: "pause_stream", name: "a", partitions: [2], resumeAll: true, timestamp: "5" },
      { op: ActivityStreamOp.PAUSE_STREAM, pauseStreamOp: { stream: "a", partitions: [2], resumeAll: true } },
    ],
    [
      { op: "resume_stream", name: "a", partitions: [], timestamp: "5" },
      { op: ActivityStreamOp.RESUME_STREAM, resumeStreamOp: { stream: "a", partitions: [] } },
    ],
    [
      { op: "set_stream_readonly", name: "a", partitions: [0, 1], readonly: true, timestamp: "5" },
      {
        op: ActivityStreamOp.SET_STREAM_READONLY,
        setStreamReadonlyOp: { stream: "a", partitions: [0, 1], readonly: true },
      },
    ],
    [
      { op: "create_consumer_group", groupId: "g", consumerId: "c1", streams: ["a"], coordinator: "s1" },
      {
        op: ActivityStreamOp.JOIN_CONSUMER_GROUP,
        joinConsumerGroupOp: { groupId: "g", consumerId: "c1", streams: ["a"] },
      },
    ],
    [
      { op: "join_consumer_group", groupId: "g", consumerId: "c2", streams: ["a", "b"] },
      {
        op: ActivityStreamOp.JOIN_CONSUMER_GROUP,
        joinConsumerGroupOp: { groupId: "g", consumerId: "c2", streams: ["a", "b"] },
      },
    ],
    [
      { op: "leave_consumer_group", groupId: "g", consumerId: "c2", expired: true },
      {
        op: ActivityStreamOp.LEAVE_CONSUMER_GROUP,
        leaveConsumerGroupOp: { groupId: "g", consumerId: "c2", expired: true },
      },
    ],
  ])("%j", (op, expected) => {
    const e = toActivityEvent(42, op)!;
    expect(e).toEqual(ActivityStreamEvent.create({ id: 42, ...expected }));
    // Exactly one op field is set, and the event survives the wire.
    const set = Object.entries(e).filter(([k, v]) => k.endsWith("Op") && v !== undefined);
    expect(set).toHaveLength(1);
    expect(ActivityStreamEvent.decode(ActivityStreamEvent.encode(e))).toEqual(e);
  });

  it("has no event for PUBLISH_ACTIVITY or ops it does not know", () => {
    expect(toActivityEvent(3, { op: "publish_activity", index: 2 })).toBeUndefined();
    const unknown = { op: "change_leader", name: "a" } as unknown as MetadataOp;
    expect(toActivityEvent(4, unknown)).toBeUndefined();
    expect(
      toActivityEvent(5, { op: "change_consumer_group_coordinator", groupId: "g", coordinator: "s2" }),
    ).toBeUndefined();
  });

  it("encodes consumer-group joins and leaves", () => {
    const j = joinConsumerGroupEvent(7, { groupId: "g", consumerId: "c1", streams: ["a", "b"] });
    expect(ActivityStreamEvent.decode(ActivityStreamEvent.encode(j))).toEqual(
      ActivityStreamEvent.create({
        id: 7,
        op: ActivityStreamOp.JOIN_CONSUMER_GROUP,
        joinConsumerGroupOp: { groupId: "g", consumerId: "c1", streams: ["a", "b"] },
      }),
    );
    const l = leaveConsumerGroupEvent(8, { groupId: "g", consumerId: "c1", expired: true });
    expect(ActivityStreamEvent.decode(ActivityStreamEvent.encode(l))).toEqual(
      ActivityStreamEvent.create({
        id: 8,
        op: ActivityStreamOp.LEAVE_CONSUMER_GROUP,
        leaveConsumerGroupOp: { groupId: "g", consumerId: "c1", expired: true },
      }),
    );
  });
});

describe("PUBLISH_ACTIVITY in the metadata FSM", () => {
  it("records the last published index, never backwards, and keeps it in snapshots", () => {
    const st = new MetadataState();
    expect(st.lastActivityIndex).toBe(0);
    expect(st.check({ op: "publish_activity", index: 3 })).toEqual({ ok: true });
    expect(st.apply(4, { op: "publish_activity", index: 3 })).toEqual({ ok: true });
    st.apply(5, create("a"));
    expect(st.apply(6, { op: "publish_activity", index: 2 })).toEqual({ ok: true });
    expect(st.lastActivityIndex).toBe(3);
    const copy = new MetadataState();
    copy.restore(st.toSnapshot());
    expect(copy.lastActivityIndex).toBe(3);
    expect([...copy.streams.keys()]).toEqual(["a"]);
    // Snapshots written before the activity stream existed restore to 0.
    copy.restore(Buffer.from(JSON.stringify({ streams: [] })));
    expect(copy.lastActivityIndex).toBe(0);
    copy.restore(new Uint8Array(0));
    expect(copy.lastActivityIndex).toBe(0);
  });
});

describe("resolveActivityOptions", () => {
  it("defaults to disabled, 5 s, ack policy all", () => {
    expect(resolveActivityOptions(undefined)).toEqual({
      enabled: false,
      publishTimeoutMs: 5000,
      publishAckPolicy: "all",
    });
    expect(DEFAULT_ACTIVITY_OPTIONS.enabled).toBe(false);
  });

  it.each([{ publishTimeoutMs: 0 }, { publishTimeoutMs: 1.5 }, { publishAckPolicy: "most" as "all" }])(
    "rejects %j",
    (o) => {
      expect(() => resolveActivityOptions(o)).toThrowError(
        expect.objectContaining({ code: "invalid_argument" }) as Error,
      );
      try {
        resolveActivityOptions(o);
      } catch (e) {
        expect(isBrokerError(e, "invalid_argument")).toBe(true);
      }
    },
  );
});

/** A Raft log + FSM in an array, with a publish target that can be told to fail. */
function fakeHost(
  initial: (MetadataOp | undefined)[],
  opts: { lastPublished?: number; first?: number } = {},
) {
  const log: (MetadataOp | undefined)[] = [undefined, ...initial]; // log[i] = entry i (1-based)
  let dispatcher: ActivityDispatcher | undefined;
  const h = {
    lastPublished: opts.lastPublished ?? 0,
    first: opts.first ?? 1,
    published: [] as number[],
    sleeps: [] as number[],
    failPublish: 0,
    failRecord: 0,
    skip: new Set<number>(),
    append(op: MetadataOp | undefined): number {
      log.push(op);
      const index = log.length - 1;
      let res: ApplyResult = { ok: true };
      if (op !== undefined && h.skip.has(index)) res = { ok: false, reason: "stream_exists" };
      if (op?.op === "publish_activity") h.lastPublished = Math.max(h.lastPublished, op.index);
      if (op !== undefined) dispatcher?.applied(index, op, res);
      return index;
    },
    attach(d: ActivityDispatcher) {
      dispatcher = d;
    },
  };
  const host: ActivityHost = {
    options: DEFAULT_ACTIVITY_OPTIONS,
    get lastPublishedIndex() {
      return h.lastPublished;
    },
    get appliedIndex() {
      return log.length - 1;
    },
    get firstIndex() {
      return h.first;
    },
    entryOp: (i) => (i < h.first ? null : log[i]),
    ensureStream: async () => {},
    async publish(bytes, id) {
      expect(ActivityStreamEvent.decode(bytes).id).toBe(id);
      if (h.failPublish > 0) {
        h.failPublish--;
        throw new Error("no ack");
      }
      h.published.push(id);
    },
    async recordPublished(index) {
      if (h.failRecord > 0) {
        h.failRecord--;
        throw new Error("proposal dropped");
      }
      h.append({ op: "publish_activity", index });
    },
    async sleep(ms) {
      h.sleeps.push(ms);
    },
  };
  return { h, host };
}

describe("ActivityDispatcher", () => {
  it("publishes every event in Raft order, skips entries without one, and records each", async () => {
    const { h, host } = fakeHost([undefined, create("a"), { op: "delete_stream", name: "a" }]);
    const d = new ActivityDispatcher(host, noopLogger);
    h.attach(d);
    d.start();
    await vi.waitFor(() => expect(h.published).toEqual([2, 3]));
    // New ops wake it up; an op the FSM skipped has no event.
    h.append(undefined);
    h.skip.add(host.appliedIndex + 1);
    h.append(create("a"));
    const next = h.append({
      op: "pause_stream",
      name: "a",
      partitions: [],
      resumeAll: false,
      timestamp: "1",
    });
    await vi.waitFor(() => expect(h.published).toEqual([2, 3, next]));
    await vi.waitFor(() => expect(h.lastPublished).toBe(next));
    await d.stop();
  });

  it("resumes after the last recorded index", async () => {
    const { h, host } = fakeHost([create("a"), create("b"), create("c")], { lastPublished: 2 });
    const d = new ActivityDispatcher(host, noopLogger);
    h.attach(d);
    d.start();
    await vi.waitFor(() => expect(h.published).toEqual([3]));
    await d.stop();
  });

  it("retries the same event with a 1 s .. 10 s doubling backoff; nothing overtakes it", async () => {
    const { h, host } = fakeHost([create("a"), create("b")]);
    h.failPublish = 6;
    const d = new ActivityDispatcher(host, noopLogger);
    h.attach(d);
    d.start();
    await vi.waitFor(() => expect(h.published).toEqual([1, 2]));
    expect(h.sleeps).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    await d.stop();
  });

  it("publishes again when recording fails (at least once, same id)", async () => {
    const { h, host } = fakeHost([create("a"), create("b")]);
    h.failRecord = 1;
    const d = new ActivityDispatcher(host, noopLogger);
    h.attach(d);
    d.start();
    await vi.waitFor(() => expect(h.published).toEqual([1, 1, 2]));
    await vi.waitFor(() => expect(h.lastPublished).toBe(2));
    await d.stop();
  });

  it("skips to the first entry still in the log when unpublished entries were compacted", async () => {
    const { h, host } = fakeHost([create("a"), create("b"), create("c"), create("d")], { first: 3 });
    const d = new ActivityDispatcher(host, noopLogger);
    h.attach(d);
    d.start();
    await vi.waitFor(() => expect(h.published).toEqual([3, 4]));
    await d.stop();
  });

  it("stops while idle and can be stopped twice", async () => {
    const { h, host } = fakeHost([]);
    const d = new ActivityDispatcher(host, noopLogger);
    h.attach(d);
    d.start();
    await vi.waitFor(() => expect(d.nextIndex).toBe(1));
    await d.stop();
    await d.stop();
    h.append(create("late"));
    expect(h.published).toEqual([]);
  });
});
