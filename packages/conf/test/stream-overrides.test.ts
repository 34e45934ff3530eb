import { describe, expect, it } from "vitest";
import { applyStreamOverrides, defaultConfig, isConfError, loadConfig } from "../src/index.js";

describe("applyStreamOverrides (API spec §4.4)", () => {
  const config = loadConfig({
    text: 'streams { retention.max.age: "2h", compact.enabled: true }\nclustering.min.insync.replicas: 2',
    env: {},
  }).config;

  it("no overrides gives the server's stream defaults and min ISR", () => {
    expect(applyStreamOverrides(config)).toEqual({ ...config.streams, minIsr: 2 });
  });

  it.each([
    ["retentionMaxBytes", 1000, "retentionMaxBytes", 1000],
    ["retentionMaxMessages", 50, "retentionMaxMessages", 50],
    ["retentionMaxAgeMs", 60_000, "retentionMaxAgeMs", 60_000],
    ["cleanerIntervalMs", 500, "cleanerIntervalMs", 500],
    ["segmentMaxBytes", 4096, "segmentMaxBytes", 4096],
    ["segmentMaxAgeMs", 30_000, "segmentMaxAgeMs", 30_000],
    ["compactMaxGoroutines", 3, "compactMaxGoroutines", 3],
    ["compactEnabled", false, "compactEnabled", false],
    ["autoPauseTimeMs", 10_000, "autoPauseTimeMs", 10_000],
    ["autoPauseDisableIfSubscribers", true, "autoPauseDisableIfSubscribers", true],
    ["minIsr", 3, "minIsr", 3],
    ["optimisticConcurrencyControl", true, "concurrencyControl", true],
    ["encryption", true, "encryption", true],
  ] as const)("%s overrides its default", (field, value, effective, expected) => {
    const out = applyStreamOverrides(config, { [field]: value });
    expect(out[effective]).toBe(expected);
  });

  it("a retention age override moves the segment age, which is at least 1s", () => {
    expect(applyStreamOverrides(config, { retentionMaxAgeMs: 60_000 }).segmentMaxAgeMs).toBe(60_000);
    expect(applyStreamOverrides(config, { segmentMaxAgeMs: 5 }).segmentMaxAgeMs).toBe(1000);
    expect(applyStreamOverrides(defaultConfig(), {}).segmentMaxAgeMs).toBe(168 * 3600_000);
  });

  it.each([
    [{ retentionMaxBytes: -1 }, "retentionMaxBytes = -1"],
    [{ minIsr: 0 }, "minIsr = 0"],
    [{ segmentMaxBytes: 1.5 }, "segmentMaxBytes = 1.5"],
    [{ cleanerIntervalMs: Number.NaN }, "cleanerIntervalMs = NaN"],
  ])("rejects %o", (o, msg) => {
    try {
      applyStreamOverrides(config, o);
      expect.unreachable();
    } catch (e) {
      expect(isConfError(e, "bad_value")).toBe(true);
      expect((e as Error).message).toContain(msg);
    }
  });
});

describe("loadConfig file errors", () => {
  it("a missing config file is an include error with the I/O cause", () => {
    try {
      loadConfig({ file: "/nonexistent/liftbridge.conf", env: {} });
      expect.unreachable();
    } catch (e) {
      expect(isConfError(e, "include")).toBe(true);
      expect((e as Error).message).toBe("[include] can not read config file '/nonexistent/liftbridge.conf'");
      expect((e as Error).cause).toBeInstanceOf(Error);
    }
  });
});
