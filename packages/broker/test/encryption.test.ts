import { fc, test } from "@fast-check/vitest";
import { decodeMessageSet, encodeMessageSet } from "@liftbridge/commitlog";
import { describe, expect, it } from "vitest";
import {
  createValueCipher,
  gcmOpen,
  gcmSeal,
  openEntries,
  parseMasterKey,
  unwrapKey,
  wrapKey,
} from "../src/encryption.js";
import { isBrokerError } from "../src/errors.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/gu, ""), "hex");
const counter = (): ((n: number) => Buffer) => {
  let i = 0;
  return (n) => Buffer.from(Array.from({ length: n }, () => i++ & 0xff));
};

describe("AES key wrap with padding (RFC 5649)", () => {
  // RFC 5649 §6: the two published examples (192-bit KEK).
  const kek = hex("5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8");
  it.each([
    [
      "20-octet key",
      "c37b7e6492584340 bed1220780894115 5068f738",
      "138bdeaa9b8fa7fc 61f97742e72248ee 5ae6ae5360d1ae6a 5f54f373fa543b6a",
    ],
    ["7-octet key", "466f7250617369", "afbeb0f07dfbf541 9200f2ccb50bb24f"],
  ])("RFC 5649 §6 %s", (_name, key, wrapped) => {
    expect(wrapKey(kek, hex(key)).toString("hex")).toBe(hex(wrapped).toString("hex"));
    expect(unwrapKey(kek, hex(wrapped)).toString("hex")).toBe(hex(key).toString("hex"));
  });

  // Cross-checked with Python `cryptography` (aes_key_wrap_with_padding), for the key sizes we use.
  it.each([
    [
      "AES-256 KEK, 32-byte data key",
      Buffer.alloc(32, 7),
      Buffer.alloc(32, 9),
      "ad27ea59d1408cd6c1b681fb09e1868d92357abf73af454797074e25b9b41670b6bfdb346031d531",
    ],
    [
      "AES-128 KEK, 32-byte data key",
      Buffer.from(Array.from({ length: 16 }, (_, i) => i)),
      Buffer.from(Array.from({ length: 32 }, (_, i) => 32 + i)),
      "aaddefe48281ab38d0af37286628756d84ae7ca77bd9cf1cb7963eb2bc83094a07f41587b5626338",
    ],
    [
      "AES-256 KEK, 5-byte key",
      Buffer.from(Array.from({ length: 32 }, (_, i) => i)),
      Buffer.from([100, 101, 102, 103, 104]),
      "e052a85af2cffc5c394c86e4fae5c215",
    ],
  ])("%s", (_name, k, key, wrapped) => {
    expect(wrapKey(k, key).toString("hex")).toBe(wrapped);
    expect(unwrapKey(k, hex(wrapped)).equals(key)).toBe(true);
  });

  it("a different KEK or altered bytes fail the integrity check with `encryption`", () => {
    const w = wrapKey(Buffer.alloc(32, 1), Buffer.alloc(32, 2));
    expect(() => unwrapKey(Buffer.alloc(32, 3), w)).toThrow(/different LIFTBRIDGE_ENCRYPTION_KEY/u);
    const bad = Buffer.from(w);
    bad[5] = bad[5]! ^ 1;
    try {
      unwrapKey(Buffer.alloc(32, 1), bad);
      expect.unreachable();
    } catch (e) {
      expect(isBrokerError(e, "encryption")).toBe(true);
    }
    expect(() => unwrapKey(Buffer.alloc(32, 1), w.subarray(0, 12))).toThrow(/invalid length/u);
    expect(() => wrapKey(Buffer.alloc(20), Buffer.alloc(32))).toThrow(/16, 24 or 32/u);
  });

  test.prop([
    fc.uint8Array({ minLength: 32, maxLength: 32 }),
    fc.uint8Array({ minLength: 1, maxLength: 80 }),
  ])("unwrap(wrap(k)) = k", (kek, key) => {
    const w = wrapKey(kek, key);
    expect(w.length).toBe(8 + Math.ceil(key.length / 8) * 8);
    expect(unwrapKey(kek, w).equals(Buffer.from(key))).toBe(true);
  });
});

describe("AES-256-GCM", () => {
  it("NIST GCM test case 14 (zero key, zero IV, one zero block)", () => {
    const sealed = gcmSeal(Buffer.alloc(32), Buffer.alloc(12), Buffer.alloc(16));
    expect(sealed.subarray(12).toString("hex")).toBe(
      "cea7403d4d606b6e074ec5d3baf39d18" + "d0d1c8a799996bf0265b98b5d48ab919",
    );
    expect(gcmOpen(Buffer.alloc(32), sealed).equals(Buffer.alloc(16))).toBe(true);
  });

  it("matches Python cryptography's AESGCM, and rejects tampering", () => {
    const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    const nonce = Buffer.from(Array.from({ length: 12 }, (_, i) => i));
    const sealed = gcmSeal(key, nonce, Buffer.from("hello liftbridge"));
    expect(sealed.subarray(12).toString("hex")).toBe(
      "2f67ba77aac5ae72eb35f5f9d88d1f08900eddb44c10c1f734e97a49f456c3d7",
    );
    const bad = Buffer.from(sealed);
    bad[14] = bad[14]! ^ 0x80;
    expect(() => gcmOpen(key, bad)).toThrow(/failed authentication/u);
    expect(() => gcmOpen(key, sealed.subarray(0, 20))).toThrow(/too short/u);
  });
});

describe("master key", () => {
  it.each([
    [undefined, /is not set/u],
    ["", /is not set/u],
    ["short", /16 or 32 bytes long \(got 5\)/u],
    ["x".repeat(24), /got 24/u],
  ])("%j is rejected", (raw, re) => {
    expect(() => parseMasterKey(raw)).toThrow(re);
  });
  it("takes the raw UTF-8 bytes of 16 or 32 characters", () => {
    expect(parseMasterKey("0123456789abcdef").toString()).toBe("0123456789abcdef");
    expect(parseMasterKey(Buffer.alloc(32, 1)).length).toBe(32);
  });
});

describe("value cipher", () => {
  const master = Buffer.from("0123456789abcdef0123456789abcdef");

  it("stores [L][wrapped key][nonce][ciphertext+tag] and opens it again", () => {
    const c = createValueCipher(master, { randomBytes: counter() });
    const sealed = c.seal(Buffer.from("secret"));
    expect(sealed[0]).toBe(40);
    expect(sealed.length).toBe(1 + 40 + 12 + 6 + 16);
    expect(sealed.includes(Buffer.from("secret"))).toBe(false);
    // The wrapped data key unwraps under the master key to the random data key.
    expect(unwrapKey(master, sealed.subarray(1, 41)).equals(counter()(32))).toBe(true);
    expect(c.open(sealed).toString()).toBe("secret");
    expect(c.open(c.seal(null)).length).toBe(0);
  });

  it("opens values of another process (another data key) under the same master key only", () => {
    const a = createValueCipher(master);
    const b = createValueCipher(master);
    const other = createValueCipher(Buffer.from("fedcba9876543210fedcba9876543210"));
    const v = a.seal(Buffer.from("x"));
    expect(b.open(v).toString()).toBe("x");
    expect(() => other.open(v)).toThrow(/different LIFTBRIDGE_ENCRYPTION_KEY/u);
    expect(() => b.open(v.subarray(0, 30))).toThrow(/too short/u);
  });

  it("draws a new data key after maxSealsPerDataKey seals; every value still opens", () => {
    const c = createValueCipher(master, { maxSealsPerDataKey: 3 });
    const values = Array.from({ length: 7 }, (_, i) => c.seal(Buffer.from(`v${i}`)));
    const wrapped = values.map((v) => v.subarray(1, 41).toString("hex"));
    expect(new Set(wrapped.slice(0, 3)).size).toBe(1);
    expect(new Set(wrapped.slice(3, 6)).size).toBe(1);
    expect(new Set(wrapped).size).toBe(3); // 3 + 3 + 1
    expect(values.map((v) => c.open(v).toString())).toEqual(values.map((_, i) => `v${i}`));
    expect(createValueCipher(master).open(values[6]!).toString()).toBe("v6");
  });

  it("keeps many foreign data keys usable (bounded cache)", () => {
    const reader = createValueCipher(master);
    const values = Array.from({ length: 100 }, (_, i) =>
      createValueCipher(master).seal(Buffer.from(`v${i}`)),
    );
    for (let round = 0; round < 2; round++) {
      values.forEach((v, i) => {
        expect(reader.open(v).toString()).toBe(`v${i}`);
      });
    }
  });

  it("openEntries rewrites values to plain text and stops at the first value that does not open", () => {
    const c = createValueCipher(master);
    const other = createValueCipher(Buffer.alloc(16, 5));
    const headers = [{ key: "subject", value: Buffer.from("foo") }];
    const entries = encodeMessageSet([
      {
        offset: 7,
        timestamp: 1n,
        leaderEpoch: 0,
        key: Buffer.from("k"),
        value: c.seal(Buffer.from("a")),
        headers,
      },
      { offset: 8, timestamp: 2n, leaderEpoch: 0, key: null, value: c.seal(Buffer.from("bb")), headers },
      { offset: 9, timestamp: 3n, leaderEpoch: 0, key: null, value: other.seal(Buffer.from("c")), headers },
    ]);
    const r = openEntries(entries, 3, c);
    expect(r.count).toBe(2);
    expect(r.error?.offset).toBe(9);
    expect(isBrokerError(r.error?.cause, "encryption")).toBe(true);
    const recs = decodeMessageSet(r.bytes);
    expect(recs.map((x) => [x.offset, Buffer.from(x.value!).toString(), x.headers.length])).toEqual([
      [7, "a", 1],
      [8, "bb", 1],
    ]);
    expect(Buffer.from(recs[0]!.key!).toString()).toBe("k");
    expect(openEntries(entries, 2, c).error).toBeUndefined();
  });
});

describe("openEntries (property)", () => {
  const master = Buffer.from("0123456789abcdef");
  const cipher = createValueCipher(master);
  const record = fc.record({
    key: fc.option(fc.uint8Array({ maxLength: 16 }), { nil: null }),
    value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
    headers: fc.array(
      fc.record({ key: fc.string({ minLength: 1, maxLength: 8 }), value: fc.uint8Array({ maxLength: 8 }) }),
      { maxLength: 3 },
    ),
  });
  test.prop([fc.array(record, { minLength: 1, maxLength: 20 }), fc.nat(1000)])(
    "sealed entries open to the plain entries (null values become empty), byte for byte",
    (records, base) => {
      const entry = (r: (typeof records)[number], i: number, value: Uint8Array | null) => ({
        offset: base + i,
        timestamp: BigInt(base + i),
        leaderEpoch: 1,
        key: r.key,
        value,
        headers: r.headers,
      });
      const sealed = encodeMessageSet(records.map((r, i) => entry(r, i, cipher.seal(r.value))));
      const plain = encodeMessageSet(records.map((r, i) => entry(r, i, r.value ?? new Uint8Array(0))));
      const opened = openEntries(sealed, records.length, cipher);
      expect(opened.error).toBeUndefined();
      expect(opened.count).toBe(records.length);
      expect(opened.bytes.equals(plain)).toBe(true);
    },
  );
});
