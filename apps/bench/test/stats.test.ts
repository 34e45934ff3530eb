import { describe, expect, it } from "vitest";
import { formatCount, median, quantile, summarize } from "../src/stats.js";

describe("stats", () => {
  it("takes the middle of odd samples and the mean of the middle pair of even ones", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
  it("refuses an empty sample", () => {
    expect(() => median([])).toThrow(RangeError);
  });
  it("summarizes with range", () => {
    expect(summarize([3, 9, 1])).toMatchObject({ median: 3, min: 1, max: 9 });
  });
  it("uses nearest-rank quantiles", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(values, 0.5)).toBe(50);
    expect(quantile(values, 0.99)).toBe(99);
    expect(quantile(values, 1)).toBe(100);
  });
  it("formats counts with units", () => {
    expect(formatCount(191_234)).toBe("191.2k");
    expect(formatCount(1_250_000)).toBe("1.25M");
  });
});
