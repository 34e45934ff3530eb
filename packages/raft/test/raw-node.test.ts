import { describe, expect, it } from "vitest";
import {
  bootstrapMemoryStorage,
  confChangeOf,
  createRawNode,
  decodeMessage,
  encodeMessage,
  type MemoryStorage,
  type Message,
  msg,
  type RawNode,
  type RawNodeOptions,
  type Ready,
} from "../src/index.js";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface N {
  node: RawNode;
  storage: MemoryStorage;
  applied: Uint8Array[];
}

function cluster(ids: string[], extra: Partial<RawNodeOptions> = {}) {
  const nodes = new Map<string, N>();
  ids.forEach((id, i) => {
    const storage = bootstrapMemoryStorage(ids);
    nodes.set(id, {
      node: createRawNode({ ...extra, id, storage, random: lcg(i + 1) }),
      storage,
      applied: [],
    });
  });
  const handle = (n: N, rd: Ready): Message[] => {
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    for (const e of rd.committed) {
      if (e.kind === "normal") n.applied.push(e.data);
      if (e.kind === "conf") n.node.applyConf(confChangeOf(e));
    }
    n.node.advance(rd);
    return [...rd.messages];
  };
  const stabilize = () => {
    for (let round = 0; round < 1000; round++) {
      const out: Message[] = [];
      for (const n of nodes.values()) while (n.node.hasReady()) out.push(...handle(n, n.node.ready()));
      if (out.length === 0) return;
      for (const m of out) nodes.get(m.to)?.node.step(decodeMessage(encodeMessage(m)));
    }
    throw new Error("did not stabilize");
  };
  return { nodes, stabilize };
}

describe("RawNode", () => {
  it("elects a leader, replicates and commits on a 3-node cluster", () => {
    const c = cluster(["a", "b", "c"]);
    const a = c.nodes.get("a")!;
    c.stabilize();
    a.node.campaign();
    c.stabilize();
    expect(a.node.status().role).toBe("leader");
    const r = a.node.propose(new TextEncoder().encode("x"));
    expect(r.ok).toBe(true);
    c.stabilize();
    for (const n of c.nodes.values()) {
      expect(n.applied.map((d) => new TextDecoder().decode(d))).toEqual(["x"]);
      expect(n.node.status().commit).toBe(3);
    }
  });

  it("refuses proposals on followers", () => {
    const c = cluster(["a", "b", "c"]);
    c.stabilize();
    c.nodes.get("a")!.node.campaign();
    c.stabilize();
    expect(c.nodes.get("b")!.node.propose(new Uint8Array(1))).toEqual({ ok: false, reason: "not_leader" });
  });

  it("serves a ReadIndex after a quorum heartbeat round", () => {
    const c = cluster(["a", "b", "c"]);
    const a = c.nodes.get("a")!;
    c.stabilize();
    a.node.campaign();
    c.stabilize();
    const id = a.node.readIndex();
    const states: { readId: string; index: number }[] = [];
    const origReady = a.node.ready.bind(a.node);
    a.node.ready = () => {
      const rd = origReady();
      states.push(...rd.readStates);
      return rd;
    };
    c.stabilize();
    expect(states).toEqual([{ readId: id, index: a.node.status().commit }]);
  });
});

describe("RawNode features", () => {
  const started = () => {
    const c = cluster(["a", "b", "c"]);
    c.stabilize();
    c.nodes.get("a")!.node.campaign();
    c.stabilize();
    return c;
  };

  it("batches proposals made between two Readies into one append per follower", () => {
    const c = started();
    const a = c.nodes.get("a")!.node;
    for (let i = 0; i < 5; i++) a.propose(new Uint8Array([i]));
    const rd = a.ready();
    const apps = rd.messages.filter((m) => m.type === "app");
    expect(apps.map((m) => m.to).sort()).toEqual(["b", "c"]);
    expect(apps.every((m) => m.entries.length === 5)).toBe(true);
  });

  it("caps in-flight appends per follower (flow control)", () => {
    const storageIds = ["a", "b"];
    const s = bootstrapMemoryStorage(storageIds);
    const a = createRawNode({ id: "a", storage: s, random: lcg(1), maxInflightMsgs: 2, maxSizePerMsg: 1 });
    // Apply the bootstrap entry, then win an election with b's vote.
    let rd = a.ready();
    for (const e of rd.committed) if (e.kind === "conf") a.applyConf(confChangeOf(e));
    a.advance(rd);
    a.campaign();
    rd = a.ready();
    s.append(rd.entries);
    if (rd.hardState) s.setHardState(rd.hardState);
    a.advance(rd);
    a.step({
      ...rd.messages.find((m) => m.type === "pre_vote" || m.type === "vote")!,
      type: "pre_vote_resp",
      from: "b",
      to: "a",
      reject: false,
    });
    rd = a.ready();
    a.advance(rd);
    const vote = rd.messages.find((m) => m.type === "vote")!;
    a.step({ ...vote, type: "vote_resp", from: "b", to: "a", reject: false });
    expect(a.status().role).toBe("leader");
    rd = a.ready();
    s.append(rd.entries);
    a.advance(rd);
    // b acks the no-op probe, so its progress moves to replicate.
    const probe = rd.messages.find((m) => m.type === "app")!;
    a.step({
      ...probe,
      type: "app_resp",
      from: "b",
      to: "a",
      index: probe.index + probe.entries.length,
      entries: [],
    });
    a.ready();
    for (let i = 0; i < 6; i++) a.propose(new Uint8Array([i]));
    const out = a.ready();
    expect(out.messages.filter((m) => m.type === "app" && m.to === "b").length).toBe(2);
    expect(a.status().progress.b!.inflight).toBe(2);
  });

  it("drops proposals with backpressure past maxUncommittedBytes", () => {
    const c = cluster(["a", "b", "c"], { maxUncommittedBytes: 100 });
    c.stabilize();
    const a = c.nodes.get("a")!.node;
    a.campaign();
    c.stabilize();
    expect(a.propose(new Uint8Array(60)).ok).toBe(true);
    expect(a.propose(new Uint8Array(60))).toEqual({ ok: false, reason: "backpressure" });
    c.stabilize(); // once committed, the budget is free again
    expect(a.propose(new Uint8Array(60)).ok).toBe(true);
  });

  it("backtracks a divergent follower in one step with conflict hints", () => {
    const conf = ["a", "b", "c"];
    const ents = (lo: number, hi: number, term: number) =>
      Array.from({ length: hi - lo + 1 }, (_, i) => ({
        index: lo + i,
        term,
        kind: "normal" as const,
        data: new Uint8Array(1),
      }));
    const sa = bootstrapMemoryStorage(conf);
    sa.append([...ents(2, 10, 2), ...ents(11, 100, 3)]);
    sa.setHardState({ term: 3, vote: null, commit: 1 });
    const sb = bootstrapMemoryStorage(conf);
    sb.append(ents(2, 100, 2)); // diverges from index 11 on
    sb.setHardState({ term: 3, vote: null, commit: 1 });
    const a = createRawNode({ id: "a", storage: sa, random: lcg(1), preVote: false });
    const b = createRawNode({ id: "b", storage: sb, random: lcg(2), preVote: false });
    const handle = (n: RawNode, s: MemoryStorage): Message[] => {
      const out: Message[] = [];
      while (n.hasReady()) {
        const rd = n.ready();
        s.append(rd.entries);
        if (rd.hardState) s.setHardState(rd.hardState);
        for (const e of rd.committed) if (e.kind === "conf") n.applyConf(confChangeOf(e));
        n.advance(rd);
        out.push(...rd.messages);
      }
      return out;
    };
    handle(a, sa);
    handle(b, sb);
    a.campaign();
    const vote = handle(a, sa).find((m) => m.type === "vote" && m.to === "c")!;
    a.step(msg({ type: "vote_resp", from: "c", to: "a", term: vote.term }));
    expect(a.status().role).toBe("leader");
    let rejects = 0;
    let toB = handle(a, sa).filter((m) => m.to === "b");
    for (let round = 0; round < 10 && toB.length > 0; round++) {
      for (const m of toB) b.step(m);
      const back = handle(b, sb);
      rejects += back.filter((m) => m.type === "app_resp" && m.reject).length;
      for (const m of back) a.step(m);
      toB = handle(a, sa).filter((m) => m.to === "b" && m.type === "app");
    }
    expect(rejects).toBe(1); // one hint jumps from index 101 straight back to 10
    expect(sb.term(50)).toBe(3);
    expect(b.status().lastIndex).toBe(101);
  });

  it("transfers leadership to an up-to-date follower", () => {
    const c = started();
    const a = c.nodes.get("a")!.node;
    a.propose(new Uint8Array([1]));
    c.stabilize();
    a.transferLeadership("b");
    expect(a.propose(new Uint8Array([2]))).toEqual({ ok: false, reason: "transferring" });
    c.stabilize();
    expect(c.nodes.get("b")!.node.status().role).toBe("leader");
    expect(a.status().role).toBe("follower");
  });

  it("promotes a learner only after it caught up", () => {
    const c = started();
    const a = c.nodes.get("a")!.node;
    expect(a.proposeConf({ changes: [{ type: "add_learner", node: "d" }] }).ok).toBe(true);
    c.stabilize(); // d does not exist: it never acknowledges anything
    expect(a.proposeConf({ changes: [{ type: "add_voter", node: "d" }] })).toEqual({
      ok: false,
      reason: "learner_behind",
    });
  });

  it("applies a joint configuration change and auto-leaves it", () => {
    const c = started();
    const a = c.nodes.get("a")!.node;
    const r = a.proposeConf({
      changes: [
        { type: "remove", node: "c" },
        { type: "add_learner", node: "c" },
      ],
      transition: "joint_implicit",
    });
    expect(r.ok).toBe(true);
    c.stabilize();
    const conf = a.status().conf;
    expect(conf.voters).toEqual(["a", "b"]);
    expect(conf.votersOutgoing).toEqual([]);
    expect(conf.learners).toEqual(["c"]);
    expect(a.proposeConf({ changes: [{ type: "add_voter", node: "c" }] }).ok).toBe(true);
    expect(a.proposeConf({ changes: [{ type: "add_voter", node: "d" }] })).toEqual({
      ok: false,
      reason: "conf_pending",
    });
    c.stabilize();
    expect(a.status().conf.voters).toEqual(["a", "b", "c"]);
  });
});

describe("ReadIndex batching", () => {
  it("serves reads issued between two Readies with one heartbeat round", () => {
    const c = cluster(["a", "b", "c"]);
    c.stabilize();
    const a = c.nodes.get("a")!.node;
    a.campaign();
    c.stabilize();
    const ids = [a.readIndex(), a.readIndex(), a.readIndex()];
    const rd = a.ready();
    const beats = rd.messages.filter((m) => m.type === "heartbeat");
    expect(beats.length).toBe(2); // one round (to b and c) for three reads
    expect(new Set(beats.map((m) => m.context))).toEqual(new Set([ids[2]]));
    a.advance(rd);
    for (const m of beats) c.nodes.get(m.to)!.node.step(m);
    const states: string[] = [];
    for (const id of ["b", "c"]) {
      const n = c.nodes.get(id)!.node;
      const r = n.ready();
      n.advance(r);
      for (const m of r.messages) a.step(m);
    }
    const out = a.ready();
    states.push(...out.readStates.map((s) => s.readId));
    expect(states).toEqual(ids);
  });
});
