import { afterEach, describe, expect, it } from "vitest";
import { type Client, type Consumer, connect, type LiftbridgeError } from "../../src/index.js";
import { FakeCluster } from "../fake-server.js";
import { waitFor } from "../helpers.js";

/**
 * Consumer groups (spec §6.8) against the fake cluster: three brokers, coordinator failover and
 * exact call sequences. The real server is exercised in consumer-groups-server.test.ts.
 */
describe("consumer groups (fake cluster)", () => {
  let cluster: FakeCluster;
  let client: Client | undefined;
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await cluster.close();
  });

  const fast = { fetchAssignmentsInterval: (t: number) => t / 10, retryIntervalMs: 50 } as const;

  const setup = async (): Promise<Client> => {
    cluster = await FakeCluster.start(3);
    cluster.addStream("__cursors", 3);
    cluster.addStream("s", 4);
    client = await connect(cluster.addrs);
    return client;
  };

  it("join, assignment, reconcile on rebalance, auto-checkpoint, leave; no message lost or duplicated", async () => {
    const c = await setup();
    const seen: string[] = [];
    const errors: LiftbridgeError[] = [];
    const handler =
      (who: string) =>
      (err: LiftbridgeError | undefined, m: { partition: number; offset: number } | undefined): void => {
        if (err !== undefined) errors.push(err);
        else seen.push(`${who}:${m!.partition}:${m!.offset}`);
      };
    const a = c.createConsumer("g", {
      consumerId: "a",
      autoCheckpointIntervalMs: 50,
      autoOffset: "earliest",
      ...fast,
    });
    await a.subscribe(["s"], handler("a"));
    await waitFor(() => [...(a.assignments.get("s") ?? [])].length === 4);
    for (let p = 0; p < 4; p++) cluster.append("s", p, `x${p}`);
    await waitFor(() => seen.length === 4);
    // Subscriptions carry the member and its epoch.
    const subs = cluster
      .callsOf("Subscribe")
      .map((x) => x.req as { consumer?: { groupId: string; consumerId: string; groupEpoch: number } });
    expect(
      subs.every(
        (r) => r.consumer?.groupId === "g" && r.consumer.consumerId === "a" && r.consumer.groupEpoch === 1,
      ),
    ).toBe(true);
    // Auto-checkpoint stores the last offsets under __group:g.
    await waitFor(() => [0, 1, 2, 3].every((p) => cluster.cursors.get(`__group:g,s,${p}`) === 0));

    const b = c.createConsumer("g", { consumerId: "b", autoCheckpointIntervalMs: 50, ...fast });
    await b.subscribe(["s"], handler("b"));
    // Rebalance: a keeps 0,2 ... per the fewest-assignments rule: a -> [0, 2], b -> [1, 3].
    await waitFor(() => a.assignments.get("s")?.length === 2 && b.assignments.get("s")?.length === 2);
    expect(a.assignments.get("s")).toEqual([0, 2]);
    expect(b.assignments.get("s")).toEqual([1, 3]);
    for (let p = 0; p < 4; p++) cluster.append("s", p, `y${p}`);
    await waitFor(() => seen.length === 8);
    expect(seen.slice(4).sort()).toEqual(["a:0:1", "a:2:1", "b:1:1", "b:3:1"]);

    await a.close();
    expect(
      cluster.callsOf("LeaveConsumerGroup").map((x) => (x.req as { consumerId: string }).consumerId),
    ).toEqual(["a"]);
    await waitFor(() => b.assignments.get("s")?.length === 4);
    for (let p = 0; p < 4; p++) cluster.append("s", p, `z${p}`);
    await waitFor(() => seen.length === 12);
    // b resumed a's partitions from the checkpoint + 1: nothing redelivered.
    expect(seen.slice(8).sort()).toEqual(["b:0:2", "b:1:2", "b:2:2", "b:3:2"]);
    await b.checkpoint();
    expect(cluster.cursors.get("__group:g,s,0")).toBe(2);
    await b.close();
    await b.close(); // idempotent
    expect(errors).toEqual([]);
    expect(cluster.groups.has("g")).toBe(false);
  });

  it("auto offset: newOnly skips old messages, latest starts at the newest, none reports a ConsumerError", async () => {
    const c = await setup();
    cluster.streams.delete("s");
    cluster.addStream("one", 1);
    cluster.append("one", 0, "old0");
    cluster.append("one", 0, "old1");
    const run = async (autoOffset: "newOnly" | "latest" | "none", group: string) => {
      const got: string[] = [];
      const errs: string[] = [];
      const k = c.createConsumer(group, { autoOffset, ...fast });
      await k.subscribe(["one"], (err, m) => {
        if (err) errs.push(err.code);
        else got.push(Buffer.from(m!.value).toString());
      });
      return { k, got, errs };
    };
    const latest = await run("latest", "g1");
    await waitFor(() => latest.got.length === 1);
    expect(latest.got).toEqual(["old1"]);
    const none = await run("none", "g2");
    await waitFor(() => none.errs.length > 0);
    expect(none.errs[0]).toBe("consumer");
    const newOnly = await run("newOnly", "g3");
    await waitFor(() =>
      cluster
        .callsOf("Subscribe")
        .some((x) => (x.req as { consumer?: { groupId: string } }).consumer?.groupId === "g3"),
    );
    cluster.append("one", 0, "new");
    await waitFor(() => newOnly.got.length === 1);
    expect(newOnly.got).toEqual(["new"]);
    for (const k of [latest.k, none.k, newOnly.k]) await k.close();
  });

  it("coordinator failure: reported after coordinatorTimeout; the consumer follows the new coordinator", async () => {
    const c = await setup();
    cluster.coordinatorTimeoutMs = 200;
    cluster.onReport = (gid) => {
      const g = cluster.groups.get(gid)!;
      g.coordinator = "b0";
      g.epoch++;
    };
    const k: Consumer = c.createConsumer("g", { consumerId: "m", autoOffset: "earliest", ...fast });
    await k.subscribe(["s"], () => {});
    await waitFor(() => k.assignments.get("s")?.length === 4);
    expect(cluster.groups.get("g")!.coordinator).toBe("b2");
    cluster.failedCoordinators.add("b2");
    await waitFor(() => cluster.reports.length > 0, 10_000);
    expect(cluster.reports[0]).toMatchObject({ consumerId: "m", coordinator: "b2", epoch: 1 });
    const before = cluster.callsOf("FetchConsumerGroupAssignments").filter((x) => x.broker === "b0").length;
    await waitFor(
      () =>
        cluster.callsOf("FetchConsumerGroupAssignments").filter((x) => x.broker === "b0").length > before + 1,
    );
    // Resubscribed with the new epoch.
    await waitFor(() =>
      cluster
        .callsOf("Subscribe")
        .some((x) => (x.req as { consumer?: { groupEpoch: number } }).consumer?.groupEpoch === 2),
    );
    await k.close();
  });

  it("polling does not wait for a stuck reconcile; one reconcile at a time; an older epoch's results are discarded", async () => {
    const c = await setup();
    let open = () => {};
    cluster.cursorGate = new Promise((r) => {
      open = r;
    });
    const polls = () => cluster.callsOf("FetchConsumerGroupAssignments").length;
    const subscribes = (id: string) =>
      cluster
        .callsOf("Subscribe")
        .map((x) => (x.req as { consumer?: { consumerId: string; groupEpoch: number } }).consumer)
        .filter((x) => x?.consumerId === id)
        .map((x) => x!.groupEpoch);
    const a = c.createConsumer("g", { consumerId: "a", autoOffset: "earliest", ...fast });
    await a.subscribe(["s"], () => {});
    // The epoch-1 reconcile is stuck in FetchCursor for its 4 partitions; polling goes on.
    await waitFor(() => cluster.callsOf("FetchCursor").length === 4);
    const before = polls();
    await waitFor(() => polls() >= before + 3);
    // ... and no second reconcile started beside the stuck one.
    expect(cluster.callsOf("FetchCursor")).toHaveLength(4);
    // A rebalance meanwhile (b joins: epoch 2): a follows it at once.
    const b = c.createConsumer("g", { consumerId: "b", autoOffset: "earliest", ...fast });
    await b.subscribe(["s"], () => {});
    await waitFor(() => a.assignments.get("s")?.length === 2 && b.assignments.get("s")?.length === 2);
    cluster.cursorGate = undefined;
    open();
    // The stale epoch-1 reconcile subscribes nothing; the epoch-2 one subscribes a's share.
    await waitFor(() => subscribes("a").length === 2 && subscribes("b").length === 2);
    expect(subscribes("a")).toEqual([2, 2]);
    expect(subscribes("b")).toEqual([2, 2]);
    await a.close();
    await b.close();
  });

  it("close() does not wait for a reconcile stuck in FetchCursor", async () => {
    const c = await setup();
    cluster.cursorGate = new Promise(() => {}); // a cursors partition that never answers
    const k = c.createConsumer("g", { consumerId: "a", ...fast });
    await k.subscribe(["s"], () => {});
    await waitFor(() => cluster.callsOf("FetchCursor").length === 4);
    await k.close();
    expect(cluster.callsOf("LeaveConsumerGroup")).toHaveLength(1);
    expect(cluster.groups.has("g")).toBe(false);
  });

  it("options are validated", async () => {
    const c = await setup();
    expect(() => c.createConsumer("g", { consumerId: "" })).toThrow(/consumer id/);
    expect(() => c.createConsumer("")).toThrow(/group id/);
    // biome-ignore lint/suspicious/noExplicitAny: deliberately invalid input.
    expect(() => c.createConsumer("g", { fetchAssignmentsInterval: undefined as any })).toThrow(/function/);
    const k = c.createConsumer("g");
    expect(k.consumerId).toMatch(/^[0-9A-Z]{22}$/);
    await expect(k.subscribe([], () => {})).rejects.toMatchObject({ code: "invalid_argument" });
    await k.close();
  });
});
