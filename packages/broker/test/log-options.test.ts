import { resolveCommitLogOptions } from "@liftbridge/commitlog";
import { describe, expect, it } from "vitest";
import { DEFAULT_STREAM_DEFAULTS } from "../src/broker.js";
import type { StreamConfig } from "../src/metadata.js";
import { logOptionsFor, type StreamDefaults } from "../src/partition.js";

const d: StreamDefaults = DEFAULT_STREAM_DEFAULTS;

describe("logOptionsFor (spec §4.4: per-stream overrides -> commit-log options)", () => {
  it("server defaults alone: 7 d age, segment age = retention age, 256 MiB segments, 5 min cleaner", () => {
    expect(logOptionsFor({}, d)).toEqual({
      maxLogBytes: 0,
      maxLogMessages: 0,
      maxLogAgeMs: 168 * 3600 * 1000,
      cleanerIntervalMs: 300_000,
      maxSegmentBytes: 256 * 1024 * 1024,
      maxSegmentAgeMs: 168 * 3600 * 1000,
      compact: false,
    });
  });

  it("every override reaches its commit-log option, durations in ms", () => {
    const c: StreamConfig = {
      retentionMaxBytes: 4096,
      retentionMaxMessages: 10,
      retentionMaxAgeMs: 90_000,
      cleanerIntervalMs: 250,
      segmentMaxBytes: 512,
      segmentMaxAgeMs: 30_000,
      compactEnabled: true,
      compactMaxGoroutines: 3,
    };
    expect(logOptionsFor(c, d)).toEqual({
      maxLogBytes: 4096,
      maxLogMessages: 10,
      maxLogAgeMs: 90_000,
      cleanerIntervalMs: 250,
      maxSegmentBytes: 512,
      maxSegmentAgeMs: 30_000,
      compact: true,
    });
  });

  it("overrides win over non-default server settings, including false and 0 (unlimited)", () => {
    const server: StreamDefaults = {
      ...d,
      retentionMaxBytes: 1000,
      retentionMaxMessages: 5,
      retentionMaxAgeMs: 60_000,
      cleanerIntervalMs: 1000,
      segmentMaxBytes: 2000,
      segmentMaxAgeMs: 120_000,
      compactEnabled: true,
    };
    expect(logOptionsFor({}, server)).toMatchObject({
      maxLogBytes: 1000,
      maxLogMessages: 5,
      maxLogAgeMs: 60_000,
      cleanerIntervalMs: 1000,
      maxSegmentBytes: 2000,
      maxSegmentAgeMs: 120_000,
      compact: true,
    });
    const o = logOptionsFor(
      { retentionMaxBytes: 0, retentionMaxMessages: 0, retentionMaxAgeMs: 0, compactEnabled: false },
      server,
    );
    expect(o).toMatchObject({ maxLogBytes: 0, maxLogMessages: 0, maxLogAgeMs: 0, compact: false });
  });

  it("a stream's retention age moves its segment age; an explicit segment age wins", () => {
    const server: StreamDefaults = { ...d, segmentMaxAgeMs: 604_800_000 };
    expect(logOptionsFor({ retentionMaxAgeMs: 5000 }, server).maxSegmentAgeMs).toBe(5000);
    expect(logOptionsFor({ retentionMaxAgeMs: 5000, segmentMaxAgeMs: 2000 }, server).maxSegmentAgeMs).toBe(
      2000,
    );
    expect(logOptionsFor({}, server).maxSegmentAgeMs).toBe(604_800_000);
  });

  it("segment age under 1 s becomes 1 s; 0 cleaner interval and 0 segment bytes mean the log defaults", () => {
    expect(logOptionsFor({ segmentMaxAgeMs: 10 }, d).maxSegmentAgeMs).toBe(1000);
    expect(logOptionsFor({ retentionMaxAgeMs: 300 }, d).maxSegmentAgeMs).toBe(1000);
    expect(logOptionsFor({ retentionMaxAgeMs: 0 }, d).maxSegmentAgeMs).toBe(0);
    expect(logOptionsFor({ cleanerIntervalMs: 0 }, d).cleanerIntervalMs).toBe(300_000);
    expect(logOptionsFor({}, { ...d, segmentMaxBytes: 0 }).maxSegmentBytes).toBe(2 ** 30);
    expect(logOptionsFor({ segmentMaxBytes: 2 ** 40 }, d).maxSegmentBytes).toBe(2 ** 32 - 1);
  });

  it("the result is always accepted by the commit log", () => {
    for (const c of [{}, { cleanerIntervalMs: 0 }, { segmentMaxBytes: 1 }, { retentionMaxAgeMs: 0 }]) {
      expect(() => resolveCommitLogOptions(logOptionsFor(c, d))).not.toThrow();
    }
  });
});
