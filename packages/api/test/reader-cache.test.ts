// The decoder's caches (short-string interning, repeated int64 timestamps) never change a result.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Message } from "../src/index.js";
import { Reader } from "../src/internal.js";
import { writeVarint32 } from "../src/wire/writer.js";

/** A buffer of length-delimited strings (as a `string` field's payload, without tags). */
function delimited(strings: readonly string[]): Buffer {
  const parts = strings.map((s) => Buffer.from(s, "utf8"));
  const out = Buffer.alloc(parts.reduce((n, p) => n + 5 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    at = writeVarint32(out, at, p.length);
    at += p.copy(out, at);
  }
  return out.subarray(0, at);
}

const decodeAll = (buf: Buffer, n: number): string[] => {
  const r = new Reader(buf);
  return Array.from({ length: n }, () => r.string());
};

describe("Reader.string interning", () => {
  it("strings sharing a cache slot (same length, first, middle and last byte) decode to themselves", () => {
    const same = ["a1m2z", "a3m4z", "a1m2z", "a9m9z", "a3m4z", "a1m2z"];
    expect(decodeAll(delimited(same), same.length)).toEqual(same);
  });

  it("a cached ASCII string never answers for non-ASCII or different bytes", () => {
    const seq = ["héllo", "hello", "héllo", "hello", "hellö", "", "x", "", "\u0000\u007f"];
    expect(decodeAll(delimited(seq), seq.length)).toEqual(seq);
  });

  it("any sequence of short strings decodes exactly as Buffer#toString (property)", () => {
    const short = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: "grapheme", maxLength: 12 }),
      fc.constantFrom("subject", "reply", "orders", "orders.created.1", "a1m2z", "a3m4z"),
    );
    fc.assert(
      fc.property(fc.array(short, { maxLength: 60 }), (strings) => {
        const buf = delimited(strings);
        expect(decodeAll(buf, strings.length)).toEqual(strings.map((s) => Buffer.from(s).toString("utf8")));
      }),
      { numRuns: 300 },
    );
  });
});

describe("repeated int64 timestamps", () => {
  it("decode to the right bigint whether or not they repeat the previous value", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(1_764_201_600_123_456_789n), fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n)), {
          maxLength: 30,
        }),
        (stamps) => {
          for (const timestamp of stamps) {
            expect(Message.decode(Message.encode({ timestamp })).timestamp).toBe(timestamp);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
