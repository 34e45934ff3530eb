import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fc, test } from "@fast-check/vitest";
import { afterEach, describe, expect, it } from "vitest";
import {
  assignedCount,
  type ConsumerGroupState,
  ConsumerGroups,
  pickCoordinator,
  rebalance,
} from "../src/consumer-groups.js";
import { noopLogger } from "../src/logger.js";
import { type MetadataListener, type MetadataOp, MetadataState } from "../src/metadata.js";
import { MetadataRaft } from "../src/metadata-raft.js";
import { createStreamOp } from "./ops.js";

const create = createStreamOp;
const createGroup = (groupId: string, consumerId: string, streams: string[]): MetadataOp => ({
  op: "create_consumer_group",
  groupId,
  consumerId,
  streams,
  coordinator: "s1",
});
const join = (groupId: string, consumerId: string, streams: string[]): MetadataOp => ({
  op: "join_consumer_group",
  groupId,
  consumerId,
  streams,
});
const leave = (groupId: string, consumerId: string, expired = false): MetadataOp => ({
  op: "leave_consumer_group",
  groupId,
  consumerId,
  expired,
});

/** member -> "stream:p,p" list, for compact expectations. */
function table(g: ConsumerGroupState | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const m of g?.members ?? [])
    out[m.id] = m.assignments.map((a) => `${a.stream}:${a.partitions.join(",")}`);
  return out;
}

function recorder(): MetadataListener & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    streamCreated: () => {},
    streamDeleted: () => {},
    partitionPaused: () => {},
    partitionResumed: () => {},
    partitionReadonlyChanged: () => {},
    consumerGroupChanged: (id, g) => events.push(`${id}@${g === undefined ? "deleted" : g.epoch}`),
  };
}

describe("balanced assignment (spec §6.8)", () => {
  it("3 members over 2 streams x 4 partitions: every partition once, counts 3/3/2, exactly as the rule says", () => {
    const s = new MetadataState();
    s.apply(1, create("s1", 4));
    s.apply(2, create("s2", 4));
    expect(s.apply(3, createGroup("g", "a", ["s1", "s2"]))).toEqual({ ok: true });
    expect(table(s.groups.groups.get("g"))).toEqual({ a: ["s1:0,1,2,3", "s2:0,1,2,3"] });
    s.apply(4, join("g", "b", ["s1", "s2"]));
    // s1 first: a holds 4 (s2), b 0 -> b takes all of s1; then s2: a 0, b 4 -> a takes all of s2.
    expect(table(s.groups.groups.get("g"))).toEqual({ a: ["s2:0,1,2,3"], b: ["s1:0,1,2,3"] });
    s.apply(5, join("g", "c", ["s2", "s1"]));
    // s1: a 4, b 0, c 0 -> b,c,b,c; s2: a 0, b 2, c 2 -> a,a,a (tie a<b), then b.
    const g = s.groups.groups.get("g")!;
    expect(table(g)).toEqual({ a: ["s2:0,1,2"], b: ["s1:0,2", "s2:3"], c: ["s1:1,3"] });
    expect(g.members.map(assignedCount)).toEqual([3, 3, 2]);
    expect(g.epoch).toBe(5);
  });

  it("one stream: ties go to the smaller consumer id, partitions ascending", () => {
    const g: ConsumerGroupState = {
      id: "g",
      coordinator: "s1",
      epoch: 0,
      members: ["m2", "m1", "m3"].map((id) => ({ id, streams: ["s"], assignments: [] })),
    };
    rebalance(g, ["s"], () => 7);
    expect(table(g)).toEqual({ m2: ["s:1,4"], m1: ["s:0,3,6"], m3: ["s:2,5"] });
  });

  const opArb = fc.array(
    fc.record({
      leave: fc.boolean(),
      member: fc.constantFrom("a", "b", "c", "d", "e"),
      streams: fc.subarray(["x", "y", "z"], { minLength: 1 }),
    }),
    { maxLength: 30 },
  );

  test.prop([opArb, fc.boolean()], { numRuns: 200 })(
    "every partition of a subscribed stream goes to exactly one of its subscribers; same streams => counts differ by <= 1",
    (ops, sameStreams) => {
      const s = new MetadataState();
      s.apply(1, create("x", 3));
      s.apply(2, create("y", 5));
      s.apply(3, create("z", 1));
      let index = 10;
      for (const o of ops) {
        const streams = sameStreams ? ["x", "y", "z"] : o.streams;
        const g = s.groups.groups.get("g");
        const op =
          g === undefined
            ? createGroup("g", o.member, streams)
            : o.leave
              ? leave("g", o.member)
              : join("g", o.member, streams);
        s.apply(index++, op);
        const group = s.groups.groups.get("g");
        if (group === undefined) continue;
        for (const name of ["x", "y", "z"]) {
          const n = s.streams.get(name)!.partitions.length;
          const owners = new Map<number, string[]>();
          for (const m of group.members)
            for (const a of m.assignments.filter((a) => a.stream === name)) {
              expect(m.streams).toContain(name);
              expect([...a.partitions].sort((p, q) => p - q)).toEqual(a.partitions);
              for (const p of a.partitions) owners.set(p, [...(owners.get(p) ?? []), m.id]);
            }
          const subscribed = group.members.some((m) => m.streams.includes(name));
          for (let p = 0; p < n; p++) expect(owners.get(p)?.length ?? 0).toBe(subscribed ? 1 : 0);
        }
        if (sameStreams) {
          const counts = group.members.map(assignedCount);
          expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
        }
      }
    },
  );
});

describe("group ops in the metadata FSM (spec internals §3.2)", () => {
  it("create (epoch 0), join/leave (epoch = Raft index), last leave deletes; preconditions refuse", () => {
    const s = new MetadataState();
    const l = recorder();
    s.apply(1, create("s", 2));
    expect(s.apply(2, createGroup("g", "a", ["nope"]), l)).toEqual({ ok: false, reason: "no_such_stream" });
    expect(s.apply(3, createGroup("g", "a", ["s"]), l)).toEqual({ ok: true });
    expect(s.apply(4, createGroup("g", "b", ["s"]), l)).toEqual({ ok: false, reason: "group_exists" });
    expect(s.apply(5, join("g", "a", ["s"]), l)).toEqual({ ok: false, reason: "already_member" });
    expect(s.apply(6, join("h", "a", ["s"]), l)).toEqual({ ok: false, reason: "no_such_group" });
    expect(s.apply(7, join("g", "b", ["s", "nope"]), l)).toEqual({ ok: false, reason: "no_such_stream" });
    expect(s.apply(8, join("g", "b", ["s"]), l)).toEqual({ ok: true });
    expect(table(s.groups.groups.get("g"))).toEqual({ a: ["s:0"], b: ["s:1"] });
    expect(s.apply(9, leave("g", "c"), l)).toEqual({ ok: false, reason: "not_member" });
    expect(s.apply(10, leave("g", "a", true), l)).toEqual({ ok: true });
    expect(table(s.groups.groups.get("g"))).toEqual({ b: ["s:0,1"] });
    expect(s.groups.groups.get("g")!.epoch).toBe(10);
    expect(s.apply(11, leave("g", "b"), l)).toEqual({ ok: true });
    expect(s.groups.groups.has("g")).toBe(false);
    expect(l.events).toEqual(["g@0", "g@8", "g@10", "g@deleted"]);
  });

  it("replaying an op at an index <= the group epoch changes nothing (idempotent replay)", () => {
    const s = new MetadataState();
    s.apply(1, create("s", 4));
    s.apply(2, createGroup("g", "a", ["s"]));
    s.apply(5, join("g", "b", ["s"]));
    const before = JSON.stringify(s.groups.toJSON());
    expect(s.apply(5, leave("g", "b")).ok).toBe(true);
    expect(s.apply(4, join("g", "c", ["s"])).ok).toBe(true);
    expect(s.apply(5, { op: "change_consumer_group_coordinator", groupId: "g", coordinator: "s9" }).ok).toBe(
      true,
    );
    expect(JSON.stringify(s.groups.toJSON())).toBe(before);
    s.apply(6, { op: "change_consumer_group_coordinator", groupId: "g", coordinator: "s9" });
    expect(s.groups.groups.get("g")).toMatchObject({ coordinator: "s9", epoch: 6 });
  });

  it("deleting a stream removes it from members, rebalances their other streams, epoch = index", () => {
    const s = new MetadataState();
    const l = recorder();
    s.apply(1, create("s1", 2));
    s.apply(2, create("s2", 2));
    s.apply(3, createGroup("g", "a", ["s1", "s2"]));
    s.apply(4, join("g", "b", ["s2"]));
    s.apply(5, createGroup("other", "z", ["s1"]));
    expect(table(s.groups.groups.get("g"))).toEqual({ a: ["s1:0,1"], b: ["s2:0,1"] });
    s.apply(9, { op: "delete_stream", name: "s1" }, l);
    // a lost s1, so it now has 0 assignments and takes its share of s2.
    expect(table(s.groups.groups.get("g"))).toEqual({ a: ["s2:0"], b: ["s2:1"] });
    expect(s.groups.groups.get("g")!.members[0]!.streams).toEqual(["s2"]);
    expect(s.groups.groups.get("g")!.epoch).toBe(9);
    expect(table(s.groups.groups.get("other"))).toEqual({ z: [] });
    expect(l.events).toEqual(["g@9", "other@9"]);
  });

  it("snapshot and restore keep the groups (assignments, epochs, coordinators)", () => {
    const s = new MetadataState();
    s.apply(1, create("s1", 3));
    s.apply(2, createGroup("g", "a", ["s1"]));
    s.apply(3, join("g", "b", ["s1"]));
    const r = new MetadataState();
    r.restore(s.toSnapshot());
    expect(r.groups.toJSON()).toEqual(s.groups.toJSON());
    // The restored state keeps applying identically.
    s.apply(4, join("g", "c", ["s1"]));
    r.apply(4, join("g", "c", ["s1"]));
    expect(r.groups.toJSON()).toEqual(s.groups.toJSON());
    // A snapshot without groups (older format) restores to none.
    r.restore(Buffer.from(JSON.stringify({ streams: [] })));
    expect(r.groups.groups.size).toBe(0);
  });

  it("check() answers like apply() without changing anything", () => {
    const g = new ConsumerGroups();
    const count = (n: string) => (n === "s" ? 1 : undefined);
    expect(
      g.check({ op: "leave_consumer_group", groupId: "g", consumerId: "a", expired: false }, count),
    ).toEqual({ ok: false, reason: "no_such_group" });
    expect(
      g.check(
        { op: "create_consumer_group", groupId: "g", consumerId: "a", streams: ["s"], coordinator: "x" },
        count,
      ),
    ).toEqual({ ok: true });
    expect(g.groups.size).toBe(0);
  });
});

describe("pickCoordinator", () => {
  const group = (id: string, coordinator: string): ConsumerGroupState => ({
    id,
    coordinator,
    epoch: 0,
    members: [],
  });
  it("fewest coordinated groups, ties by id, excluding the failed one", () => {
    const groups = [group("1", "b"), group("2", "b"), group("3", "c")];
    expect(pickCoordinator(["c", "b", "a"], groups)).toBe("a");
    expect(pickCoordinator(["c", "b"], groups)).toBe("c");
    expect(pickCoordinator(["c", "b"], groups, "c")).toBe("b");
    expect(pickCoordinator(["b"], groups, "b")).toBeUndefined();
  });
});

describe("groups in the on-disk metadata Raft group", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const open = (dataDir: string, snapshotThreshold: number) =>
    MetadataRaft.open({
      dataDir,
      serverId: "s1",
      bootstrapSeed: true,
      listener: recorder(),
      logger: noopLogger,
      snapshotThreshold,
      tickMs: 1000,
    });

  it.each([1024, 2])("survive a restart with replay or from a snapshot (threshold %i)", async (threshold) => {
    const d = mkdtempSync(path.join(tmpdir(), "lb-groups-"));
    dirs.push(d);
    const r = await open(d, threshold);
    await r.propose(create("s", 4));
    await r.propose(createGroup("g", "a", ["s"]));
    await r.propose(join("g", "b", ["s"]));
    await r.propose(join("g", "c", ["s"]));
    await r.propose(leave("g", "b", true));
    await r.propose(createGroup("h", "x", ["s"]));
    await r.propose(leave("h", "x"));
    const before = JSON.stringify(r.state.groups.toJSON());
    expect(table(r.state.groups.groups.get("g"))).toEqual({ a: ["s:0,2"], c: ["s:1,3"] });
    await r.close();
    const snap = path.join(d, "raft", "snap");
    // With threshold 2 the groups come back from a snapshot (the `snap` file holds them).
    const inSnapshot = existsSync(snap) && readFileSync(snap).toString("latin1").includes('"members"');
    expect(inSnapshot).toBe(threshold === 2);
    const r2 = await open(d, threshold);
    expect(JSON.stringify(r2.state.groups.toJSON())).toBe(before);
    expect(r2.state.groups.groups.get("g")!.epoch).toBe(r.applied - 2);
    await r2.close();
  });
});
