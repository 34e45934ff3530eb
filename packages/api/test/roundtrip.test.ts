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
