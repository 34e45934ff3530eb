import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  crc32c,
  decodeMessageSet,
  type EntryInput,
  encodeMessage,
  encodeMessageSet,
  type RecordHeader,
} from "../src/index.js";
import { checkEntry, crc32cPortable, hasNativeCrc32c } from "../src/internal.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const u = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("crc32c", () => {
  it("matches the standard check value", () => {
    expect(crc32c(u("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });
  test.prop([fc.uint8Array({ maxLength: 300 }), fc.nat(300)])("is incremental", (data, cut) => {
    const c = Math.min(cut, data.length);
    expect(crc32c(data, c, data.length, crc32c(data, 0, c))).toBe(crc32c(data));
  });
});

describe("upstream test vectors (spec §1.2)", () => {
  it.each([
    [
      "key k, value v, header subject:foo",
      { magic: 1, key: u("k"), value: u("v"), headers: [{ key: "subject", value: u("foo") }] },
      "4ac8d744 01 00 00000001 6b 00000001 76 0001 0007 7375626a656374 00000003 666f6f",
    ],
    [
      "key k, value v, no headers",
      { magic: 1, key: u("k"), value: u("v") },
      "025ac30f 01 00 00000001 6b 00000001 76 0000",
    ],
    [
      "null key, value blah",
      { magic: 0, key: null, value: u("blah") },
      "8815b494 00 00 ffffffff 00000004 626c6168 0000",
    ],
    ["empty key and value", { magic: 0, key: u(""), value: u("") }, "2b60b55d 00 00 00000000 00000000 0000"],
  ])("%s", (_name, rec, expected) => {
    expect(encodeMessage(rec).toString("hex")).toBe(hex(expected).toString("hex"));
  });

  it("full 73-byte entry", () => {
    const entry: EntryInput = {
      offset: 0,
      timestamp: 1700000000000000000n,
      leaderEpoch: 5,
      magic: 1,
      key: u("k"),
      value: u("v"),
      headers: [
        { key: "subject", value: u("foo") },
        { key: "reply", value: u("") },
      ],
    };
    const bytes = encodeMessageSet([entry]);
    expect(bytes.length).toBe(73);
    expect(bytes.toString("hex")).toBe(
      hex(`0000000000000000 17979cfe362a0000 0000000000000005 0000002d
      30ba5eb4 01 00 00000001 6b 00000001 76 0002 0007 7375626a656374 00000003 666f6f 0005 7265706c79 00000000`).toString(
        "hex",
      ),
    );
    const [r] = decodeMessageSet(bytes);
    expect(r!.offset).toBe(0);
    expect(r!.timestamp).toBe(1700000000000000000n);
    expect(r!.leaderEpoch).toBe(5);
    expect(Buffer.from(r!.key!).toString()).toBe("k");
    expect(r!.headers.map((h) => h.key)).toEqual(["subject", "reply"]);
  });

  it("a null-key 'blah' entry is 48 bytes (upstream retention tests rely on it)", () => {
    expect(encodeMessageSet([{ offset: 0, timestamp: 0n, leaderEpoch: 0, value: u("blah") }]).length).toBe(
      48,
    );
  });
});

const bytesOrNull = fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null });
const header: fc.Arbitrary<RecordHeader> = fc.record({
  key: fc.string({ maxLength: 10 }),
  value: fc.uint8Array({ maxLength: 10 }),
});
const entryArb: fc.Arbitrary<EntryInput> = fc.record({
  offset: fc.nat(),
  timestamp: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  leaderEpoch: fc.nat(),
  key: bytesOrNull,
  value: bytesOrNull,
  headers: fc.array(header, { maxLength: 4 }),
});

describe("message set round trip", () => {
  test.prop([fc.array(entryArb, { maxLength: 8 })])("decode(encode(x)) == x", (entries) => {
    const out = decodeMessageSet(encodeMessageSet(entries));
    expect(out.length).toBe(entries.length);
    out.forEach((r, i) => {
      const e = entries[i]!;
      expect(r.offset).toBe(e.offset);
      expect(r.timestamp).toBe(e.timestamp);
      expect(r.leaderEpoch).toBe(e.leaderEpoch);
      expect(r.key === null ? null : Buffer.from(r.key)).toEqual(e.key == null ? null : Buffer.from(e.key));
      expect(r.value === null ? null : Buffer.from(r.value)).toEqual(
        e.value === null ? null : Buffer.from(e.value),
      );
      expect(r.headers.map((h) => [h.key, Buffer.from(h.value)])).toEqual(
        (e.headers ?? []).map((h) => [h.key, Buffer.from(h.value)]),
      );
    });
  });

  test.prop([fc.uint8Array({ maxLength: 200 })])(
    "random bytes never pass as an entry unless they check out",
    (b) => {
      const n = checkEntry(b, 0, b.length);
      expect(n === -1 || n === -2 || (n > 0 && n <= b.length)).toBe(true);
    },
  );

  test.prop([entryArb, fc.nat(), fc.integer({ min: 0, max: 7 })])(
    "any single bit flip in a message is detected",
    (e, at, bit) => {
      const b = encodeMessageSet([e]);
      const i = 28 + (at % (b.length - 28));
      b[i]! ^= 1 << bit;
      expect(checkEntry(b, 0, b.length)).toBe(-2);
    },
  );
});

describe("native and portable CRC-32C agree", () => {
  test.prop([fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.nat(), fc.nat()])(
    "on any range",
    (data, a, b) => {
      const start = data.length === 0 ? 0 : a % data.length;
      const end = start + (data.length === 0 ? 0 : b % (data.length - start + 1));
      expect(crc32c(data, start, end)).toBe(crc32cPortable(data, start, end));
      expect(crc32c(data, end, data.length, crc32c(data, start, end))).toBe(
        crc32cPortable(data, start, data.length),
      );
    },
  );
  it("uses the native code on this machine (x64 Linux prebuilt)", () => {
    expect(hasNativeCrc32c).toBe(true);
  });
});
