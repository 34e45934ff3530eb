import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { countFramedMessages } from "../src/framing.js";
import { frameMessage, isGrpcError, MessageDecoder, Status, writeMessagePrefix } from "../src/index.js";

function decodeAll(chunks: Buffer[], max?: number): { messages: Buffer[]; pending: number } {
  const decoder = new MessageDecoder(max);
  const messages: Buffer[] = [];
  for (const c of chunks) decoder.push(c, (m) => messages.push(Buffer.from(m)));
  return { messages, pending: decoder.pendingBytes };
}

function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

describe("MessageDecoder", () => {
  it("round-trips any messages through any chunking (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (payloads, cuts) => {
          const wire = Buffer.concat(payloads.map((p) => frameMessage(p)));
          const { messages, pending } = decodeAll(splitAt(wire, cuts));
          expect(messages.map((m) => [...m])).toEqual(payloads.map((p) => [...p]));
          expect(pending).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("pushRanges reports the same payloads as push, as ranges of the chunk or of a concatenation (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (payloads, cuts) => {
          const wire = Buffer.concat(payloads.map((p) => frameMessage(p)));
          const decoder = new MessageDecoder();
          const got: number[][] = [];
          for (const c of splitAt(wire, cuts)) {
            decoder.pushRanges(c, (buf, start, end, compressed) => {
              expect(compressed).toBe(false);
              expect(0 <= start && start <= end && end <= buf.length).toBe(true);
              got.push([...buf.subarray(start, end)]);
            });
          }
          expect(got).toEqual(payloads.map((p) => [...p]));
          expect(decoder.pendingBytes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("random bytes never make it throw anything but a GrpcError (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
        try {
          decodeAll(
            chunks.map((c) => Buffer.from(c)),
            1024,
          );
        } catch (e) {
          expect(isGrpcError(e)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("rejects an oversized length prefix before buffering the payload", () => {
    const decoder = new MessageDecoder(10);
    const prefix = Buffer.from([0, 0, 0, 0, 11]);
    expect(() => decoder.push(prefix, () => {})).toThrowError(/larger than max/);
    try {
      new MessageDecoder(10).push(prefix, () => {});
    } catch (e) {
      expect(isGrpcError(e, Status.RESOURCE_EXHAUSTED)).toBe(true);
    }
  });

  it("accepts a message exactly at the limit", () => {
    expect(decodeAll([frameMessage(Buffer.alloc(10))], 10).messages).toHaveLength(1);
  });

  it("rejects reserved flag bits with INTERNAL", () => {
    try {
      new MessageDecoder().push(Buffer.from([2, 0, 0, 0, 0]), () => {});
      expect.unreachable();
    } catch (e) {
      expect(isGrpcError(e, Status.INTERNAL)).toBe(true);
    }
  });

  it("reports a truncated message through pendingBytes", () => {
    const wire = frameMessage(Buffer.alloc(100));
    expect(decodeAll([wire.subarray(0, 50)]).pending).toBe(50);
    expect(decodeAll([wire.subarray(0, 3)]).pending).toBe(3);
  });

  it("passes the compressed flag through", () => {
    const flags: boolean[] = [];
    new MessageDecoder().push(
      Buffer.concat([frameMessage(Buffer.from("a"), true), frameMessage(Buffer.from("b"))]),
      (_m, c) => flags.push(c),
    );
    expect(flags).toEqual([true, false]);
  });
});

describe("writeMessagePrefix / countFramedMessages", () => {
  it("builds the same bytes as frameMessage, and the decoder reads them back", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (payloads) => {
        const total = payloads.reduce((n, p) => n + 5 + p.length, 0);
        const out = Buffer.alloc(total);
        let at = 0;
        for (const p of payloads) {
          at = writeMessagePrefix(out, at, p.length);
          out.set(p, at);
          at += p.length;
        }
        expect(at).toBe(total);
        expect(out).toEqual(Buffer.concat(payloads.map((p) => frameMessage(p))));
        expect(countFramedMessages(out, 300)).toBe(payloads.length);
        expect(decodeAll([out]).messages).toEqual(payloads.map((p) => Buffer.from(p)));
      }),
    );
  });

  it("writes lengths above 2^31 as unsigned big-endian", () => {
    const b = Buffer.alloc(5);
    writeMessagePrefix(b, 0, 0x89abcdef);
    expect([...b]).toEqual([0, 0x89, 0xab, 0xcd, 0xef]);
  });

  it("reports truncation, a compressed or reserved flag and oversized messages", () => {
    const ok = Buffer.concat([frameMessage(Buffer.alloc(10)), frameMessage(Buffer.alloc(3))]);
    expect(countFramedMessages(ok, 10)).toBe(2);
    expect(countFramedMessages(ok, 9)).toMatch(/larger than max \(10 vs. 9\)/);
    expect(countFramedMessages(ok.subarray(0, ok.length - 1), 10)).toMatch(/runs past the end/);
    expect(countFramedMessages(ok.subarray(0, 17), 10)).toMatch(/truncated message prefix at byte 15/);
    const flagged = Buffer.from(ok);
    flagged[15] = 1;
    expect(countFramedMessages(flagged, 10)).toMatch(/byte 15 is not an uncompressed frame/);
    expect(countFramedMessages(new Uint8Array(0), 10)).toBe(0);
  });
});
