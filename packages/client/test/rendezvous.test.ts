import { describe, expect, it } from "vitest";
import { rendezvousScore } from "../src/rendezvous.js";

const pick = (nodes: readonly string[], key: string) =>
  nodes.reduce((best, n) => (rendezvousScore(n, key) > rendezvousScore(best, key) ? n : best));

describe("rendezvousScore", () => {
  it("spreads small, similar key sets over every node, whatever the node addresses", () => {
    // Keys like the publish routes of streams h0..h11 with 2 partitions; ports vary per run in tests.
    const keys = Array.from({ length: 24 }, (_, i) => `h${i >> 1}:${i & 1}`);
    for (let base = 30000; base < 60000; base += 977) {
      const nodes = [0, 1, 2].map((i) => `127.0.0.1:${base + i * 13}`);
      const used = new Set(keys.map((k) => pick(nodes, k)));
      expect(used.size, `ports from ${base}`).toBeGreaterThan(1);
    }
  });

  it("moves only the keys of a removed node", () => {
    const nodes = ["a:1", "b:2", "c:3", "d:4"];
    const keys = Array.from({ length: 200 }, (_, i) => `s${i}:0`);
    const before = new Map(keys.map((k) => [k, pick(nodes, k)]));
    const after = new Map(keys.map((k) => [k, pick(nodes.slice(0, 3), k)]));
    for (const k of keys) if (before.get(k) !== "d:4") expect(after.get(k)).toBe(before.get(k));
  });
});
