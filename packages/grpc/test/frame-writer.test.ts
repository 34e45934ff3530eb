import type { Http2Stream } from "node:http2";
import { setImmediate as nextTurn } from "node:timers/promises";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameWriter } from "../src/frame-writer.js";
import { frameMessage } from "../src/framing.js";

/** What a fake stream saw: each chunk passed to `write()` and a copy of its bytes at that moment. */
interface Written {
  chunk: Buffer;
  snapshot: Buffer;
}

/** The part of an Http2Stream that FrameWriter uses; `write()` records instead of sending. */
function fakeStream(): { stream: Http2Stream; written: Written[] } {
  const written: Written[] = [];
  const stream = {
    destroyed: false,
    closed: false,
    writableEnded: false,
    writableNeedDrain: false,
    write(chunk: Buffer): boolean {
      written.push({ chunk, snapshot: Buffer.from(chunk) });
      return true;
    },
  };
  return { stream: stream as unknown as Http2Stream, written };
}

describe("FrameWriter", () => {
  it("a unary call's one small message allocates no 64 KiB slab: the chunk is sized to the message", async () => {
    // The broker's sequential unary Publish used to allocate one 64 KiB slab per call on each side.
    const calls = 2000;
    const backing = new Set<ArrayBufferLike>();
    let bytes = 0;
    for (let i = 0; i < calls; i++) {
      const { stream, written } = fakeStream();
      const writer = new FrameWriter(stream);
      writer.write(Buffer.alloc(100, i % 256));
      writer.flush(); // what a unary response / request end does
      expect(written).toHaveLength(1);
      const chunk = written[0]?.chunk as Buffer;
      expect(chunk.length).toBe(105);
      expect(chunk.buffer.byteLength).toBeLessThan(64 * 1024);
      backing.add(chunk.buffer);
      bytes += chunk.length;
    }
    await nextTurn(); // let the scheduled flushes run (they find nothing left to write)
    // Small slabs come from Node's shared 8 KiB pool (which the fake stream's snapshots share too):
    // a few dozen backing buffers for 2000 calls, where a slab per call gave 2000.
    expect(bytes).toBe(calls * 105);
    expect(backing.size).toBeLessThan(calls / 10);
  });

  it("still coalesces a turn's messages into one write, growing up to 64 KiB, then reuses slab tails", async () => {
    const { stream, written } = fakeStream();
    const writer = new FrameWriter(stream);
    const msg = Buffer.alloc(128, 7);
    for (let i = 0; i < 100; i++) writer.write(msg);
    expect(written).toHaveLength(0);
    await nextTurn();
    expect(written).toHaveLength(1);
    expect(written[0]?.chunk.length).toBe(100 * 133);
    // A busy turn fills whole 64 KiB slabs; later turns carve from them instead of allocating.
    for (let i = 0; i < 1000; i++) writer.write(msg);
    await nextTurn();
    const busy = written.slice(1);
    expect(busy.reduce((n, w) => n + w.chunk.length, 0)).toBe(1000 * 133);
    expect(busy.length).toBeLessThanOrEqual(3);
    expect(Math.max(...busy.map((w) => w.chunk.buffer.byteLength))).toBe(64 * 1024);
    writer.write(msg);
    await nextTurn();
    const last = written[written.length - 1] as Written;
    const prev = written[written.length - 2] as Written;
    expect(last.chunk.buffer).toBe(prev.chunk.buffer); // the previous slab's tail, not a new buffer
  });

  it("never rewrites bytes already handed to the stream, and frames every message in order (property)", async () => {
    const sizes = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 70 * 1024 }));
    // Each turn is a list of message sizes; -1 entries force a flush (as before END_STREAM).
    const turns = fc.array(fc.array(fc.oneof(sizes, fc.constant(-1)), { maxLength: 40 }), {
      minLength: 1,
      maxLength: 8,
    });
    await fc.assert(
      fc.asyncProperty(turns, async (plan) => {
        const { stream, written } = fakeStream();
        const writer = new FrameWriter(stream);
        const expected: Buffer[] = [];
        let n = 0;
        for (const turn of plan) {
          for (const size of turn) {
            if (size < 0) {
              writer.flush();
              continue;
            }
            const payload = Buffer.alloc(size, n++ % 251);
            expected.push(frameMessage(payload));
            writer.write(payload);
          }
          await nextTurn();
        }
        writer.flush();
        for (const w of written) expect(w.chunk.equals(w.snapshot)).toBe(true);
        expect(Buffer.concat(written.map((w) => w.chunk)).equals(Buffer.concat(expected))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});

describe("FrameWriter.writeFramed", () => {
  it("writes a batch of >= 4 KiB as the same buffer (no copy), after what was queued", async () => {
    const { stream, written } = fakeStream();
    const writer = new FrameWriter(stream);
    writer.write(Buffer.from("a"));
    const batch = Buffer.concat(Array.from({ length: 50 }, (_, i) => frameMessage(Buffer.alloc(100, i))));
    expect(writer.writeFramed(batch)).toBe(true);
    expect(written).toHaveLength(2);
    expect(written[0]?.snapshot).toEqual(frameMessage(Buffer.from("a")));
    expect(written[1]?.chunk).toBe(batch);
    writer.write(Buffer.from("b"));
    await nextTurn();
    expect(written).toHaveLength(3);
    expect(written[2]?.snapshot).toEqual(frameMessage(Buffer.from("b")));
  });

  it("coalesces small batches with single messages of the same turn, in order", async () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ framed: fc.constant(false), payload: fc.uint8Array({ maxLength: 3000 }) }),
            fc.record({
              framed: fc.constant(true),
              payloads: fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 8 }),
            }),
          ),
          { maxLength: 40 },
        ),
        (ops) => {
          const { stream, written } = fakeStream();
          const writer = new FrameWriter(stream);
          const expected: Buffer[] = [];
          for (const op of ops) {
            if (op.framed) {
              const f = Buffer.concat(op.payloads.map((p) => frameMessage(p)));
              expected.push(f);
              writer.writeFramed(f);
            } else {
              expected.push(frameMessage(op.payload));
              writer.write(op.payload);
            }
          }
          writer.flush();
          expect(Buffer.concat(written.map((w) => w.snapshot))).toEqual(Buffer.concat(expected));
        },
      ),
      { numRuns: 150 },
    );
  });
});

/** A stream whose writes complete only when the test says so; `writableLength` counts pending bytes. */
function slowStream() {
  const pending: { n: number; cb: () => void }[] = [];
  const listeners = new Map<string, Set<() => void>>();
  const stream = {
    destroyed: false,
    closed: false,
    writableEnded: false,
    writableLength: 0,
    get writableNeedDrain() {
      return this.writableLength > 16 * 1024;
    },
    write(chunk: Buffer, cb: () => void): boolean {
      pending.push({ n: chunk.length, cb });
      this.writableLength += chunk.length;
      return this.writableLength <= 16 * 1024;
    },
    on(ev: string, fn: () => void) {
      if (!listeners.has(ev)) listeners.set(ev, new Set());
      listeners.get(ev)!.add(fn);
    },
    off(ev: string, fn: () => void) {
      listeners.get(ev)?.delete(fn);
    },
  };
  const completeOne = () => {
    const w = pending.shift()!;
    stream.writableLength -= w.n;
    w.cb();
  };
  const close = () => {
    stream.closed = true;
    for (const fn of listeners.get("close") ?? []) fn();
  };
  return { stream: stream as unknown as Http2Stream, completeOne, close, pending };
}

describe("FrameWriter.drain(lowWaterBytes)", () => {
  it("resolves once at most that many bytes are queued, not when the queue is empty", async () => {
    const s = slowStream();
    const writer = new FrameWriter(s.stream);
    const released: number[] = [];
    for (let i = 0; i < 3; i++)
      expect(writer.writeFramed(Buffer.alloc(100_000), () => released.push(i))).toBe(false);
    let resolved = false;
    void writer.drain(150_000).then(() => {
      resolved = true;
    });
    await nextTurn();
    expect(resolved).toBe(false); // 300,000 bytes queued
    s.completeOne();
    await nextTurn();
    expect(resolved).toBe(false); // 200,000
    s.completeOne();
    await nextTurn();
    expect(resolved).toBe(true); // 100,000: one batch still going out
    expect(released).toEqual([0, 1]);
    expect(s.pending).toHaveLength(1);
  });

  it("resolves at once when the stream already holds little, and when the stream closes", async () => {
    const s = slowStream();
    const writer = new FrameWriter(s.stream);
    writer.writeFramed(Buffer.alloc(50_000));
    await writer.drain(60_000); // would hang if it waited for an empty queue
    writer.writeFramed(Buffer.alloc(50_000));
    let resolved = false;
    void writer.drain(10_000).then(() => {
      resolved = true;
    });
    await nextTurn();
    expect(resolved).toBe(false);
    s.close();
    await nextTurn();
    expect(resolved).toBe(true);
  });
});
