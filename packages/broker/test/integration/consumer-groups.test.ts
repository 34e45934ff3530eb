import { status as Code } from "@grpc/grpc-js";
import { ConsumerGroupMetadataError, StartPosition } from "@liftbridge/api";
import { ManualClock } from "@liftbridge/testkit";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createConsumerGroupHandlers } from "../../src/consumer-group-api.js";
import { type ApiClient, codeOf, type Env, startEnv, subscribe, unary, waitFor } from "../helpers.js";

interface JoinRes {
  coordinator: string;
  epoch: number;
  consumerTimeout: bigint;
  coordinatorTimeout: bigint;
}
interface FetchRes {
  epoch: number;
  assignments: { stream: string; partitions: number[] }[];
}
interface GroupMd {
  groupId: string;
  error: number;
  coordinator: string;
  epoch: number;
}

const join = (c: ApiClient, groupId: string, consumerId: string, streams: string[]) =>
  unary<JoinRes>(c, "JoinConsumerGroup", { groupId, consumerId, streams });
const leave = (c: ApiClient, groupId: string, consumerId: string) =>
  unary<object>(c, "LeaveConsumerGroup", { groupId, consumerId });
const fetch = (c: ApiClient, groupId: string, consumerId: string, epoch: number) =>
  unary<FetchRes>(c, "FetchConsumerGroupAssignments", { groupId, consumerId, epoch });
const report = (c: ApiClient, req: object) => unary<object>(c, "ReportConsumerGroupCoordinator", req);
const groupMd = async (c: ApiClient, ...groups: string[]) =>
  (await unary<{ groupMetadata: GroupMd[] }>(c, "FetchMetadata", { streams: ["-"], groups })).groupMetadata;
const table = (r: FetchRes) => r.assignments.map((a) => `${a.stream}:${a.partitions.join(",")}`);

let n = 0;
const fresh = (prefix: string) => `${prefix}${++n}`;

describe("consumer groups over raw gRPC (spec §5 rows)", () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv();
  });
  afterAll(async () => {
    await env.close();
  });
  const create = (name: string, partitions = 1) =>
    unary(env.client, "CreateStream", { name, subject: name, partitions });

  it("3 members over 2 streams x 4 partitions get the balanced assignment; group metadata follows", async () => {
    const [s1, s2, g] = [fresh("a"), fresh("b"), fresh("g")];
    await create(s1, 4);
    await create(s2, 4);
    const ja = await join(env.client, g, "a", [s1, s2]);
    expect(ja).toEqual({
      coordinator: "s1",
      epoch: 0,
      consumerTimeout: 15_000_000_000n,
      coordinatorTimeout: 15_000_000_000n,
    });
    expect(table(await fetch(env.client, g, "a", 0))).toEqual([`${s1}:0,1,2,3`, `${s2}:0,1,2,3`]);
    const jb = await join(env.client, g, "b", [s1, s2]);
    const jc = await join(env.client, g, "c", [s1, s2]);
    expect(jb.epoch).toBeGreaterThan(0);
    expect(jc.epoch).toBeGreaterThan(jb.epoch);
    // The epoch must be current: a's old epoch is refused.
    expect((await codeOf(fetch(env.client, g, "a", 0))).code).toBe(Code.FAILED_PRECONDITION);
    const got = await Promise.all(["a", "b", "c"].map((m) => fetch(env.client, g, m, jc.epoch)));
    expect(got.map(table)).toEqual([[`${s2}:0,1,2`], [`${s1}:0,2`, `${s2}:3`], [`${s1}:1,3`]]);
    expect(got.every((r) => r.epoch === jc.epoch)).toBe(true);
    expect(await groupMd(env.client, g, "nope")).toEqual([
      { groupId: g, error: ConsumerGroupMetadataError.OK, coordinator: "s1", epoch: jc.epoch },
      { groupId: "nope", error: ConsumerGroupMetadataError.UNKNOWN_GROUP, coordinator: "", epoch: 0 },
    ]);
    // b leaves: its partitions move to a and c.
    await leave(env.client, g, "b");
    const [md] = await groupMd(env.client, g);
    expect(md!.epoch).toBeGreaterThan(jc.epoch);
    const after = await Promise.all(["a", "c"].map((m) => fetch(env.client, g, m, md!.epoch)));
    // s1 first: a holds 3 (s2), c 0 -> c,c,c, then a (tie 3/3); s2: a 1, c 3 -> a,a,a (tie), then c.
    expect(after.map(table)).toEqual([
      [`${s1}:3`, `${s2}:0,1,2`],
      [`${s1}:0,1,2`, `${s2}:3`],
    ]);
    // Deleting a stream rebalances the rest and bumps the epoch.
    await unary(env.client, "DeleteStream", { name: s1 });
    const [md2] = await groupMd(env.client, g);
    expect(md2!.epoch).toBeGreaterThan(md!.epoch);
    const afterDelete = await Promise.all(["a", "c"].map((m) => fetch(env.client, g, m, md2!.epoch)));
    expect(afterDelete.map(table)).toEqual([[`${s2}:0,2`], [`${s2}:1,3`]]);
    await leave(env.client, g, "a");
    await leave(env.client, g, "c");
    expect((await groupMd(env.client, g))[0]!.error).toBe(ConsumerGroupMetadataError.UNKNOWN_GROUP);
  });

  it("JoinConsumerGroup rows", async () => {
    const s = fresh("s");
    const g = fresh("g");
    await create(s);
    const rows: [object, number, string][] = [
      [{ consumerId: "a", streams: [s] }, Code.INVALID_ARGUMENT, "No groupId provided"],
      [{ groupId: g, streams: [s] }, Code.INVALID_ARGUMENT, "No consumerId provided"],
      [{ groupId: g, consumerId: "a" }, Code.INVALID_ARGUMENT, "No streams provided"],
      [
        { groupId: g, consumerId: "a", streams: ["missing"] },
        Code.FAILED_PRECONDITION,
        "stream does not exist",
      ],
    ];
    for (const [req, code, details] of rows) {
      const r = await codeOf(unary(env.client, "JoinConsumerGroup", req));
      expect(r.code).toBe(code);
      expect(r.details).toContain(details);
    }
    await join(env.client, g, "a", [s]);
    const dup = await codeOf(join(env.client, g, "a", [s]));
    expect(dup).toEqual({
      code: Code.FAILED_PRECONDITION,
      details: `consumer a is already a member of consumer group ${g}`,
    });
    expect((await codeOf(join(env.client, g, "b", [s, "missing"]))).code).toBe(Code.FAILED_PRECONDITION);
    await leave(env.client, g, "a");
  });

  it("LeaveConsumerGroup rows", async () => {
    const s = fresh("s");
    const g = fresh("g");
    await create(s);
    expect((await codeOf(leave(env.client, "", "a"))).code).toBe(Code.INVALID_ARGUMENT);
    expect((await codeOf(leave(env.client, g, ""))).code).toBe(Code.INVALID_ARGUMENT);
    expect(await codeOf(leave(env.client, g, "a"))).toEqual({
      code: Code.NOT_FOUND,
      details: "consumer group does not exist",
    });
    await join(env.client, g, "a", [s]);
    expect((await codeOf(leave(env.client, g, "zz"))).code).toBe(Code.FAILED_PRECONDITION);
    await leave(env.client, g, "a");
  });

  it("FetchConsumerGroupAssignments rows (incl. not the coordinator)", async () => {
    const s = fresh("s");
    const g = fresh("g");
    await create(s, 2);
    expect((await codeOf(fetch(env.client, "", "a", 0))).code).toBe(Code.INVALID_ARGUMENT);
    expect((await codeOf(fetch(env.client, g, "", 0))).code).toBe(Code.INVALID_ARGUMENT);
    expect((await codeOf(fetch(env.client, g, "a", 0))).code).toBe(Code.NOT_FOUND);
    await join(env.client, g, "a", [s]);
    expect((await codeOf(fetch(env.client, g, "zz", 0))).code).toBe(Code.FAILED_PRECONDITION);
    expect((await codeOf(fetch(env.client, g, "a", 7))).details).toContain("epoch mismatch");
    expect(table(await fetch(env.client, g, "a", 0))).toEqual([`${s}:0,1`]);
    // The controller moved the group to another broker (as a coordinator failover would).
    const res = await env.broker.core.propose({
      op: "change_consumer_group_coordinator",
      groupId: g,
      coordinator: "s2",
    });
    expect(res.ok).toBe(true);
    const [md] = await groupMd(env.client, g);
    expect(md).toMatchObject({ coordinator: "s2" });
    const r = await codeOf(fetch(env.client, g, "a", md!.epoch));
    expect(r.code).toBe(Code.FAILED_PRECONDITION);
    expect(r.details).toContain("not the coordinator");
    await leave(env.client, g, "a");
  });

  it("ReportConsumerGroupCoordinator rows", async () => {
    const s = fresh("s");
    const g = fresh("g");
    await create(s);
    const base = { groupId: g, consumerId: "a", coordinator: "s1", epoch: 0 };
    for (const k of ["groupId", "consumerId", "coordinator"]) {
      expect((await codeOf(report(env.client, { ...base, [k]: "" }))).code).toBe(Code.INVALID_ARGUMENT);
    }
    expect(await codeOf(report(env.client, base))).toEqual({
      code: Code.FAILED_PRECONDITION,
      details: `No such consumer group ${g}`,
    });
    await join(env.client, g, "a", [s]);
    await join(env.client, g, "b", [s]);
    const [md] = await groupMd(env.client, g);
    const cur = { ...base, epoch: md!.epoch };
    const mismatch = await codeOf(report(env.client, { ...cur, epoch: 0 }));
    expect(mismatch.code).toBe(Code.FAILED_PRECONDITION);
    expect(mismatch.details).toContain("Coordinator generation mismatch");
    expect((await codeOf(report(env.client, { ...cur, coordinator: "s9" }))).code).toBe(
      Code.FAILED_PRECONDITION,
    );
    expect((await codeOf(report(env.client, { ...cur, consumerId: "zz" }))).code).toBe(
      Code.FAILED_PRECONDITION,
    );
    // One report of two members is recorded (1 <= floor(2/2)); the second is a majority, and a single
    // broker has nobody to hand the group to.
    await report(env.client, cur);
    const r = await codeOf(report(env.client, { ...cur, consumerId: "b" }));
    expect(r).toEqual({ code: Code.FAILED_PRECONDITION, details: "No coordinator candidates" });
    expect((await groupMd(env.client, g))[0]).toMatchObject({ coordinator: "s1", epoch: md!.epoch });
    await leave(env.client, g, "a");
    await leave(env.client, g, "b");
  });

  it("Subscribe with a consumer: empty consumerId, epochs fence an old subscriber, lower epochs are refused", async () => {
    const s = fresh("s");
    const g = fresh("g");
    await create(s, 2);
    const empty = subscribe(env.client, { stream: s, consumer: { groupId: g, consumerId: "" } });
    expect(await empty.status).toEqual({
      code: Code.INVALID_ARGUMENT,
      details: "Consumer id cannot be empty when group id is provided",
    });
    await join(env.client, g, "a", [s]);
    expect(table(await fetch(env.client, g, "a", 0))).toEqual([`${s}:0,1`]);
    const old = subscribe(env.client, {
      stream: s,
      partition: 1,
      startPosition: StartPosition.EARLIEST,
      consumer: { groupId: g, consumerId: "a", groupEpoch: 0 },
    });
    await unary(env.client, "Publish", { stream: s, partition: 1, value: Buffer.from("one") });
    await waitFor(() => old.messages.length === 2, 10_000, "first message");
    // b joins: partition 1 moves from a to b under a newer epoch.
    const jb = await join(env.client, g, "b", [s]);
    expect(table(await fetch(env.client, g, "a", jb.epoch))).toEqual([`${s}:0`]);
    expect(table(await fetch(env.client, g, "b", jb.epoch))).toEqual([`${s}:1`]);
    // b subscribes with the newer epoch: a's old subscription is closed (the stream ends OK).
    const next = subscribe(env.client, {
      stream: s,
      partition: 1,
      startPosition: StartPosition.EARLIEST,
      consumer: { groupId: g, consumerId: "b", groupEpoch: jb.epoch },
    });
    expect((await old.status).code).toBe(Code.OK);
    await waitFor(() => next.messages.length === 2, 10_000, "replayed message");
    const stale = subscribe(env.client, {
      stream: s,
      partition: 1,
      consumer: { groupId: g, consumerId: "a", groupEpoch: 0 },
    });
    expect(await stale.status).toEqual({
      code: Code.FAILED_PRECONDITION,
      details: "Consumer is not currently assigned this partition",
    });
    await unary(env.client, "Publish", { stream: s, partition: 1, value: Buffer.from("two") });
    await waitFor(() => next.messages.length === 3, 10_000, "second message");
    expect(old.messages).toHaveLength(2);
    // Another group, or a plain subscriber, is not fenced.
    const plain = subscribe(env.client, { stream: s, partition: 1, startPosition: StartPosition.EARLIEST });
    await waitFor(() => plain.messages.length === 3, 10_000, "plain subscriber");
    plain.call.cancel();
    next.call.cancel();
    expect((await next.status).code).toBe(Code.CANCELLED);
    // The cancelled subscription freed its slot: the same epoch subscribes again.
    const again = subscribe(env.client, {
      stream: s,
      partition: 1,
      consumer: { groupId: g, consumerId: "b", groupEpoch: jb.epoch },
    });
    await waitFor(() => again.messages.length === 1, 10_000, "resubscribe");
    again.call.cancel();
    await again.status;
    await leave(env.client, g, "a");
    await leave(env.client, g, "b");
  });
});

describe("consumer groups: a deleted group's subscribers", () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv();
  });
  afterAll(async () => {
    await env.close();
  });

  it("are closed when the group is deleted, so the re-created group (epoch 0) can subscribe", async () => {
    await unary(env.client, "CreateStream", { name: "d", subject: "d" });
    await join(env.client, "g", "a", ["d"]);
    const jb = await join(env.client, "g", "b", ["d"]);
    const held = subscribe(env.client, {
      stream: "d",
      consumer: { groupId: "g", consumerId: "a", groupEpoch: jb.epoch },
    });
    await waitFor(() => held.messages.length === 1, 10_000, "subscribed");
    await leave(env.client, "g", "a");
    expect(held.messages).toHaveLength(1);
    await leave(env.client, "g", "b"); // the group is gone
    expect((await held.status).code).toBe(Code.OK);
    expect((await join(env.client, "g", "c", ["d"])).epoch).toBe(0);
    const next = subscribe(env.client, {
      stream: "d",
      consumer: { groupId: "g", consumerId: "c", groupEpoch: 0 },
    });
    await waitFor(() => next.messages.length === 1, 10_000, "re-created group subscribed");
    next.call.cancel();
    await next.status;
  });
});

describe("consumer groups: expiry and restart", () => {
  let env: Env;
  let clock: ManualClock;
  beforeEach(async () => {
    clock = new ManualClock();
    env = await startEnv({ groups: { consumerTimeoutMs: 1000, coordinatorTimeoutMs: 2000, clock } });
  });
  afterEach(async () => {
    await env.close();
  });

  it("a member that stops fetching assignments expires; its partitions move (consumer timeout)", async () => {
    await unary(env.client, "CreateStream", { name: "s", subject: "s", partitions: 4 });
    const ja = await join(env.client, "g", "a", ["s"]);
    expect(ja.consumerTimeout).toBe(1_000_000_000n);
    expect(ja.coordinatorTimeout).toBe(2_000_000_000n);
    const jb = await join(env.client, "g", "b", ["s"]);
    expect(table(await fetch(env.client, "g", "a", jb.epoch))).toEqual(["s:0,2"]);
    expect(table(await fetch(env.client, "g", "b", jb.epoch))).toEqual(["s:1,3"]);
    // a keeps polling, b falls silent.
    for (let i = 0; i < 4; i++) {
      clock.advance(400);
      await fetch(env.client, "g", "a", jb.epoch).catch(() => undefined);
    }
    await waitFor(async () => (await groupMd(env.client, "g"))[0]!.epoch > jb.epoch, 10_000, "expiry");
    const [md] = await groupMd(env.client, "g");
    expect(table(await fetch(env.client, "g", "a", md!.epoch))).toEqual(["s:0,1,2,3"]);
    const r = await codeOf(fetch(env.client, "g", "b", md!.epoch));
    expect(r.code).toBe(Code.FAILED_PRECONDITION);
    expect(r.details).toContain("not a member");
  });

  it("a server restart in the middle keeps groups, members, epochs and assignments; timers restart", async () => {
    await unary(env.client, "CreateStream", { name: "s", subject: "s", partitions: 3 });
    await join(env.client, "g", "a", ["s"]);
    const jb = await join(env.client, "g", "b", ["s"]);
    const before = await Promise.all(["a", "b"].map((m) => fetch(env.client, "g", m, jb.epoch)));
    clock = new ManualClock();
    await env.restart({ groups: { consumerTimeoutMs: 1000, coordinatorTimeoutMs: 2000, clock } });
    expect(await groupMd(env.client, "g")).toEqual([
      { groupId: "g", error: ConsumerGroupMetadataError.OK, coordinator: "s1", epoch: jb.epoch },
    ]);
    const after = await Promise.all(["a", "b"].map((m) => fetch(env.client, "g", m, jb.epoch)));
    expect(after).toEqual(before);
    expect(after.map(table)).toEqual([["s:0,2"], ["s:1"]]);
    // The recovered coordinator tracks liveness again: both fall silent and expire.
    clock.advance(1000);
    await waitFor(
      async () => (await groupMd(env.client, "g"))[0]!.error === ConsumerGroupMetadataError.UNKNOWN_GROUP,
      10_000,
      "group expiry after restart",
    );
    const jc = await join(env.client, "g", "c", ["s"]);
    expect(jc.epoch).toBe(0); // a new group
  });

  it("a Raft failure (here: the metadata group is closed) is Internal", async () => {
    await unary(env.client, "CreateStream", { name: "s", subject: "s" });
    await join(env.client, "g", "a", ["s"]);
    await env.broker.core.close();
    const h = createConsumerGroupHandlers(env.broker.core);
    const fails = [
      h.JoinConsumerGroup({ groupId: "g", consumerId: "b", streams: ["s"] }),
      h.JoinConsumerGroup({ groupId: "new", consumerId: "b", streams: ["s"] }),
      h.LeaveConsumerGroup({ groupId: "g", consumerId: "a" }),
    ];
    for (const p of fails) await expect(p).rejects.toMatchObject({ code: Code.INTERNAL });
  });
});
