import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeGrpcMessage, encodeGrpcMessage } from "../src/index.js";

describe("grpc-message percent-encoding", () => {
  it.each([
    ["plain ascii", "plain ascii"],
    ["100%", "100%25"],
    ["ü", "%C3%BC"],
    ["a\tb\n", "a%09b%0A"],
    ["☃", "%E2%98%83"],
  ])("encodes %j as %j", (input, wire) => {
    expect(encodeGrpcMessage(input)).toBe(wire);
    expect(decodeGrpcMessage(wire)).toBe(input);
  });

  it("round-trips any string (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => {
        const wire = encodeGrpcMessage(s);
        expect(/^[\x20-\x7e]*$/.test(wire)).toBe(true);
        expect(decodeGrpcMessage(wire)).toBe(s);
      }),
    );
  });

  it("keeps malformed escapes literally", () => {
    expect(decodeGrpcMessage("50%")).toBe("50%");
    expect(decodeGrpcMessage("%zz%4")).toBe("%zz%4");
  });
});
