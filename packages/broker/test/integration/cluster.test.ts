/**
 * A multi-node metadata cluster over one NATS server: bootstrap (seed + joins, and peers), forwarding
 * of metadata writes to the controller, cluster-wide FetchMetadata, publishing through a server that
 * does not lead the partition, Subscribe routing, restart of a follower, and no controller.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { type NatsServer, startNatsServer } from "@liftbridge/nats-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Broker,
  isBrokerError,
  type Logger,
  type NatsConnection,
  type StartBrokerOptions,
  startBroker,
} from "../../src/index.js";
import { type ApiClient, apiClient, codeOf, subscribe, unary, waitFor } from "../helpers.js";

interface Node {
  id: string;
  broker: Broker;
  client: ApiClient;
}

interface Cluster {
  nats: NatsServer;
  dir: string;
  nodes: Map<string, Node>;
  start(id: string, opts?: Partial<StartBrokerOptions>): Promise<Node>;
  stop(id: string): Promise<void>;
  close(): Promise<void>;
}

async function createCluster(): Promise<Cluster> {
  const dir = await mkdtemp(path.join(tmpdir(), "lb-cluster-"));
  const nats = await startNatsServer({ port: 0 });
  const nodes = new Map<string, Node>();
  const c: Cluster = {
    nats,
    dir,
    nodes,
    async start(id, opts = {}) {
      const broker = await startBroker({
        dataDir: path.join(dir, id),
        serverId: id,
        nats: nats.connect({ name: id }) as unknown as NatsConnection,
        host: "127.0.0.1",
        port: 0,
        listenPort: 0,
        listenHost: "127.0.0.1",
        raftJoinIntervalMs: 100,
        ...opts,
      });
      const n = { id, broker, client: apiClient(broker.port) };
      nodes.set(id, n);
      return n;
    },
    async stop(id) {
      const n = nodes.get(id);
      if (n === undefined) return;
      nodes.delete(id);
      n.client.close();
      await n.broker.close({ graceMs: 0 });
    },
    async close() {
      for (const id of [...nodes.keys()]) await c.stop(id);
      await nats.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return c;
}

const node = (c: Cluster, id: string): Node => {
  const n = c.nodes.get(id);
  if (n === undefined) throw new Error(`no node ${id}`);
  return n;
};

/** The id of the metadata leader once every running node agrees on one. */
async function agreedLeader(c: Cluster): Promise<string> {
  let leader: string | null = null;
  await waitFor(
    () => {
      const ls = [...c.nodes.values()].map((n) => n.broker.core.raft.leader);
      leader = ls[0] ?? null;
      return leader !== null && ls.every((l) => l === leader);
    },
    30_000,
    "an agreed metadata leader",
  );
  return leader!;
}

interface BrokerMd {
  id: string;
  host: string;
  port: number;
  partitionCount: number;
  leaderCount: number;
}
interface MetadataRes {
  brokers: BrokerMd[];
  streamMetadata: { name: string; partitions: Map<number, { leader: string; replicas: string[] }> }[];
}

const enc = (s: string) => Buffer.from(s);

/** A logger that records every message text (to see which paths ran). */
function recordingLogger(lines: string[]): Logger {
  const l: Logger = {
    debug: (_o, m) => lines.push(m ?? ""),
    info: (_o, m) => lines.push(m ?? ""),
    warn: (_o, m) => lines.push(m ?? ""),
    error: (_o, m) => lines.push(m ?? ""),
    child: () => l,
  };
  return l;
}

describe("metadata cluster: seed + joins", () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await createCluster();
    await c.start("a", { raftBootstrapSeed: true });
    // b and c have no state and no bootstrap setting: they join through the leader.
    await c.start("b");
    await c.start("c");
  });
  afterAll(async () => {
    await c.close();
  });

  it("three servers form one metadata group; FetchMetadata on every server lists every broker", async () => {
    await waitFor(
      () => [...c.nodes.values()].every((n) => n.broker.core.raft.members.length === 3),
      30_000,
      "three members everywhere",
    );
    await agreedLeader(c);
    for (const n of c.nodes.values()) {
      const md = await unary<MetadataRes>(n.client, "FetchMetadata", {});
      const brokers = md.brokers.map((b) => `${b.id}@${b.host}:${b.port}`).sort();
      expect(brokers).toEqual(
        ["a", "b", "c"].map((id) => `${id}@127.0.0.1:${node(c, id).broker.port}`).sort(),
      );
    }
  });

  it("CreateStream on a follower is forwarded to the controller; all servers show the same leaders", async () => {
    const controller = await agreedLeader(c);
    const follower = ["a", "b", "c"].find((id) => id !== controller)!;
    await unary(node(c, follower).client, "CreateStream", {
      name: "orders",
      subject: "orders",
      partitions: 2,
    });
    // The forwarding server already sees the stream when CreateStream returns.
    expect(node(c, follower).broker.core.stream("orders")).toBeDefined();
    const seen: string[] = [];
    for (const n of c.nodes.values()) {
      const md = await unary<MetadataRes>(n.client, "FetchMetadata", { streams: ["orders"] });
      const s = md.streamMetadata[0]!;
      seen.push(JSON.stringify([s.partitions.get(0)!.leader, s.partitions.get(1)!.leader]));
      expect(s.partitions.get(0)!.replicas).toHaveLength(1);
    }
    expect(new Set(seen).size).toBe(1);
    // A duplicate through another follower: the controller's AlreadyExists passes through.
    const other = ["a", "b", "c"].find((id) => id !== controller && id !== follower)!;
    const dup = await codeOf(
      unary(node(c, other).client, "CreateStream", { name: "orders", subject: "x", partitions: 1 }),
    );
    expect(dup.code).toBe(grpc.status.ALREADY_EXISTS);
    // Deleting through a follower is forwarded too (NotFound passes through).
    const missing = await codeOf(unary(node(c, other).client, "DeleteStream", { name: "nope" }));
    expect(missing.code).toBe(grpc.status.NOT_FOUND);
  });

  it("placement spreads streams: new streams go to the servers with the least load", async () => {
    for (const name of ["p1", "p2", "p3"]) {
      await unary(node(c, "a").client, "CreateStream", { name, subject: name });
    }
    const leaders = ["p1", "p2", "p3"].map((s) => node(c, "a").broker.core.stream(s)!.partitions[0]!.leader);
    // "orders" (2 partitions) sits on one server; the next three streams fill the other two first.
    const ordersLeader = node(c, "a").broker.core.stream("orders")!.partitions[0]!.leader;
    expect(leaders.slice(0, 2).sort()).toEqual(["a", "b", "c"].filter((id) => id !== ordersLeader).sort());
  });

  it("replication factor > 1 is refused until replication exists; above the cluster size names the size", async () => {
    const rf2 = await codeOf(
      unary(node(c, "b").client, "CreateStream", { name: "r2", subject: "r2", replicationFactor: 2 }),
    );
    expect(rf2.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(rf2.details).toContain("needs data replication");
    const all = await codeOf(
      unary(node(c, "c").client, "CreateStream", { name: "r3", subject: "r3", replicationFactor: -1 }),
    );
    expect(all.code).toBe(grpc.status.INVALID_ARGUMENT);
    const big = await codeOf(
      unary(node(c, "a").client, "CreateStream", { name: "r4", subject: "r4", replicationFactor: 4 }),
    );
    expect(big.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(big.details).toContain("cluster size 3");
    expect(node(c, "a").broker.core.stream("r2")).toBeUndefined();
  });

  it("Publish and PublishAsync through a server that does not lead the partition get acks; messages land on the leader", async () => {
    const leaderId = node(c, "a").broker.core.stream("orders")!.partitions[0]!.leader;
    const other = ["a", "b", "c"].find((id) => id !== leaderId)!;
    const via = node(c, other);
    expect(via.broker.core.partition("orders", 0)?.isLeader).toBe(false);
    // Unary Publish with ack policy LEADER.
    const res = await unary<{ ack: { offset: string; stream: string } }>(via.client, "Publish", {
      stream: "orders",
      value: enc("one"),
      ackPolicy: 0,
    });
    expect(res.ack.stream).toBe("orders");
    expect(Number(res.ack.offset)).toBe(0);
    // PublishAsync: 50 messages, 50 acks, in order.
    const call = via.client.PublishAsync() as grpc.ClientDuplexStream<object, Record<string, unknown>>;
    const acks: Record<string, unknown>[] = [];
    call.on("data", (r: Record<string, unknown>) => acks.push(r));
    for (let i = 0; i < 50; i++) {
      call.write({ stream: "orders", value: enc(`m${i}`), correlationId: `c${i}`, ackPolicy: 0 });
    }
    await waitFor(() => acks.length === 50, 20_000, "50 async acks");
    call.end();
    expect(acks.every((a) => a.asyncError === null || a.asyncError === undefined)).toBe(true);
    expect(acks.map((a) => a.correlationId)).toEqual(Array.from({ length: 50 }, (_, i) => `c${i}`));
    // PublishToSubject through the non-leader too.
    const pts = await unary<{ ack: { offset: string } }>(via.client, "PublishToSubject", {
      subject: "orders",
      value: enc("last"),
      ackPolicy: 0,
    });
    expect(Number(pts.ack.offset)).toBe(51);
    // Stored on the leader: subscribe there from the start.
    const leader = node(c, leaderId);
    expect(leader.broker.core.partition("orders", 0)!.log!.newestOffset).toBe(51);
    const sub = subscribe(leader.client, {
      stream: "orders",
      partition: 0,
      startPosition: 2,
      stopPosition: 2,
    });
    const st = await sub.status;
    expect(st.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const values = sub.messages.slice(1).map((m) => Buffer.from(m.value as Uint8Array).toString());
    expect(values).toEqual(["one", ...Array.from({ length: 50 }, (_, i) => `m${i}`), "last"]);
    // The non-leader stores nothing.
    expect(via.broker.core.partition("orders", 0)!.log).toBeUndefined();
  });

  it("Subscribe and FetchPartitionMetadata on a non-leader fail with FailedPrecondition; metadata leads to the leader", async () => {
    const leaderId = node(c, "a").broker.core.stream("orders")!.partitions[0]!.leader;
    const other = ["a", "b", "c"].find((id) => id !== leaderId)!;
    const sub = subscribe(node(c, other).client, { stream: "orders", partition: 0, startPosition: 2 });
    const st = await sub.status;
    expect(st).toEqual({ code: grpc.status.FAILED_PRECONDITION, details: "Server not partition leader" });
    const fpm = await codeOf(
      unary(node(c, other).client, "FetchPartitionMetadata", { stream: "orders", partition: 0 }),
    );
    expect(fpm.code).toBe(grpc.status.FAILED_PRECONDITION);
    const ok = await unary<{ metadata: { leader: string; newestOffset: string } }>(
      node(c, leaderId).client,
      "FetchPartitionMetadata",
      { stream: "orders", partition: 0 },
    );
    expect(ok.metadata.leader).toBe(leaderId);
    // What a client does next (go-liftbridge, @liftbridge/client): refresh metadata from the server
    // it knows, find the partition leader's address among the brokers, subscribe there.
    const md = await unary<MetadataRes>(node(c, other).client, "FetchMetadata", { streams: ["orders"] });
    const leader = md.streamMetadata[0]!.partitions.get(0)!.leader;
    const addr = md.brokers.find((x) => x.id === leader)!;
    expect(addr.port).toBe(node(c, leaderId).broker.port);
    const direct = apiClient(addr.port);
    try {
      const s2 = subscribe(direct, { stream: "orders", partition: 0, startPosition: 2, stopPosition: 2 });
      expect((await s2.status).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(s2.messages).toHaveLength(53); // the empty first frame + 52 messages
    } finally {
      direct.close();
    }
  });

  it("a restarted follower rejoins with its state; the cluster keeps working through it", async () => {
    const controller = await agreedLeader(c);
    const follower = ["a", "b", "c"].find((id) => id !== controller)!;
    await c.stop(follower);
    // Two of three remain: a quorum, so metadata writes still commit.
    await unary(node(c, controller).client, "CreateStream", { name: "while-down", subject: "wd" });
    await c.start(follower); // no bootstrap setting: it recovers from its own state
    const n = node(c, follower);
    await waitFor(() => n.broker.core.stream("while-down") !== undefined, 30_000, "catch up");
    expect(n.broker.core.stream("orders")).toBeDefined();
    await unary(n.client, "CreateStream", { name: "after-restart", subject: "ar" });
    const md = await unary<MetadataRes>(n.client, "FetchMetadata", {});
    expect(md.brokers.map((b) => b.id).sort()).toEqual(["a", "b", "c"]);
    expect(md.streamMetadata.map((s) => s.name)).toContain("after-restart");
    // Publishing through it still reaches the partition leader.
    const res = await unary<{ ack: { offset: string } }>(n.client, "Publish", {
      stream: "after-restart",
      value: enc("x"),
      ackPolicy: 0,
    });
    expect(Number(res.ack.offset)).toBe(0);
  });
});

describe("metadata cluster: join", () => {
  it("a server with no state and no bootstrap setting fails to start when no leader answers its joins", async () => {
    const c = await createCluster();
    try {
      const err = await c
        .start("lonely", { raftJoinAttempts: 3, raftJoinIntervalMs: 20 })
        .catch((e: unknown) => e as Error);
      expect(isBrokerError(err, "raft")).toBe(true);
      expect((err as Error).message).toContain("failed to join metadata Raft group");
      // Its data directory can be used again, e.g. as a seed.
      const n = await c.start("lonely", { raftBootstrapSeed: true });
      await unary(n.client, "CreateStream", { name: "ok", subject: "ok" });
    } finally {
      await c.close();
    }
  });
});

describe("metadata cluster: leader failover runs the metadata-leader hooks", () => {
  it("when the controller stops, a new one is elected among the rest and creates __cursors", async () => {
    const c = await createCluster();
    try {
      // The seed does not create __cursors (0 partitions); the joiners would, once they lead.
      await c.start("a", { raftBootstrapSeed: true });
      await c.start("b", { cursors: { partitions: 1 } });
      await c.start("c", { cursors: { partitions: 1 } });
      await waitFor(
        () => [...c.nodes.values()].every((n) => n.broker.core.raft.members.length === 3),
        30_000,
        "three members",
      );
      expect(await agreedLeader(c)).toBe("a");
      expect(node(c, "b").broker.core.stream("__cursors")).toBeUndefined();
      await c.stop("a");
      // A write forwarded right away goes to the dead controller first, and again to the new one.
      const during = unary(node(c, "b").client, "CreateStream", { name: "during-election", subject: "de" });
      await waitFor(
        () => [...c.nodes.values()].every((n) => ![null, "a"].includes(n.broker.core.raft.leader)),
        30_000,
        "a new leader",
      );
      const next = await agreedLeader(c);
      expect(["b", "c"]).toContain(next);
      await during;
      await waitFor(
        () => node(c, "c").broker.core.stream("during-election") !== undefined,
        10_000,
        "applied",
      );
      await waitFor(() => node(c, "b").broker.core.stream("__cursors") !== undefined, 30_000, "__cursors");
      expect(node(c, "c").broker.core.stream("__cursors")!.partitions[0]!.leader).toBe(next);
      // Metadata writes keep working through the follower that remains.
      const follower = next === "b" ? "c" : "b";
      await unary(node(c, follower).client, "CreateStream", { name: "after-failover", subject: "af" });
      // The old seed restarts (with its bootstrap flag, as a CLI restart does) as a member of three:
      // its log's configuration changes count, not its bootstrap configuration of one.
      const a = await c.start("a", { raftBootstrapSeed: true });
      await waitFor(() => a.broker.core.stream("after-failover") !== undefined, 30_000, "a catches up");
      expect(a.broker.core.raft.members).toHaveLength(3);
      await unary(a.client, "CreateStream", { name: "after-seed-restart", subject: "asr" });
    } finally {
      await c.close();
    }
  });
});

describe("metadata cluster: bootstrap peers, no controller", () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await createCluster();
    await Promise.all([
      c.start("p", { raftBootstrapPeers: ["q"] }),
      c.start("q", { raftBootstrapPeers: ["p"] }),
    ]);
  });
  afterAll(async () => {
    await c.close();
  });

  it("two peers bootstrap one group and elect a leader", async () => {
    const leader = await agreedLeader(c);
    expect(["p", "q"]).toContain(leader);
    expect(node(c, "p").broker.core.raft.members.sort()).toEqual(["p", "q"]);
    const follower = leader === "p" ? "q" : "p";
    await unary(node(c, follower).client, "CreateStream", { name: "s", subject: "s" });
    expect(node(c, leader).broker.core.stream("s")).toBeDefined();
  });

  it("without a controller, metadata writes fail with Internal 'no known metadata leader'", async () => {
    const leader = await agreedLeader(c);
    const follower = leader === "p" ? "q" : "p";
    await c.stop(leader);
    const f = node(c, follower);
    // One of two voters is no quorum: the follower's election times out and it knows no leader.
    await waitFor(() => f.broker.core.raft.leader === null, 30_000, "the leader to be forgotten");
    const err = await codeOf(unary(f.client, "CreateStream", { name: "t", subject: "t" }, 1500));
    expect(err).toEqual({ code: grpc.status.INTERNAL, details: "no known metadata leader" });
    // Reads still work locally.
    const md = await unary<MetadataRes>(f.client, "FetchMetadata", {});
    expect(md.streamMetadata.map((s) => s.name)).toEqual(["s"]);
  });
});

describe("metadata cluster: snapshots, non-voters, resume through a non-leader", () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await createCluster();
    // A small snapshot threshold: a late joiner gets the state as a snapshot, not as log entries.
    await c.start("s", { raftBootstrapSeed: true, raftSnapshotThreshold: 4, raftMaxQuorumSize: 1 });
  });
  afterAll(async () => {
    await c.close();
  });

  it("a late joiner beyond max.quorum.size is a non-voter and gets the streams from a snapshot", async () => {
    for (let i = 0; i < 8; i++)
      await unary(node(c, "s").client, "CreateStream", { name: `z${i}`, subject: `z${i}` });
    await unary(node(c, "s").client, "PauseStream", { name: "z1" });
    const lines: string[] = [];
    const t = await c.start("t", { raftSnapshotThreshold: 4, logger: recordingLogger(lines) });
    expect(t.broker.core.raft.members.sort()).toEqual(["s", "t"]);
    expect(t.broker.core.raft.voterCount).toBe(1);
    await waitFor(() => t.broker.core.stream("z7") !== undefined, 30_000, "the snapshot");
    // The snapshot came while joining, before the broker reconciled its streams from the state.
    expect(lines.indexOf("restoring snapshot")).toBeGreaterThanOrEqual(0);
    expect(lines.indexOf("restoring snapshot")).toBeLessThan(lines.indexOf("broker started"));
    expect(t.broker.core.stream("z1")!.partitions[0]!.paused).toBe(true);
    // The partitions exist on t (not led there): Subscribe says "not leader", not "no such partition".
    const sub = subscribe(t.client, { stream: "z3", partition: 0, startPosition: 2 });
    expect((await sub.status).code).toBe(grpc.status.FAILED_PRECONDITION);
    // A non-voter forwards metadata writes like any follower.
    await unary(t.client, "CreateStream", { name: "from-t", subject: "from-t" });
    expect(node(c, "s").broker.core.stream("from-t")).toBeDefined();
    // Placement counts non-voters: t carries no partition yet, so the new stream is led there.
    expect(node(c, "s").broker.core.stream("from-t")!.partitions[0]!.leader).toBe("t");
  });

  it("a member that fell behind a compacted log restarts and catches up through a snapshot while serving", async () => {
    await c.stop("t");
    await unary(node(c, "s").client, "DeleteStream", { name: "z0" });
    // Enough entries for s to compact past t's log (pauses: no new partition to place on the absent t).
    for (let i = 2; i < 8; i++) await unary(node(c, "s").client, "PauseStream", { name: `z${i}` });
    const lines: string[] = [];
    const t = await c.start("t", { raftSnapshotThreshold: 4, logger: recordingLogger(lines) });
    await waitFor(() => t.broker.core.stream("z7")?.partitions[0]?.paused === true, 30_000, "the snapshot");
    expect(lines).toContain("metadata restored from a snapshot");
    expect(t.broker.core.stream("z0")).toBeUndefined();
    expect(t.broker.core.partition("z0", 0)).toBeUndefined();
    // The stream t leads was reopened from the new state and still has its subscription.
    await waitFor(() => t.broker.core.partition("from-t", 0)?.log !== undefined, 30_000, "from-t reopened");
    const sub = subscribe(t.client, { stream: "z2", partition: 0, startPosition: 2 });
    expect((await sub.status).code).toBe(grpc.status.FAILED_PRECONDITION);
  });

  it("Publish through a non-leader resumes a paused partition first (forwarded), then gets its ack", async () => {
    const t = node(c, "t");
    expect(t.broker.core.stream("z1")!.partitions[0]!.leader).toBe("s");
    const res = await unary<{ ack: { offset: string } }>(t.client, "Publish", {
      stream: "z1",
      value: enc("wake"),
      ackPolicy: 0,
    });
    expect(Number(res.ack.offset)).toBe(0);
    expect(node(c, "s").broker.core.stream("z1")!.partitions[0]!.paused).toBe(false);
    // And through the leader of "from-t" (t), a publish arriving from s's API.
    const res2 = await unary<{ ack: { offset: string } }>(node(c, "s").client, "Publish", {
      stream: "from-t",
      value: enc("x"),
      ackPolicy: 0,
    });
    expect(Number(res2.ack.offset)).toBe(0);
    expect(t.broker.core.partition("from-t", 0)!.log!.newestOffset).toBe(0);
  });
});
