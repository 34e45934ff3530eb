import { describe, expect, it } from "vitest";
import { planRetention, type SegmentStats } from "../src/index.js";

const segs = (n: number, size = 48, count = 1, ts = (i: number) => i * 1000): SegmentStats[] =>
  Array.from({ length: n }, (_, i) => ({
    baseOffset: i,
    sizeBytes: size,
    recordCount: count,
    lastTimestampMs: ts(i),
  }));

describe("planRetention (spec §1.8)", () => {
  it("bytes: five 48-byte segments with a 100-byte limit keep the last 2", () => {
    expect(planRetention(segs(5), { maxLogBytes: 100, maxLogMessages: 0, maxLogAgeMs: 0 }, 0)).toBe(3);
  });
  it("messages 15 and bytes 240 over twenty one-message segments keep the last 5", () => {
    expect(planRetention(segs(20), { maxLogBytes: 240, maxLogMessages: 15, maxLogAgeMs: 0 }, 0)).toBe(15);
  });
  it("messages alone", () => {
    expect(planRetention(segs(20), { maxLogBytes: 0, maxLogMessages: 15, maxLogAgeMs: 0 }, 0)).toBe(5);
  });
  it("age deletes old segments but never the last", () => {
    expect(planRetention(segs(5), { maxLogBytes: 0, maxLogMessages: 0, maxLogAgeMs: 1500 }, 4000)).toBe(3);
    expect(planRetention(segs(5), { maxLogBytes: 0, maxLogMessages: 0, maxLogAgeMs: 1 }, 1e9)).toBe(4);
  });
  it("never deletes the active segment, disabled limits do nothing", () => {
    expect(planRetention(segs(3, 1000, 100), { maxLogBytes: 1, maxLogMessages: 1, maxLogAgeMs: 0 }, 0)).toBe(
      2,
    );
    expect(planRetention(segs(3), { maxLogBytes: 0, maxLogMessages: 0, maxLogAgeMs: 0 }, 0)).toBe(0);
    expect(planRetention(segs(1), { maxLogBytes: 1, maxLogMessages: 1, maxLogAgeMs: 1 }, 1e9)).toBe(0);
  });
});
