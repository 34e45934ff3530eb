import { describe, expect, it } from "vitest";
import { LeaderEpochCache } from "../src/internal.js";

describe("LeaderEpochCache (spec §1.5)", () => {
  it("assigns only newer epochs at non-decreasing offsets", () => {
    const c = new LeaderEpochCache();
    expect(c.assign(1, 0)).toBe(true);
    expect(c.assign(1, 5)).toBe(false);
    expect(c.assign(0, 5)).toBe(false);
    expect(c.assign(3, 4)).toBe(true);
    expect(c.assign(4, 3)).toBe(false);
    expect(c.entries).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 4 },
    ]);
    expect(c.lastOffsetForLeaderEpoch(1)).toBe(4);
    expect(c.lastOffsetForLeaderEpoch(2)).toBe(4);
    expect(c.lastOffsetForLeaderEpoch(3)).toBe(-1);
  });
  it("clearLatest and clearEarliest", () => {
    const c = new LeaderEpochCache([
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 5 },
      { epoch: 3, startOffset: 8 },
    ]);
    c.clearEarliest(6);
    expect(c.entries).toEqual([
      { epoch: 2, startOffset: 6 },
      { epoch: 3, startOffset: 8 },
    ]);
    c.clearLatest(8);
    expect(c.entries).toEqual([{ epoch: 2, startOffset: 6 }]);
    c.clearEarliest(10);
    expect(c.entries).toEqual([{ epoch: 2, startOffset: 10 }]);
  });
  it("round-trips the checkpoint format and rejects bad files", () => {
    const c = new LeaderEpochCache([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 10 },
    ]);
    expect(c.toCheckpoint()).toBe("0\n2\n1 0\n3 10\n");
    expect(LeaderEpochCache.fromCheckpoint(c.toCheckpoint()).entries).toEqual(c.entries);
    expect(() => LeaderEpochCache.fromCheckpoint("1\n0\n")).toThrow();
    expect(() => LeaderEpochCache.fromCheckpoint("0\n2\n1 0\n")).toThrow();
    expect(() => LeaderEpochCache.fromCheckpoint("0\n2\n1 0\n1 4\n")).toThrow();
  });
});
