import { afterEach, describe, expect, it } from "vitest";
import { type Client, connect, crc32 } from "../../src/index.js";
import { FakeCluster } from "../fake-server.js";
import { text } from "../helpers.js";

/** Multi-broker behaviour against the fake cluster (the real server is single-node). */
describe("routing and failover (fake 3-broker cluster)", () => {
  let cluster: FakeCluster;
  let client: Client | undefined;
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await cluster.close();
  });

  it("connect dials the seeds, then every advertised broker", async () => {
    cluster = await FakeCluster.start(3);
    client = await connect(cluster.addrs[0]!);
    expect(client.metadata.addrs().sort()).toEqual([...cluster.addrs].sort());
    await client.fetchMetadata();
    // Seeds got FetchMetadata{} at dial (latency probe) and the full fetch.
    expect(cluster.callsOf("FetchMetadata").filter((c) => c.broker === "b0").length).toBeGreaterThanOrEqual(
      1,
    );
  });

  it("leader RPC: FailedPrecondition refreshes metadata and retries on the new leader", async () => {
    cluster = await FakeCluster.start(3);
    cluster.addStream("s", 1, ["b0"]);
    client = await connect(cluster.addrs);
    const s = cluster.streams.get("s")!;
    s.leader = ["b2"]; // leader moved; the client's cache still says b0
    const before = cluster.callsOf("FetchMetadata").length;
    const p = await client.fetchPartitionMetadata("s", 0);
    expect(p.leader?.id).toBe("b2");
    const fpm = cluster.callsOf("FetchPartitionMetadata").map((c) => c.broker);
    expect(fpm).toEqual(["b0", "b2"]);
    expect(cluster.callsOf("FetchMetadata").length).toBeGreaterThan(before);
  });

  it("subscribe: FailedPrecondition (not leader) refreshes metadata and resubscribes to the leader", async () => {
    cluster = await FakeCluster.start(2);
    cluster.addStream("s", 1, ["b0"]);
    cluster.append("s", 0, "hello");
    client = await connect(cluster.addrs);
    cluster.streams.get("s")!.leader = ["b1"];
    const sub = await client.subscribe("s", { startAt: "earliest" });
    for await (const m of sub) {
      expect(Buffer.from(m.value).toString()).toBe("hello");
      break;
    }
    expect(cluster.callsOf("Subscribe").map((c) => c.broker)).toEqual(["b0", "b1"]);
  });

  it("readIsrReplica subscribes to an ISR member", async () => {
    cluster = await FakeCluster.start(2);
    cluster.addStream("s", 1, ["b1"]);
    client = await connect(cluster.addrs);
    const sub = await client.subscribe("s", { readIsrReplica: true });
    await sub.close();
    expect(cluster.callsOf("Subscribe").map((c) => c.broker)).toEqual(["b1"]);
  });

  it("publish: one broker per stream:partition by hash, stable; acks correlated", async () => {
    cluster = await FakeCluster.start(3);
    for (let i = 0; i < 12; i++) cluster.addStream(`h${i}`, 2);
    client = await connect(cluster.addrs);
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < 12; i++)
        for (let p = 0; p < 2; p++)
          expect((await client.publish(`h${i}`, text("x"), { partition: p }))?.stream).toBe(`h${i}`);
    const byKey = new Map<string, Set<string>>();
    for (const c of cluster.callsOf("PublishAsync")) {
      const r = c.req as { stream: string; partition: number };
      const k = `${r.stream}:${r.partition}`;
      if (!byKey.has(k)) byKey.set(k, new Set());
      byKey.get(k)!.add(c.broker);
    }
    expect([...byKey.values()].every((s) => s.size === 1)).toBe(true);
    expect(new Set([...byKey.values()].flatMap((s) => [...s])).size).toBeGreaterThan(1);
  });

  it("server selection: latency picks the fastest seed, workload the least loaded broker", async () => {
    cluster = await FakeCluster.start(3, [150, 0, 150]);
    client = await connect(cluster.addrs, { serverSelection: "latency" });
    for (let i = 0; i < 5; i++) await client.createStream(`l${i}`, `l${i}`);
    expect(new Set(cluster.callsOf("CreateStream").map((c) => c.broker))).toEqual(new Set(["b1"]));
    await client.close();
    await cluster.close();

    cluster = await FakeCluster.start(3);
    cluster.brokers[0]!.partitionCount = 5;
    cluster.brokers[1]!.leaderCount = 3;
    client = await connect(cluster.addrs, { serverSelection: "workload" });
    for (let i = 0; i < 5; i++) await client.createStream(`w${i}`, `w${i}`);
    expect(new Set(cluster.callsOf("CreateStream").map((c) => c.broker))).toEqual(new Set(["b2"]));
    await client.close();
    await cluster.close();

    cluster = await FakeCluster.start(3);
    let seed = 1;
    const random = (): number => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    client = await connect(cluster.addrs, { serverSelection: "random", random });
    for (let i = 0; i < 30; i++) await client.createStream(`r${i}`, `r${i}`);
    expect(new Set(cluster.callsOf("CreateStream").map((c) => c.broker)).size).toBe(3);
  });

  it("any-broker RPCs retry on another broker when one is unavailable", async () => {
    cluster = await FakeCluster.start(2);
    client = await connect(cluster.addrs);
    await cluster.brokers[0]!.server.close({ graceMs: 0 });
    for (let i = 0; i < 6; i++) await client.createStream(`u${i}`, `u${i}`);
    expect(cluster.callsOf("CreateStream").every((c) => c.broker === "b1")).toBe(true);
  });

  it("cursors: setCursor/fetchCursor go to the leader of crc32(id,stream,partition) mod n of __cursors", async () => {
    cluster = await FakeCluster.start(3);
    cluster.addStream("__cursors", 5);
    cluster.addStream("s", 4);
    client = await connect(cluster.addrs);
    expect(await client.fetchCursor("c1", "s", 2)).toBe(-1);
    for (let p = 0; p < 4; p++) await client.setCursor("c1", "s", p, 100 + p);
    for (let p = 0; p < 4; p++) expect(await client.fetchCursor("c1", "s", p)).toBe(100 + p);
    // Every call went straight to the right leader (no FailedPrecondition retries).
    for (const c of [...cluster.callsOf("SetCursor"), ...cluster.callsOf("FetchCursor")]) {
      const r = c.req as { cursorId: string; stream: string; partition: number };
      const want = crc32(Buffer.from(`${r.cursorId},${r.stream},${r.partition}`)) % 5;
      expect(c.broker).toBe(cluster.streams.get("__cursors")!.leader[want]);
    }
    expect(cluster.callsOf("SetCursor")).toHaveLength(4);
    // A cursors leader change: FailedPrecondition -> metadata refresh -> retried on the new leader.
    const cs = cluster.streams.get("__cursors")!;
    cs.leader = cs.leader.map((l) => (l === "b0" ? "b1" : l === "b1" ? "b2" : "b0"));
    for (let p = 0; p < 4; p++) expect(await client.fetchCursor("c1", "s", p)).toBe(100 + p);
    await expect(client.fetchCursor("c1", "s", -1)).rejects.toMatchObject({ code: "invalid_argument" });
  });
});
