import { describe, expect, it } from "vitest";
import { FrameBufferPool } from "../src/frame-buffer-pool.js";

describe("FrameBufferPool", () => {
  it("hands out buffers of exactly the asked size", () => {
    const pool = new FrameBufferPool();
    for (const size of [0, 1, 1000, 64 * 1024, 300_000, 1_100_000]) {
      expect(pool.take(size).bytes.length).toBe(size);
    }
  });

  it("reuses a released buffer for a batch that fits, and not before release", () => {
    const pool = new FrameBufferPool();
    const a = pool.take(1_000_000);
    const b = pool.take(900_000);
    expect(b.bytes.buffer === a.bytes.buffer && b.bytes.byteOffset === a.bytes.byteOffset).toBe(false);
    a.release();
    expect(pool.freeBytes).toBeGreaterThanOrEqual(1_000_000);
    const c = pool.take(999_000);
    expect(c.bytes.buffer).toBe(a.bytes.buffer);
    expect(pool.freeBytes).toBe(0);
  });

  it("ignores a second release of the same lease", () => {
    const pool = new FrameBufferPool();
    const a = pool.take(200_000);
    a.release();
    a.release();
    const x = pool.take(200_000);
    const y = pool.take(200_000);
    expect(x.bytes.buffer).toBe(a.bytes.buffer);
    expect(y.bytes.buffer).not.toBe(a.bytes.buffer);
  });

  it("does not pool small buffers and keeps at most maxFreeBytes idle", () => {
    const pool = new FrameBufferPool(1024 * 1024);
    pool.take(1000).release();
    expect(pool.freeBytes).toBe(0);
    const leases = [pool.take(500_000), pool.take(500_000), pool.take(500_000)];
    for (const l of leases) l.release();
    expect(pool.freeBytes).toBeLessThanOrEqual(1024 * 1024);
    expect(pool.freeBytes).toBeGreaterThan(0);
  });
});
