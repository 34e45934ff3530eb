import { checkKvLinearizable, encodeKvCommand, SimFs, TraceRecorder } from "@liftbridge/testkit";
import { describe, expect, it } from "vitest";
import { createRawNode, FileStorage, MemoryStorage, type Message, msg } from "../../src/index.js";
import { SimCluster, type SimClusterOptions } from "./cluster.js";

// Raft timing in the simulation: 10 ms ticks, 10-tick election timeout → ET = 100 ms (virtual).
const ET = 100;
const cmd = (v: string) => encodeKvCommand({ op: "put", key: "raw", value: v, id: v });

function cluster(nodes: number, opts: Partial<SimClusterOptions> = {}, seed = 42n): SimCluster {
  return new SimCluster({ seed, nodes, trace: new TraceRecorder(50), ...opts });
}

function elect(c: SimCluster, id: string): void {
  c.runFor(5);
  c.withCore(id, (core) => core.campaign());
  const ok = c.runUntil(() => c.leader()?.id === id && c.leader()!.core!.status().commit >= 2, 20 * ET);
  if (!ok) throw new Error(`could not elect ${id}: ${c.summary()}`);
}

function waitLeader(c: SimCluster, maxMs = 50 * ET): string {
  const ok = c.runUntil(() => c.leader() !== null, maxMs);
  if (!ok) throw new Error(`no leader: ${c.summary()}`);
  return c.leader()!.id;
}

function writeOk(c: SimCluster, key: string, value: string, maxMs = 30 * ET): void {
  for (let attempt = 0; attempt < 10; attempt++) {
    const l = waitLeader(c);
    const op = c.write(l, key, value);
    c.runUntil(() => op.outcome !== null, maxMs);
    if (op.outcome === "ok") return;
  }
  throw new Error(`write ${key}=${value} never succeeded: ${c.summary()}`);
}

/** Whether the leader `l` sees `id` caught up with its commit index. */
function caughtUp(c: SimCluster, l: string, id: string): boolean {
  const s = c.nodes.get(l)!.core!.status();
  return (s.progress[id]?.match ?? -1) >= s.commit;
}

/** Heals, restarts everything, waits for convergence, then checks every invariant and linearizability. */
function finish(c: SimCluster): void {
  c.net.heal();
  c.net.dropIf = null;
  for (const id of c.ids()) if (!c.nodes.get(id)!.up) c.start(id);
  const l = waitLeader(c);
  writeOk(c, "final", "x");
  const converged = c.runUntil(() => {
    const leader = c.leader();
    if (!leader) return false;
    const s = leader.core!.status();
    return [...s.conf.voters, ...s.conf.learners].every((id) => {
      const n = c.nodes.get(id);
      return n?.core && n.core.status().applied >= s.commit;
    });
  }, 100 * ET);
  expect(converged, `converged from ${l}: ${c.summary()}`).toBe(true);
  const reads = ["a", "b", "final"].map((k) => c.read(c.leader()!.id, k, "final"));
  c.runUntil(() => reads.every((r) => r.outcome !== null), 30 * ET);
  c.runUntil(() => c.allOpsDone(), 40 * ET);
  c.checkAll();
  c.history.closeAll();
  const lin = checkKvLinearizable(c.history.ops);
  expect(lin.ok, `linearizable (bad key ${lin.badKey})`).toBe(true);
}

describe("raft scenarios (brief part D, 1-20)", () => {
  it("1 raft/minority-leader-uncommitted-overwritten", () => {
    const c = cluster(5);
    elect(c, "n1");
    writeOk(c, "a", "committed");
    c.net.partition([
      ["n1", "n2"],
      ["n3", "n4", "n5"],
    ]);
    const lost = [c.write("n1", "a", "minority-1"), c.write("n1", "b", "minority-2")];
    const tail = c.nodes.get("n1")!.core!.status().lastIndex;
    c.runFor(5 * ET);
    expect(lost.every((o) => o.outcome !== "ok")).toBe(true);
    c.withCore("n3", (core) => core.campaign());
    c.runUntil(() => c.leader()?.id !== "n1" && c.leader() !== null, 30 * ET);
    writeOk(c, "a", "majority");
    c.net.heal();
    c.runUntil(() => c.nodes.get("n1")!.core!.status().applied >= c.leader()!.core!.status().commit, 50 * ET);
    // n1's uncommitted tail was overwritten with the new leader's entries.
    const newTerm = c.appliedTerm(tail);
    expect(newTerm).toBeGreaterThan(2);
    expect(lost.every((o) => o.outcome !== "ok")).toBe(true);
    finish(c);
  });

  it("2 raft/figure8-previous-term-commit", () => {
    const c = cluster(5, { preVote: false, maxSizePerMsg: 1 });
    elect(c, "n1");
    // n1 replicates X only to n2.
    c.net.dropIf = (from, to, m) => from === "n1" && m.type === "app" && to !== "n2";
    const xTerm = c.nodes.get("n1")!.core!.status().term;
    const xIndex = c.proposeRaw("n1", cmd("X"));
    c.runUntil(() => c.nodes.get("n2")!.core!.status().lastIndex >= xIndex, 10 * ET);
    c.crash("n1");
    // n5 wins with n3 and n4 but its entries never leave it; then it crashes.
    c.net.dropIf = (from, _to, m) => from === "n5" && m.type === "app";
    c.withCore("n5", (core) => core.campaign());
    c.runUntil(() => c.leader()?.id === "n5", 20 * ET);
    c.crash("n5");
    // n1 returns and wins a later term; it may send X to n3 but not its own no-op.
    c.start("n1");
    // n1 may send X to n3 (after probing) but not its own no-op, and nothing to n4.
    c.net.dropIf = (from, to, m) =>
      from === "n1" &&
      m.type === "app" &&
      (to === "n4" ||
        (to === "n3" &&
          c.nodes.get("n3")!.core!.termAt(xIndex) === xTerm &&
          m.entries.some((e) => e.index > xIndex)));
    c.withCore("n1", (core) => core.campaign());
    c.runUntil(() => c.leader()?.id === "n1", 20 * ET);
    c.runFor(10 * ET);
    const n1 = c.nodes.get("n1")!.core!.status();
    const holders = ["n1", "n2", "n3"].filter((id) => c.nodes.get(id)!.core!.termAt(xIndex) === xTerm).length;
    expect(holders).toBe(3); // X is on a majority...
    expect(n1.commit).toBeLessThan(xIndex); // ...but an old-term entry is not committed by counting replicas
    c.net.dropIf = null;
    c.runUntil(() => c.appliedTerm(xIndex) !== undefined, 20 * ET);
    expect(c.appliedTerm(xIndex)).toBe(xTerm); // committed only via the current-term no-op
    finish(c);
  });

  it("3 raft/prevote-partitioned-rejoin", () => {
    const c = cluster(3);
    elect(c, "n1");
    const term = c.nodes.get("n1")!.core!.status().term;
    c.net.isolate("n3", c.ids());
    c.runFor(20 * ET);
    expect(c.nodes.get("n3")!.core!.status().term).toBe(term);
    c.net.heal();
    c.runFor(10 * ET);
    expect(c.leader()?.id).toBe("n1");
    expect(c.leader()!.core!.status().term).toBe(term);
    finish(c);
  });

  it("4 raft/checkquorum-stepdown", () => {
    const c = cluster(3);
    elect(c, "n1");
    c.net.isolate("n1", c.ids());
    const read = c.read("n1", "a");
    const t0 = c.queue.now;
    c.runUntil(() => c.nodes.get("n1")!.core!.status().role !== "leader", 3 * ET);
    expect(c.nodes.get("n1")!.core!.status().role).not.toBe("leader");
    expect(c.queue.now - t0).toBeLessThanOrEqual(ET + 2 * 10 + 5);
    c.runUntil(() => read.outcome !== null, ET);
    expect(read.outcome).toBe("fail"); // the ReadIndex is refused
    finish(c);
  });

  it("5 raft/stranded-higher-term-prevote-checkquorum", () => {
    const c = cluster(3);
    elect(c, "n1");
    c.net.isolate("n3", c.ids());
    // Force n3 into a real election while isolated (as a TimeoutNow would): it is stranded at a higher term.
    const term = c.nodes.get("n1")!.core!.status().term;
    c.withCore("n3", (core) => core.step(msg({ type: "timeout_now", from: "n1", to: "n3", term })));
    c.runFor(5 * ET);
    expect(c.nodes.get("n3")!.core!.status().term).toBe(term + 1);
    c.net.heal();
    const recovered = c.runUntil(() => {
      const l = c.leader();
      return (
        l !== null &&
        l.core!.status().term > term &&
        c.ids().every((id) => c.nodes.get(id)!.core!.status().term === l.core!.status().term)
      );
    }, 50 * ET);
    expect(recovered, c.summary()).toBe(true);
    finish(c);
  });

  it("6 raft/bridge-partition", () => {
    const c = cluster(5);
    elect(c, "n1");
    const term = c.nodes.get("n1")!.core!.status().term;
    c.net.bridge(["n1"], "n2", ["n3", "n4", "n5"]);
    const ok = c.runUntil(() => {
      const l = c.leader();
      return l !== null && l.id !== "n1" && l.core!.status().term > term;
    }, 50 * ET);
    expect(ok, c.summary()).toBe(true);
    expect(c.nodes.get("n1")!.core!.status().role).not.toBe("leader");
    writeOk(c, "a", "bridge");
    finish(c);
  });

  it("7 raft/duplicate-readindex-late-heartbeat-acks", () => {
    const c = cluster(3);
    elect(c, "n1");
    writeOk(c, "a", "v1");
    // Heartbeat acks of the first read are duplicated and arrive very late.
    c.net.faults = { ...c.net.faults, dupRate: 1, longTailRate: 1, longTailMs: 3 * ET };
    const r1 = c.read("n1", "a");
    c.runUntil(() => r1.outcome !== null, 10 * ET);
    expect(r1.outcome).toBe("ok");
    c.net.faults = { ...c.net.faults, dupRate: 0, longTailRate: 0 };
    // n1 is cut off while late duplicates are still in flight; the others move on.
    c.net.isolate("n1", c.ids());
    c.withCore("n2", (core) => core.campaign());
    c.runUntil(() => c.leader()?.id === "n2", 20 * ET);
    const r2 = c.read("n1", "a");
    writeOk(c, "a", "v2");
    c.runUntil(() => r2.outcome !== null, 10 * ET);
    expect(r2.outcome).not.toBe("ok"); // no stale read from old acks
    finish(c);
  });

  it("8 raft/readindex-before-noop-commit", () => {
    const c = cluster(3);
    elect(c, "n1");
    writeOk(c, "a", "v1");
    // n2 becomes leader but its appends (the no-op) are held back.
    c.net.dropIf = (from, _to, m) => from === "n2" && m.type === "app";
    c.withCore("n2", (core) =>
      core.step(msg({ type: "timeout_now", from: "n1", to: "n2", term: core.status().term })),
    );
    c.runUntil(() => c.nodes.get("n2")!.core!.status().role === "leader", 10 * ET);
    const read = c.read("n2", "a");
    c.runFor(3 * ET);
    expect(read.outcome).toBeNull(); // waits for a commit in the new term
    c.net.dropIf = null;
    c.runUntil(() => read.outcome !== null, 10 * ET);
    expect(read.outcome).toBe("ok");
    expect(read.value).toBe("v1");
    finish(c);
  });

  it("9 raft/lease-read-drift", () => {
    // Within the bound: lease reads are served locally and stay linearizable across a partition.
    const c = cluster(3, { readOnly: "lease", maxClockDriftTicks: 2 });
    c.nodes.get("n1")!.clock.drift = -0.05;
    c.nodes.get("n2")!.clock.drift = 0.05;
    c.nodes.get("n3")!.clock.drift = 0.05;
    elect(c, "n1");
    writeOk(c, "a", "v1");
    c.runFor(2 * ET);
    const local = c.read("n1", "a");
    c.runUntil(() => local.outcome !== null, ET);
    expect(local.outcome).toBe("ok");
    expect(local.completeMs - local.invokeMs).toBeLessThan(3); // no heartbeat round trip
    c.net.isolate("n1", c.ids());
    const stale: ReturnType<SimCluster["read"]>[] = [];
    for (let i = 0; i < 40; i++) {
      stale.push(c.read("n1", "a"));
      if (i === 5) c.withCore("n2", (core) => core.campaign());
      c.runFor(ET / 4);
      if (c.leader()?.id === "n2" && i > 5) {
        const w = c.write("n2", "a", `v2-${i}`);
        c.runUntil(() => w.outcome !== null, 5 * ET);
      }
    }
    finish(c);
    // Beyond the bound (lease window <= 0): reads fall back to a ReadIndex round.
    const d = cluster(3, { readOnly: "lease", maxClockDriftTicks: 10 }, 43n);
    elect(d, "n1");
    writeOk(d, "a", "v1");
    const r = d.read("n1", "a");
    d.runUntil(() => r.outcome !== null, 5 * ET);
    expect(r.outcome).toBe("ok");
    expect(r.completeMs - r.invokeMs).toBeGreaterThan(0.5);
    finish(d);
  });

  it("10 raft/transfer-to-partitioned-target", () => {
    const c = cluster(3);
    elect(c, "n1");
    c.net.isolate("n3", c.ids());
    c.withCore("n1", (core) => core.transferLeadership("n3"));
    const blocked = c.write("n1", "a", "during-transfer");
    expect(blocked.outcome).toBe("fail");
    c.runFor(ET + 30);
    expect(c.nodes.get("n1")!.core!.status().leadTransferee).toBeNull();
    expect(c.leader()?.id).toBe("n1");
    writeOk(c, "a", "after-abort");
    finish(c);
  });

  it("11 raft/async-append-aba", () => {
    const storage = new MemoryStorage();
    storage.applySnapshot({
      meta: {
        index: 0,
        term: 0,
        conf: {
          voters: ["a", "b", "c"],
          votersOutgoing: [],
          learners: [],
          learnersNext: [],
          autoLeave: false,
        },
      },
      data: new Uint8Array(0),
    });
    const node = createRawNode({ id: "b", storage, random: () => 0.5 });
    const e = (index: number, term: number, s: string) => ({
      index,
      term,
      kind: "normal" as const,
      data: new TextEncoder().encode(s),
    });
    const app = (term: number, from: string, entries: ReturnType<typeof e>[]): Message =>
      msg({ type: "app", from, to: "b", term, index: 0, logTerm: 0, entries, commit: 0 });
    node.step(app(2, "a", [e(1, 2, "A")]));
    const rd1 = node.ready(); // write of (1,2) "A" in flight
    expect(rd1.entries.map((x) => x.term)).toEqual([2]);
    node.step(app(3, "c", [e(1, 3, "C")])); // truncated by term 3
    node.step(app(4, "a", [e(1, 2, "A")])); // and back to (1,2) by term 4
    node.advance(rd1); // the stale ack for the first write must not mark the re-append stable
    const rd2 = node.ready();
    expect(rd2.entries.map((x) => `${x.index}/${x.term}`)).toEqual(["1/2"]);
    storage.append(rd2.entries);
    if (rd2.hardState) storage.setHardState(rd2.hardState);
    node.advance(rd2);
    expect(node.status().lastIndex).toBe(1);
    expect(storage.term(1)).toBe(2);
  });

  it("12 raft/vote-then-crash-before-fsync", () => {
    const c = cluster(3, { preVote: false, fsyncMs: [40, 40] });
    c.runFor(5);
    c.withCore("n1", (core) => core.campaign());
    const n2 = c.nodes.get("n2")!;
    const voting = c.runUntil(() => n2.busy && n2.core!.status().vote === "n1", ET);
    expect(voting).toBe(true);
    c.crash("n2"); // the vote is not durable yet, and its response was never sent
    c.start("n2");
    const hs = n2.storage!.initialState().hardState;
    expect(hs.vote === "n1" && hs.term === c.nodes.get("n1")!.core!.status().term).toBe(false);
    finish(c); // OneVotePerTerm is checked on every vote sent
  });

  it("13 raft/torn-tail-restart", () => {
    const c = cluster(3, { fsyncMs: [30, 30] }, 7n);
    elect(c, "n1");
    writeOk(c, "a", "v1");
    const n3 = c.nodes.get("n3")!;
    const before = n3.durableLast;
    c.proposeRaw("n1", cmd("x".repeat(64)));
    c.proposeRaw("n1", cmd("y".repeat(64)));
    c.runUntil(() => n3.busy && n3.storage!.lastIndex() > before, 5 * ET);
    let torn = 0;
    for (let i = 0; i < 20 && torn === 0; i++) {
      c.crash("n3", { torn: true });
      c.start("n3");
      torn = n3.storage!.recovery.tornBytesDropped;
      if (torn === 0) c.runUntil(() => n3.busy && n3.storage!.lastIndex() > n3.durableLast, 5 * ET);
    }
    expect(n3.storage!.lastIndex()).toBeGreaterThanOrEqual(before); // synced data survives
    finish(c);
  });

  it("14 raft/truncated-suffix-not-resurrected", () => {
    const fs = new SimFs();
    const s = FileStorage.open(fs, "/n", { voters: ["a", "b", "c"] });
    const ent = (index: number, term: number) => ({
      index,
      term,
      kind: "normal" as const,
      data: new Uint8Array([index]),
    });
    s.append([2, 3, 4, 5, 6].map((i) => ent(i, 2)));
    s.setHardState({ term: 2, vote: "a", commit: 1 });
    s.sync();
    s.append([ent(3, 3)]); // a term-3 leader truncates 3.. and appends (3,3)
    s.setHardState({ term: 3, vote: null, commit: 1 });
    s.sync();
    fs.crash();
    const r = FileStorage.open(fs, "/n");
    expect(r.lastIndex()).toBe(3);
    expect(r.term(3)).toBe(3);
    // Votes use the real last (index 3, term 3): a candidate with (6, 2) is not up to date.
    const node = createRawNode({ id: "b", storage: r, random: () => 0.5, applied: 1 });
    node.step(msg({ type: "vote", from: "c", to: "b", term: 4, index: 6, logTerm: 2 }));
    const rd = node.ready();
    expect(rd.messages.find((m) => m.type === "vote_resp")?.reject).toBe(true);
  });

  it("15 raft/slow-follower-after-compaction", () => {
    const c = cluster(3, { snapshotEvery: 10, keepEntries: 2, maxSnapshotChunkBytes: 64 });
    elect(c, "n1");
    c.net.isolate("n3", c.ids());
    for (let i = 0; i < 30; i++) writeOk(c, i % 2 ? "a" : "b", `v${i}`);
    expect(c.nodes.get("n1")!.storage!.firstIndex()).toBeGreaterThan(c.nodes.get("n3")!.storage!.lastIndex());
    c.net.heal();
    const caught = c.runUntil(
      () => c.nodes.get("n3")!.kv.appliedIndex >= c.nodes.get("n1")!.core!.status().commit,
      50 * ET,
    );
    expect(caught, c.summary()).toBe(true);
    expect(c.nodes.get("n3")!.storage!.snapshot().meta.index).toBeGreaterThan(0);
    expect(c.nodes.get("n3")!.kv.get("a")).toBe(c.nodes.get("n1")!.kv.get("a"));
    finish(c);
  });

  it("16 raft/snapshot-install-crash-midway", () => {
    const c = cluster(3, { snapshotEvery: 10, keepEntries: 2, maxSnapshotChunkBytes: 32 });
    elect(c, "n1");
    c.net.isolate("n3", c.ids());
    for (let i = 0; i < 30; i++) writeOk(c, "a", `v${i}`);
    c.net.heal();
    // Only the first chunk of each snapshot gets through.
    c.net.dropIf = (_f, to, m) => to === "n3" && m.type === "snap" && m.snapshot!.offset > 0;
    c.runFor(5 * ET);
    const n3 = c.nodes.get("n3")!;
    expect(n3.storage!.snapshot().meta.index).toBe(0); // a partial snapshot is never applied
    c.crash("n3");
    c.start("n3");
    expect(n3.storage!.snapshot().meta.index).toBe(0);
    c.net.dropIf = null;
    const caught = c.runUntil(() => n3.kv.appliedIndex >= c.nodes.get("n1")!.core!.status().commit, 80 * ET);
    expect(caught, c.summary()).toBe(true);
    expect(n3.storage!.snapshot().meta.index).toBeGreaterThan(0);
    finish(c);
  });

  it("17 raft/joint-replace-leader", () => {
    const c = cluster(3);
    elect(c, "n1");
    const n4 = c.addEmptyNode();
    expect(c.proposeConf("n1", { changes: [{ type: "add_learner", node: n4 }] })).toBeGreaterThan(0);
    c.runUntil(
      () => c.nodes.get(n4)!.core!.status().conf.learners.includes(n4) && caughtUp(c, "n1", n4),
      30 * ET,
    );
    const idx = c.proposeConf("n1", {
      changes: [
        { type: "add_voter", node: n4 },
        { type: "remove", node: "n1" },
      ],
    });
    expect(idx).toBeGreaterThan(0);
    const left = c.runUntil(() => {
      const l = c.leader();
      return l !== null && l.id !== "n1" && l.core!.status().conf.votersOutgoing.length === 0;
    }, 50 * ET);
    expect(left, c.summary()).toBe(true);
    expect(c.leader()!.core!.status().conf.voters).toEqual(["n2", "n3", n4]);
    let n1Led = false;
    for (let i = 0; i < 20; i++) {
      c.runFor(ET);
      if (c.nodes.get("n1")!.core!.status().role !== "follower") n1Led = true;
    }
    expect(n1Led).toBe(false); // the removed leader cannot campaign
    writeOk(c, "a", "after-replace");
    finish(c);
  });

  it("18 raft/learner-must-vote", () => {
    const c = cluster(2);
    elect(c, "n1");
    const n3 = c.addEmptyNode();
    c.proposeConf("n1", { changes: [{ type: "add_learner", node: n3 }] });
    c.runUntil(() => c.nodes.get(n3)!.core!.status().conf.learners.includes(n3), 30 * ET);
    writeOk(c, "a", "v1");
    c.runUntil(() => caughtUp(c, "n1", n3), 10 * ET);
    // n3 misses its own promotion.
    c.net.isolate(n3, c.ids());
    expect(c.proposeConf("n1", { changes: [{ type: "add_voter", node: n3 }] })).toBeGreaterThan(0);
    c.runUntil(() => c.nodes.get("n2")!.core!.status().conf.voters.includes(n3), 30 * ET);
    expect(c.nodes.get(n3)!.core!.status().conf.learners).toContain(n3);
    c.crash("n1");
    c.net.heal();
    // n2 needs n3's vote; n3 still thinks it is a learner but must vote.
    c.withCore("n2", (core) => core.campaign());
    const ok = c.runUntil(() => c.leader()?.id === "n2", 30 * ET);
    expect(ok, c.summary()).toBe(true);
    writeOk(c, "a", "v2");
    finish(c);
  });

  it("19 raft/remove-partitioned-node-then-heal", () => {
    const c = cluster(5);
    elect(c, "n1");
    c.net.isolate("n5", c.ids());
    c.proposeConf("n1", { changes: [{ type: "remove", node: "n5" }] });
    c.runUntil(() => c.nodes.get("n1")!.core!.status().conf.voters.length === 4, 30 * ET);
    const term = c.nodes.get("n1")!.core!.status().term;
    c.net.heal();
    c.runFor(30 * ET);
    expect(c.leader()?.id).toBe("n1");
    expect(c.nodes.get("n1")!.core!.status().term).toBe(term); // the removed node disrupts nobody
    writeOk(c, "a", "after-heal");
    finish(c);
  });

  it("20a raft/all-killed-majority-restart", () => {
    const c = cluster(5);
    elect(c, "n1");
    for (let i = 0; i < 5; i++) writeOk(c, "a", `v${i}`);
    for (const id of c.ids()) c.crash(id, { torn: true });
    for (const id of ["n2", "n4", "n5"]) c.start(id);
    waitLeader(c);
    writeOk(c, "b", "after-restart");
    const r = c.read(c.leader()!.id, "a");
    c.runUntil(() => r.outcome !== null, 10 * ET);
    expect(r.value).toBe("v4"); // nothing acknowledged was lost
    finish(c);
  });

  it("20b raft/one-disk-wiped-after-new-leader", () => {
    const c = cluster(3);
    elect(c, "n1");
    for (let i = 0; i < 5; i++) writeOk(c, "a", `v${i}`);
    c.crash("n1");
    const l = waitLeader(c);
    c.start("n1");
    const victim = ["n1", "n2", "n3"].find((id) => id !== l && id !== "n1") ?? "n1";
    c.wipe(victim);
    c.start(victim); // comes back empty and unbootstrapped: it never campaigns
    // The operator replaces the wiped member with a fresh id (ids are never reused).
    const n4 = c.addEmptyNode();
    c.runUntil(
      () => c.proposeConf(c.leader()?.id ?? l, { changes: [{ type: "remove", node: victim }] }) > 0,
      20 * ET,
    );
    c.runUntil(() => c.leader()?.core?.status().conf.voters.length === 2, 30 * ET);
    c.runUntil(
      () => c.proposeConf(c.leader()!.id, { changes: [{ type: "add_voter", node: n4 }] }) > 0,
      20 * ET,
    );
    c.runUntil(() => c.leader()?.core?.status().conf.voters.includes(n4) ?? false, 30 * ET);
    writeOk(c, "b", "after-wipe");
    const r = c.read(c.leader()!.id, "a");
    c.runUntil(() => r.outcome !== null, 10 * ET);
    expect(r.value).toBe("v4");
    finish(c);
  });
});
