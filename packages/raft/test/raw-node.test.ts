import { describe, expect, it } from "vitest";
import {
  bootstrapMemoryStorage,
  confChangeOf,
  createRawNode,
  decodeMessage,
  encodeMessage,
  type MemoryStorage,
  type Message,
  type RawNode,
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

function cluster(ids: string[]) {
  const nodes = new Map<string, N>();
  ids.forEach((id, i) => {
    const storage = bootstrapMemoryStorage(ids);
    nodes.set(id, { node: createRawNode({ id, storage, random: lcg(i + 1) }), storage, applied: [] });
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
