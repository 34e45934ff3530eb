import { ManualClock } from "@liftbridge/testkit";
import { describe, expect, it } from "vitest";
import {
  ConsumerGroupCoordinator,
  type GroupCoordinatorHost,
  GroupSubscriberFence,
} from "../src/consumer-group-coordinator.js";
import type { ConsumerGroupOp } from "../src/consumer-groups.js";
import { noopLogger } from "../src/logger.js";
import { type MetadataListener, type MetadataOp, MetadataState } from "../src/metadata.js";

/** An FSM + coordinator pair where proposals apply synchronously at increasing indexes. */
function setup(brokers = ["s1"], serverId = "s1") {
  const clock = new ManualClock();
  const state = new MetadataState();
  const proposed: ConsumerGroupOp[] = [];
  let index = 100;
  let failNext = 0;
  let coordinator: ConsumerGroupCoordinator | undefined;
  const listener: MetadataListener = {
    streamCreated: () => {},
    streamDeleted: () => {},
    partitionPaused: () => {},
    partitionResumed: () => {},
    partitionReadonlyChanged: () => {},
    consumerGroupChanged: (id, g) => coordinator?.groupChanged(id, g),
  };
  const apply = (op: MetadataOp) => state.apply(index++, op, listener);
  const host: GroupCoordinatorHost = {
    serverId,
    logger: noopLogger,
    groups: () => state.groups.groups,
    brokers: () => brokers,
    propose: async (op) => {
      proposed.push(op);
      if (failNext > 0) {
        failNext--;
        throw new Error("no leader");
      }
      return apply(op);
    },
  };
  coordinator = new ConsumerGroupCoordinator(host, {
    consumerTimeoutMs: 1000,
    coordinatorTimeoutMs: 500,
    clock,
  });
  apply({
    op: "create_stream",
    name: "s",
    subject: "s",
    group: "",
    partitions: 4,
    replicationFactor: 1,
    replicas: ["s1"],
    leader: "s1",
    config: {},
    creationTimestamp: "1",
  });
  /** Creates group `groupId` on stream "s": the first member creates it, the others join. */
  const group = (groupId: string, members: string[], coordinatorId = "s1") => {
    const [first, ...rest] = members;
    apply({
      op: "create_consumer_group",
      groupId,
      consumerId: first!,
      streams: ["s"],
      coordinator: coordinatorId,
    });
    for (const consumerId of rest) apply({ op: "join_consumer_group", groupId, consumerId, streams: ["s"] });
  };
  return {
    clock,
    state,
    proposed,
    apply,
    group,
    coordinator,
    failOnce: () => {
      failNext++;
    },
  };
}

const flush = () => new Promise((r) => setImmediate(r));

describe("member expiry (groups.consumer.timeout)", () => {
  it("a member that stops fetching assignments is removed with expired=true and its partitions move", async () => {
    const t = setup();
    t.coordinator.start();
    t.group("g", ["a", "b"]);
    for (let i = 0; i < 5; i++) {
      t.clock.advance(400);
      t.coordinator.heartbeat("g", "a"); // a keeps fetching, b went silent at t=0
      await flush();
      if (i === 0) expect(t.proposed).toEqual([]);
    }
    expect(t.proposed).toEqual([
      { op: "leave_consumer_group", groupId: "g", consumerId: "b", expired: true },
    ]);
    const g = t.state.groups.groups.get("g")!;
    expect(g.members.map((m) => [m.id, m.assignments])).toEqual([
      ["a", [{ stream: "s", partitions: [0, 1, 2, 3] }]],
    ]);
    // a stays as long as it heartbeats.
    t.clock.advance(900);
    t.coordinator.heartbeat("g", "a");
    t.clock.advance(900);
    await flush();
    expect(t.proposed).toHaveLength(1);
    t.clock.advance(200);
    await flush();
    expect(t.proposed).toHaveLength(2);
    expect(t.state.groups.groups.has("g")).toBe(false);
    await t.coordinator.close();
  });

  it("a failed expiry proposal is retried; a member that already left is not proposed again", async () => {
    const t = setup();
    t.coordinator.start();
    t.group("g", ["a", "b"]);
    t.failOnce();
    t.clock.advance(999);
    t.coordinator.heartbeat("g", "b");
    t.clock.advance(1);
    await flush();
    expect(t.proposed.map((o) => (o as { consumerId: string }).consumerId)).toEqual(["a"]);
    t.clock.advance(1000); // retry of a (after min(1000, timeout)) and b's own expiry
    await flush();
    expect(t.proposed.map((o) => (o as { consumerId: string }).consumerId)).toEqual(["a", "b", "a"]);
    expect(t.state.groups.groups.has("g")).toBe(false);
    t.clock.advance(10_000);
    await flush();
    expect(t.proposed).toHaveLength(3);
    await t.coordinator.close();
  });

  it("timers run only on the coordinator, start for recovered groups, and move with the coordinator", async () => {
    const t = setup(["s1", "s2"]);
    t.group("g", ["a"]);
    t.group("h", ["a"], "s2");
    t.clock.advance(5000);
    await flush();
    expect(t.proposed).toEqual([]); // not started: recovery applies without timers
    t.coordinator.start();
    t.apply({ op: "change_consumer_group_coordinator", groupId: "g", coordinator: "s2" });
    t.clock.advance(5000);
    await flush();
    expect(t.proposed).toEqual([]); // neither group is coordinated here now
    t.apply({ op: "change_consumer_group_coordinator", groupId: "h", coordinator: "s1" });
    t.clock.advance(1000);
    await flush();
    expect(t.proposed).toEqual([
      { op: "leave_consumer_group", groupId: "h", consumerId: "a", expired: true },
    ]);
    await t.coordinator.close();
  });
});

describe("coordinator reports (groups.coordinator.timeout)", () => {
  it("a majority of members within the timeout changes the coordinator to the least-loaded other broker", async () => {
    const t = setup(["s1", "s2", "s3"], "s2");
    t.coordinator.start();
    t.group("x", ["z"], "s2");
    t.group("g", ["a"]);
    for (const m of ["b", "c", "d"])
      t.apply({ op: "join_consumer_group", groupId: "g", consumerId: m, streams: ["s"] });
    const g = () => t.state.groups.groups.get("g")!;
    expect(await t.coordinator.report(g(), "a")).toEqual({ kind: "recorded", witnesses: 1 });
    expect(await t.coordinator.report(g(), "a")).toEqual({ kind: "recorded", witnesses: 1 });
    t.clock.advance(600); // witnesses forgotten
    expect(await t.coordinator.report(g(), "b")).toEqual({ kind: "recorded", witnesses: 1 });
    expect(await t.coordinator.report(g(), "c")).toEqual({ kind: "recorded", witnesses: 2 });
    const epoch = g().epoch;
    // 3 > floor(4 / 2): s3 (no groups) beats s2 (one group) and s1 (the failed one).
    expect(await t.coordinator.report(g(), "d")).toEqual({ kind: "changed", coordinator: "s3" });
    expect(g().coordinator).toBe("s3");
    expect(g().epoch).toBeGreaterThan(epoch);
    await t.coordinator.close();
  });

  it("a single broker has no candidate", async () => {
    const t = setup();
    t.group("g", ["a"]);
    expect(await t.coordinator.report(t.state.groups.groups.get("g")!, "a")).toEqual({
      kind: "no_candidates",
    });
    await t.coordinator.close();
  });
});

describe("GroupSubscriberFence", () => {
  it("one subscriber per (group, partition): equal or newer epoch replaces, older is refused", () => {
    const f = new GroupSubscriberFence();
    const a = f.admit("g", "s", 0, 5)!;
    expect(f.admit("g", "s", 0, 4)).toBeUndefined();
    expect(a.fenced).toBe(false);
    const other = f.admit("g", "s", 1, 1)!; // another partition is independent
    const b = f.admit("g", "s", 0, 5)!;
    expect(a.fenced).toBe(true);
    expect(a.signal.aborted).toBe(true);
    a.release(); // the replaced one cannot free the new one's slot
    expect(f.admit("g", "s", 0, 4)).toBeUndefined();
    const c = f.admit("g", "s", 0, 9)!;
    expect(b.fenced).toBe(true);
    c.release();
    other.release();
    expect(f.size).toBe(0);
    expect(f.admit("g", "s", 0, 0)?.fenced).toBe(false);
    expect(f.admit("h", "s", 0, 0)?.fenced).toBe(false);
  });

  it("dropping a deleted group closes its subscribers and frees its slots (a re-created group starts at epoch 0)", () => {
    const f = new GroupSubscriberFence();
    const old = f.admit("g", "s", 0, 42)!;
    const keep = f.admit("g2", "s", 0, 1)!; // "g2" shares the prefix "g" but is another group
    f.dropGroup("g");
    expect(old.fenced).toBe(true);
    expect(keep.fenced).toBe(false);
    const fresh = f.admit("g", "s", 0, 0)!;
    expect(fresh.fenced).toBe(false);
    old.release(); // no effect on the new slot
    expect(f.admit("g", "s", 0, 0)).toBeDefined();
    expect(fresh.fenced).toBe(true);
  });
});
