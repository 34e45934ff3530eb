/**
 * The client against a real metadata cluster of three `liftbridge` processes (shared Debian NATS,
 * replication factor 1: each partition lives on one server). Covers routing to the partition leader,
 * metadata refresh on FailedPrecondition, resubscribe after a leader restart, ack timeouts while the
 * leader is down and any-broker RPCs with a broker down. Server crashes are SIGKILL.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, type LiftbridgeError, type Metadata } from "../../src/index.js";
import { rendezvousScore } from "../../src/rendezvous.js";
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
    cluster = await TestCluster.create(3, "cursors.stream.partitions: 1\n");
    admin = await connect(cluster.addrs);
    // The joiners are listed once their join is committed.
    await waitFor(async () => {
      const md = await admin.fetchMetadata();
      return md.brokers.length === 3 && md.getStream("__cursors") !== undefined;
    }, 30_000);
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

  it("cursors and a consumer group over streams led by three different servers", async () => {
    const md0 = await admin.fetchMetadata();
    const cursorsLeader = cluster.server(leaderOf(md0, "__cursors")!);
    // Three streams: placement by leader load puts them on three different servers.
    const leaders = new Set<string>();
    for (let i = 0; leaders.size < 3; i++) {
      expect(i).toBeLessThan(10);
      await create(`grp${i}`);
      leaders.add(leaderOf(await admin.fetchMetadata(), `grp${i}`)!);
    }
    const streams = [...(await admin.fetchMetadata()).streams.keys()].filter((s) => s.startsWith("grp"));
    // Connected to a server that does not lead __cursors: cursor RPCs go to its leader.
    const c = await open(cluster.servers.find((s) => s !== cursorsLeader)!.addr);
    await c.setCursor("cur", streams[0]!, 0, 41);
    expect(await c.fetchCursor("cur", streams[0]!, 0)).toBe(41);

    const seen: string[] = [];
    const errors: string[] = [];
    const k = c.createConsumer("grp", {
      consumerId: "m",
      autoOffset: "earliest",
      autoCheckpointIntervalMs: 100,
      retryIntervalMs: 100,
      fetchAssignmentsInterval: (t) => t / 10,
    });
    await k.subscribe(streams, (err, m) => {
      if (err !== undefined) errors.push(err.code);
      else seen.push(`${m!.stream}:${m!.offset}`);
    });
    for (const s of streams) await c.publish(s, text("x"));
    await waitFor(() => seen.length === streams.length);
    expect(seen.sort()).toEqual(streams.map((s) => `${s}:0`).sort());
    // Auto-checkpoint stores each partition's offset in __cursors, on its leader.
    await waitFor(async () => {
      const offs = await Promise.all(streams.map((s) => c.fetchCursor("__group:grp", s, 0)));
      return offs.every((o) => o === 0);
    });
    await k.close();
    expect(errors).toEqual([]);
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

  /** The server the client publishes `stream` through (partition 0): the client's rendezvous choice. */
  const publishRoute = (stream: string): TestServer =>
    cluster.servers.reduce((a, b) =>
      rendezvousScore(b.addr, `${stream}:0`) > rendezvousScore(a.addr, `${stream}:0`) ? b : a,
    );

  it.each(["the leader itself", "a server that forwards to the leader"])(
    "the leader is killed under an open subscription (publishing through %s): ack timeout while down, resubscribe after restart, each message once",
    async (route) => {
      // A stream whose publish connection is the leader's, or another server's.
      let stream = "";
      let leader: TestServer | undefined;
      for (
        let i = 0;
        leader === undefined || (publishRoute(stream) === leader) !== route.startsWith("the leader");
        i++
      ) {
        expect(i).toBeLessThan(30);
        stream = `crash-${route.length}-${i}`;
        leader = await create(stream);
      }
      const c = await open(cluster.addrs, { resubscribeWaitTimeMs: 60_000 });
      for (let i = 0; i < 3; i++) await c.publish(stream, text(`a${i}`));
      const sub = await c.subscribe(stream, { startAt: "earliest" });
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
      const err = await c.publish(stream, text("lost"), { timeoutMs: 500 }).then(
        () => undefined,
        (e: LiftbridgeError) => e,
      );
      expect(err?.code).toBe("ack_timeout");
      const asyncErr = await new Promise<LiftbridgeError | undefined>((r) =>
        c.publishAsync(stream, text("lost too"), (e) => r(e), { timeoutMs: 500 }),
      );
      expect(asyncErr?.code).toBe("ack_timeout");

      await leader.start();
      // Publishing works again once the leader is back (retry while it starts its partition).
      for (let i = 0; i < 3; i++) {
        let done = false;
        await waitFor(async () => {
          done ||=
            (await c.publish(stream, text(`b${i}`), { timeoutMs: 2000 }).catch(() => undefined)) !==
            undefined;
          return done;
        }, 30_000);
      }
      await loop;
      expect(got.slice(0, 3).map((m) => m.value)).toEqual(["a0", "a1", "a2"]);
      // Exactly once after the resubscribe: offsets continue from 3 with no gap and no repeat.
      expect(got.map((m) => m.offset)).toEqual(got.map((_, i) => i));
      expect(got.filter((m) => m.value === "b2")).toHaveLength(1);
      expect(await sub.closed).toBeUndefined();
    },
  );

  /** The metadata controller: the server that logged "became leader" in the highest Raft term. */
  const controller = (): TestServer => {
    let best: TestServer | undefined;
    let bestTerm = -1;
    for (const s of cluster.servers) {
      for (const line of s.output) {
        if (!line.includes('"became leader"')) continue;
        const term = (JSON.parse(line) as { term: number }).term;
        if (term > bestTerm) [best, bestTerm] = [s, term];
      }
    }
    if (best === undefined) throw new Error("no metadata leader logged");
    return best;
  };

  it("any-broker RPCs (fetchMetadata, createStream) and connect go to another broker when one is down", async () => {
    // Not the controller: its failover is the next test.
    const ctl = controller();
    const down = cluster.servers.find((s) => s !== ctl)!;
    const [up1, up2] = cluster.servers.filter((s) => s !== down) as [TestServer, TestServer];
    // random() = 0 picks the first connection, the broker that is going down: each RPC first fails there.
    const c = await open([down.addr, up1.addr, up2.addr], { random: () => 0 });
    await down.stop("SIGKILL");
    for (let i = 0; i < 3; i++) expect((await c.fetchMetadata()).brokers.length).toBeGreaterThanOrEqual(2);
    await c.createStream("whiledown", "whiledown", { timeoutMs: 15_000 });
    expect(leaderOf(await c.fetchMetadata({ streams: ["whiledown"] }), "whiledown")).toBeDefined();
    const c2 = await open([down.addr, up2.addr], { random: () => 0, connectTimeoutMs: 2000 });
    expect((await c2.fetchMetadata()).getStream("whiledown")).toBeDefined();
  });

  it("the metadata controller is killed: metadata writes through the client succeed once another is elected", async () => {
    const killed = controller();
    const c = await open(cluster.addrs);
    await killed.stop("SIGKILL");
    // Forwarded writes wait (up to their deadline) for the new controller; the client retries Unavailable.
    await c.createStream("after-controller", "after-controller", { timeoutMs: 15_000 });
    expect(controller()).not.toBe(killed);
    await c.deleteStream("after-controller");
    expect((await c.fetchMetadata()).getStream("after-controller")).toBeUndefined();
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
    const view = (m: Metadata) => m.brokers.map((b) => `${b.id}:${load(m, b.id)}`).sort();
    let md = await admin.fetchMetadata();
    let c: Client | undefined;
    let lightest: TestServer | undefined;
    // Servers answer with the loads they know (a restarted one may lag for a moment): retry until the
    // client's view matches the admin's.
    for (let attempt = 0; attempt < 5; attempt++) {
      // Make one broker strictly the least loaded: a stream of 3 partitions lands on one of the tied ones.
      for (let i = 0; i < 3; i++) {
        const loads = md.brokers.map((b) => load(md, b.id));
        if (loads.filter((l) => l === Math.min(...loads)).length === 1) break;
        await admin.createStream(`heavy${attempt}-${i}`, `heavy${attempt}-${i}`, { partitions: 3 });
        md = await admin.fetchMetadata();
      }
      const light = [...md.brokers].sort((a, b) => load(md, a.id) - load(md, b.id));
      expect(load(md, light[0]!.id)).toBeLessThan(load(md, light[1]!.id));
      lightest = cluster.server(light[0]!.id);
      // random() = 0 would pick the first seed, a frozen broker.
      const seeds = [...cluster.servers.filter((s) => s !== lightest), lightest].map((s) => s.addr);
      c = await open(seeds, { serverSelection: "workload", random: () => 0 });
      // The client chooses by its own metadata: the same loads.
      if (view(c.metadata).join() === view(md).join()) break;
      await new Promise((r) => setTimeout(r, 500));
      md = await admin.fetchMetadata();
    }
    expect(view(c!.metadata)).toEqual(view(md));
    freezeAllBut(lightest!);
    // A frozen broker never answers: the RPC would end with deadline_exceeded, which is not retried.
    const got = await c!.fetchMetadata({ timeoutMs: 8000 });
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
