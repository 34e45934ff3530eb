import { test } from "@fast-check/vitest";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isValidStreamSubject, partitionSubject, streamDirName } from "../src/util.js";

describe("streamDirName", () => {
  it.each([
    ["orders", "orders"],
    ["a.b", "a%2Eb"],
    ["..", "%2E%2E"],
    ["a/b", "a%2Fb"],
    ["é", "%C3%A9"],
  ])("%s -> %s", (name, dir) => {
    expect(streamDirName(name)).toBe(dir);
  });

  test.prop([fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" })])(
    "is injective and yields a safe single path component",
    (a, b) => {
      const da = streamDirName(a);
      expect(/^[A-Za-z0-9_%-]*$/.test(da)).toBe(true);
      if (a !== b) expect(da).not.toBe(streamDirName(b));
    },
  );
});

describe("subjects", () => {
  it.each([
    ["a", true],
    ["a.b.c", true],
    ["orders.*", true],
    ["events.>", true],
    ["", false],
    ["a b", false],
    ["a..b", false],
    [".a", false],
    ["a.", false],
    ["a\tb", false],
  ])("isValidStreamSubject(%j) = %s", (s, ok) => {
    expect(isValidStreamSubject(s)).toBe(ok);
  });

  it("maps partition N to subject.N and 0 to the subject itself (spec §0.10)", () => {
    expect(partitionSubject("foo", 0)).toBe("foo");
    expect(partitionSubject("foo", 3)).toBe("foo.3");
  });
});
