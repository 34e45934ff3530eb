/**
 * The client against a real metadata cluster of three `liftbridge` processes (shared Debian NATS,
 * replication factor 1: each partition lives on one server). Covers routing to the partition leader,
 * metadata refresh on FailedPrecondition, resubscribe after a leader restart, ack timeouts while the
 * leader is down and any-broker RPCs with a broker down. Server crashes are SIGKILL.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, type LiftbridgeError, type Metadata } from "../../src/index.js";
import { str, TestCluster, type TestServer, text, waitFor } from "../helpers.js";

const leaderOf = (md: Metadata, stream: string): string | undefined =>
  md.getStream(stream)?.getPartition(0)?.leader?.id;

describe("client against a three-server cluster", () => {
  let cluster: TestCluster;
  /** Connected to every server: creates streams and reads placement. */
  let admin: Client;
  const clients: Client[] = [];
  const open = async (addrs: string | string[], o: Parameters<typeof connect>[1] = {}): Promise<Client> => {
    const c = await connect(addrs, o);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cluster = await TestCluster.create(3);
    admin = await connect(cluster.addrs);
    // The joiners are listed once their join is committed.
    await waitFor(async () => (await admin.fetchMetadata()).brokers.length === 3, 30_000);
  }, 120_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await cluster.startStopped();
  });
  afterAll(async () => {
    await admin?.close();
    await cluster?.destroy();
  });

  /** Creates `name` and returns the server leading its partition 0. */
  const create = async (name: string): Promise<TestServer> => {
    await admin.createStream(name, name);
    const id = leaderOf(await admin.fetchMetadata({ streams: [name] }), name);
    expect(id).toBeDefined();
    return cluster.server(id!);
  };

  it("connected to a non-leader only: sees every broker, subscribes at the leader, publishes are acked", async () => {
    const leader = await create("route");
    const other = cluster.servers.find((s) => s !== leader)!;
    const c = await open(other.addr);
    const md = await c.fetchMetadata();
    expect(md.brokers.map((b) => b.addr).sort()).toEqual(cluster.addrs.sort());
    expect(md.brokers.map((b) => b.id).sort()).toEqual(["s0", "s1", "s2"]);

    const ack = await c.publish("route", text("p0"));
    expect(ack?.offset).toBe(0);
    const acks: number[] = [];
    for (let i = 1; i <= 3; i++)
      c.publishAsync("route", text(`p${i}`), (err, a) => {
        expect(err).toBeUndefined();
        acks.push(a!.offset);
      });
    await waitFor(() => acks.length === 3);
    expect(acks.sort()).toEqual([1, 2, 3]);

    const sub = await c.subscribe("route", { startAt: "earliest" });
    const got: string[] = [];
    for await (const m of sub) {
      got.push(`${m.offset}:${str(m.value)}`);
      if (got.length === 4) break;
    }
    expect(got).toEqual(["0:p0", "1:p1", "2:p2", "3:p3"]);
    // Leader RPCs reach the leader too.
    expect((await c.fetchPartitionMetadata("route", 0)).leader?.id).toBe(
      leaderOf(await admin.fetchMetadata(), "route"),
    );
  });

  it("stale cached leader: subscribe and fetchPartitionMetadata refresh metadata on FailedPrecondition", async () => {
    await create("moved");
    const c = await open(cluster.addrs);
    const c2 = await open(cluster.addrs);
    const staleLeader = leaderOf(c.metadata, "moved")!;
    expect(staleLeader).toBe(leaderOf(await admin.fetchMetadata(), "moved"));
    // Recreate the stream elsewhere: a filler stream takes the freed slot of the old leader.
    for (let i = 0; i < 6 && leaderOf(await admin.fetchMetadata(), "moved") === staleLeader; i++) {
      await admin.deleteStream("moved");
      await admin.createStream(`filler${i}`, `filler${i}`);
      await admin.createStream("moved", "moved");
    }
    const newLeader = leaderOf(await admin.fetchMetadata(), "moved");
    expect(newLeader).not.toBe(staleLeader);
    // The client's cache still names the old leader, which answers FailedPrecondition.
    expect(leaderOf(c.metadata, "moved")).toBe(staleLeader);
    expect(leaderOf(c2.metadata, "moved")).toBe(staleLeader);
    expect((await c2.fetchPartitionMetadata("moved", 0)).leader?.id).toBe(newLeader);
    expect(leaderOf(c2.metadata, "moved")).toBe(newLeader);

    await c.publish("moved", text("after"));
    const sub = await c.subscribe("moved", { startAt: "earliest" });
    expect(leaderOf(c.metadata, "moved")).toBe(newLeader);
    for await (const m of sub) {
      expect(`${m.offset}:${str(m.value)}`).toBe("0:after");
      break;
    }
  });

  it("the leader is killed under an open subscription: ack timeout while down, resubscribe after restart, each message once", async () => {
    const leader = await create("crash");
    const c = await open(cluster.addrs, { resubscribeWaitTimeMs: 60_000 });
    for (let i = 0; i < 3; i++) await c.publish("crash", text(`a${i}`));
    const sub = await c.subscribe("crash", { startAt: "earliest" });
    const got: { offset: number; value: string }[] = [];
    const loop = (async () => {
      for await (const m of sub) {
        got.push({ offset: m.offset, value: str(m.value) });
        if (str(m.value) === "b2") break;
      }
    })();
    await waitFor(() => got.length === 3);
    await leader.stop("SIGKILL");

    // Nobody stores or acks while the leader is down: publish and publishAsync time out.
    const err = await c.publish("crash", text("lost"), { timeoutMs: 500 }).then(
      () => undefined,
      (e: LiftbridgeError) => e,
    );
    expect(err?.code).toBe("ack_timeout");
    const asyncErr = await new Promise<LiftbridgeError | undefined>((r) =>
      c.publishAsync("crash", text("lost too"), (e) => r(e), { timeoutMs: 500 }),
    );
    expect(asyncErr?.code).toBe("ack_timeout");

    await leader.start();
    // Publishing works again once the leader is back (retry while it starts its partition).
    for (let i = 0; i < 3; i++) {
      let done = false;
      await waitFor(async () => {
        done ||=
          (await c.publish("crash", text(`b${i}`), { timeoutMs: 2000 }).catch(() => undefined)) !== undefined;
        return done;
      }, 30_000);
    }
    await loop;
    expect(got.slice(0, 3).map((m) => m.value)).toEqual(["a0", "a1", "a2"]);
    // Exactly once after the resubscribe: offsets continue from 3 with no gap and no repeat.
    expect(got.map((m) => m.offset)).toEqual(got.map((_, i) => i));
    expect(got.filter((m) => m.value === "b2")).toHaveLength(1);
    expect(await sub.closed).toBeUndefined();
  });

  it("any-broker RPCs (fetchMetadata, createStream) and connect go to another broker when one is down", async () => {
    const [up1, up2, down] = [cluster.servers[0]!, cluster.servers[1]!, cluster.servers[2]!];
    // random() = 0 picks the first connection, the broker that is going down: each RPC first fails there.
    const c = await open([down.addr, up1.addr, up2.addr], { random: () => 0 });
    await down.stop("SIGKILL");
    for (let i = 0; i < 3; i++) expect((await c.fetchMetadata()).brokers.length).toBeGreaterThanOrEqual(2);
    await c.createStream("whiledown", "whiledown");
    expect(leaderOf(await c.fetchMetadata({ streams: ["whiledown"] }), "whiledown")).toBeDefined();
    const c2 = await open([down.addr, up2.addr], { random: () => 0, connectTimeoutMs: 2000 });
    expect((await c2.fetchMetadata()).getStream("whiledown")).toBeDefined();
  });

  /** Freezes every server but `keep` (SIGSTOP; afterEach resumes them). */
  const freezeAllBut = (keep: TestServer): void => {
    for (const s of cluster.servers) if (s !== keep) s.proc!.kill("SIGSTOP");
  };

  it("serverSelection workload: any-broker RPCs go to the broker with the fewest partitions", async () => {
    const load = (md: Metadata, id: string): number => {
      const b = md.broker(id)!;
      return b.partitionCount + b.leaderCount;
    };
    // Make one broker strictly the least loaded: a stream of 3 partitions lands on one of the tied ones.
    let md = await admin.fetchMetadata();
    for (let i = 0; i < 3; i++) {
      const loads = md.brokers.map((b) => load(md, b.id));
      if (loads.filter((l) => l === Math.min(...loads)).length === 1) break;
      await admin.createStream(`heavy${i}`, `heavy${i}`, { partitions: 3 });
      md = await admin.fetchMetadata();
    }
    const light = [...md.brokers].sort((a, b) => load(md, a.id) - load(md, b.id));
    expect(load(md, light[0]!.id)).toBeLessThan(load(md, light[1]!.id));
    const lightest = cluster.server(light[0]!.id);
    // random() = 0 would pick the first seed, a frozen broker.
    const seeds = [...cluster.servers.filter((s) => s !== lightest), lightest].map((s) => s.addr);
    const c = await open(seeds, { serverSelection: "workload", random: () => 0 });
    freezeAllBut(lightest);
    // A frozen broker never answers: the RPC would end with deadline_exceeded, which is not retried.
    const got = await c.fetchMetadata({ timeoutMs: 8000 });
    expect(got.brokers.length).toBe(3);
  });

  it("serverSelection latency: a seed that did not answer at connect is not picked", async () => {
    const [slow, fast] = [cluster.servers[0]!, cluster.servers[1]!];
    slow.proc!.kill("SIGSTOP");
    // random() = 0 would pick the first seed, the frozen one.
    const c = await open([slow.addr, fast.addr], {
      serverSelection: "latency",
      random: () => 0,
      connectTimeoutMs: 1000,
    });
    freezeAllBut(fast);
    const got = await c.fetchMetadata({ timeoutMs: 8000 });
    expect(got.brokers.length).toBe(3);
  });
});
