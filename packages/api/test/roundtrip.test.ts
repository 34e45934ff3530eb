import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isApiError } from "../src/index.js";
import {
  apiProtoPath,
  codecs,
  healthProtoPath,
  internalProtoPath,
  messageArb,
  messageTypes,
  parseProto,
} from "./support/proto.js";

const NUM_RUNS = 150;

describe.each([
  ["api.proto", apiProtoPath],
  ["internal.proto", internalProtoPath],
  ["health.proto", healthProtoPath],
])("%s", (_file, path) => {
  const { root, pkg } = parseProto(path);
  const types = messageTypes(root, pkg);

  it("has a codec for every message type", () => {
    for (const t of types) expect(codecs.get(t.fullName.slice(1)), t.fullName).toBeDefined();
  });

  it.each(types.map((t) => [t.fullName.slice(1), t] as const))("%s round-trips", (name, t) => {
    const codec = codecs.get(name)!;
    fc.assert(
      fc.property(messageArb(t), (init) => {
        const bytes = codec.encode(init);
        const decoded = codec.decode(bytes);
        expect(decoded).toEqual(codec.create(init));
        // Canonical: re-encoding the decoded message gives the same bytes.
        expect(Buffer.compare(codec.encode(decoded), bytes)).toBe(0);
        // Prefix encoding is the same bytes after the prefix.
        const prefixed = codec.encodeWithPrefix(init, Uint8Array.of(1, 2, 3));
        expect(Buffer.compare(prefixed.subarray(3), bytes)).toBe(0);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it.each(types.map((t) => [t.fullName.slice(1)] as const))(
    "%s: random bytes decode or throw ApiError, nothing else",
    (name) => {
      const codec = codecs.get(name)!;
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
          try {
            codec.decode(bytes);
          } catch (e) {
            expect(isApiError(e), String(e)).toBe(true);
          }
        }),
        { numRuns: 200 },
      );
    },
  );

  it.each(types.map((t) => [t.fullName.slice(1), t] as const))(
    "%s: every truncation of a valid encoding decodes or throws ApiError",
    (name, t) => {
      const codec = codecs.get(name)!;
      fc.assert(
        fc.property(messageArb(t), (init) => {
          const bytes = codec.encode(init);
          for (let cut = 0; cut < bytes.length; cut++) {
            try {
              codec.decode(bytes.subarray(0, cut));
            } catch (e) {
              expect(isApiError(e), String(e)).toBe(true);
            }
          }
        }),
        { numRuns: 20 },
      );
    },
  );
});

describe("hostile input", () => {
  const codec = codecs.get("proto.Message")!;
  const code = (bytes: Uint8Array): string | undefined => {
    try {
      codec.decode(bytes);
    } catch (e) {
      return isApiError(e) ? e.code : `not an ApiError: ${String(e)}`;
    }
    return undefined;
  };

  it("deeply nested groups are malformed, not a stack overflow", () => {
    expect(code(new Uint8Array(200_000).fill(0x6b))).toBe("malformed"); // field 13, start group
    // A shallow, well-formed group in an unknown field is skipped.
    expect(code(Uint8Array.of(0x6b, 0x6b, 0x6c, 0x6c, 0x2a, 0x01, 0x61))).toBeUndefined();
  });

  it("lengths past the end, over-long varints, field 0 and wire types 6/7 are malformed", () => {
    expect(code(Uint8Array.of(0x1a, 0x05, 0x01))).toBe("malformed");
    expect(code(Uint8Array.of(0x08, ...new Array(10).fill(0xff), 0x01))).toBe("malformed");
    expect(code(Uint8Array.of(0x00, 0x01))).toBe("malformed");
    expect(code(Uint8Array.of(0x0e))).toBe("malformed");
    expect(code(Uint8Array.of(0x0f))).toBe("malformed");
    expect(code(Uint8Array.of(0x6c))).toBe("malformed"); // stray end group
  });

  it("non-byte input is malformed", () => {
    expect(code("not bytes" as unknown as Uint8Array)).toBe("malformed");
  });
});

describe("decode(bytes, start)", () => {
  const codec = codecs.get("proto.Message")!;
  it("decodes from an offset and rejects an offset outside the input", () => {
    const body = codec.encode({ stream: "s", offset: 7 });
    const withHeader = Buffer.concat([Buffer.from([1, 2, 3]), body]);
    expect(codec.decode(withHeader, 3)).toEqual(codec.decode(body));
    expect(codec.decode(withHeader, withHeader.length)).toEqual(codec.create());
    for (const bad of [-1, withHeader.length + 1, Number.NaN]) {
      let caught: unknown;
      try {
        codec.decode(withHeader, bad);
      } catch (e) {
        caught = e;
      }
      expect(isApiError(caught, "malformed")).toBe(true);
    }
  });
});

describe("map keys with special meaning", () => {
  const codec = codecs.get("proto.Message")!;
  it.each(["__proto__", "constructor", "toString", "hasOwnProperty"])(
    "header %j round-trips as a Map key",
    (key) => {
      const decoded = codec.decode(codec.encode({ headers: new Map([[key, Uint8Array.of(1)]]) }));
      expect([...decoded.headers]).toEqual([[key, Uint8Array.of(1)]]);
      // A record input works too when the key is an own property (JSON.parse makes "__proto__" one).
      const record = JSON.parse(`{${JSON.stringify(key)}: 0}`) as Record<string, unknown>;
      Object.defineProperty(record, key, { value: Uint8Array.of(2), enumerable: true });
      const m = codec.create({ headers: record as Record<string, Uint8Array> });
      expect(m.headers.get(key)).toEqual(Uint8Array.of(2));
      expect(
        codec.decode(codec.encode({ headers: record as Record<string, Uint8Array> })).headers.get(key),
      ).toEqual(Uint8Array.of(2));
    },
  );
});
