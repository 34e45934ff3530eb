import { describe, expect, it } from "vitest";
import { formatGrpcTimeout, parseGrpcTimeout } from "../src/index.js";

describe("grpc-timeout", () => {
  it.each([
    ["1H", 3_600_000],
    ["2M", 120_000],
    ["3S", 3000],
    ["250m", 250],
    ["1500u", 1.5],
    ["2000000n", 2],
    ["99999999m", 99_999_999],
  ])("parses %s as %d ms", (value, ms) => {
    expect(parseGrpcTimeout(value)).toBeCloseTo(ms);
  });

  it.each(["", "m", "123456789m", "10x", "-1m", "1.5S", " 1S"])("rejects %j", (value) => {
    expect(parseGrpcTimeout(value)).toBeUndefined();
  });

  it("formats with at most 8 digits, rounding up", () => {
    expect(formatGrpcTimeout(0)).toBe("0m");
    expect(formatGrpcTimeout(-5)).toBe("0m");
    expect(formatGrpcTimeout(1.2)).toBe("2m");
    expect(formatGrpcTimeout(99_999_999)).toBe("99999999m");
    expect(formatGrpcTimeout(100_000_000)).toBe("100000S");
    expect(formatGrpcTimeout(1e15)).toMatch(/^\d{1,8}H$/);
    for (const ms of [1, 999, 123_456_789, 1e12])
      expect(parseGrpcTimeout(formatGrpcTimeout(ms))).toBeGreaterThanOrEqual(ms);
  });
});
