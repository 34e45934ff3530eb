import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { type ConfObject, type ConfValue, isConfError, parseConf, printConf } from "../src/index.js";

const key = fc.oneof(
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.\-/]{0,12}$/),
  fc.string({ maxLength: 10 }).filter((k) => !/[\n\r]/.test(k) && !(k.includes('"') && k.includes("'"))),
);
const int64 = fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n);
const scalar: fc.Arbitrary<ConfValue> = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.boolean(),
  fc.maxSafeInteger(),
  int64.map((b) =>
    b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b,
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc
    .integer({ min: Date.UTC(0, 0, 1) / 1000, max: Date.UTC(9999, 11, 31) / 1000 })
    .map((s) => new Date(s * 1000)),
);
const { doc } = fc.letrec<{ value: ConfValue; map: ConfObject; doc: ConfObject }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    tie("map"),
    fc.array(tie("value"), { maxLength: 4 }),
  ),
  map: fc.dictionary(key, tie("value"), { maxKeys: 5, noNullPrototype: true }) as fc.Arbitrary<ConfObject>,
  doc: fc.dictionary(key, tie("value"), { maxKeys: 8, noNullPrototype: true }) as fc.Arbitrary<ConfObject>,
}));

/** Inputs built from the grammar's own characters, to reach deep parser states. */
const confish = fc
  .array(
    fc.constantFrom(
      "a",
      "b",
      "=",
      ":",
      " ",
      "\n",
      "\t",
      "{",
      "}",
      "[",
      "]",
      "(",
      ")",
      ",",
      ";",
      "#",
      "//",
      '"',
      "'",
      "\\",
      "\\x4",
      "\\x41",
      "$",
      "$a",
      "1",
      "-",
      ".",
      "k",
      "mb",
      "2016-05-04T18:53:41Z",
      "include ",
      "true",
      "\r",
      "x",
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(""));

/** Parse and classify: a value, or a typed error; anything else fails the property. */
function parseOrTypedError(text: string): void {
  try {
    parseConf(text, { env: { a: "$a", b: "1" }, fs: { readFile: () => "x = 1" } });
  } catch (e) {
    if (!isConfError(e)) throw e;
  }
}

describe("properties", () => {
  test.prop([doc], { numRuns: 400 })("parse(print(x)) equals x", (d) => {
    const text = printConf(d);
    expect(parseConf(text, { env: {} }).value).toEqual(d);
  });

  test.prop([doc])("print is a fixpoint after one round", (d) => {
    const once = printConf(d);
    expect(printConf(parseConf(once, { env: {} }).root)).toBe(once);
  });

  test.prop([fc.string({ unit: "binary", maxLength: 200 })], { numRuns: 1000 })(
    "random text yields a value or a ConfError, quickly",
    (text) => {
      const t0 = performance.now();
      parseOrTypedError(text);
      expect(performance.now() - t0).toBeLessThan(1000);
    },
  );

  test.prop([confish], { numRuns: 3000 })(
    "grammar-shaped text yields a value or a ConfError, quickly",
    (text) => {
      const t0 = performance.now();
      parseOrTypedError(text);
      expect(performance.now() - t0).toBeLessThan(1000);
    },
  );

  test.prop(
    [
      doc,
      fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.string({ unit: "binary", maxLength: 3 })), { maxLength: 5 }),
    ],
    {
      numRuns: 1000,
    },
  )("mutated valid documents yield a value or a ConfError, quickly", (d, edits) => {
    let text = printConf(d);
    for (const [at, del, ins] of edits) {
      const p = text.length === 0 ? 0 : at % text.length;
      text = text.slice(0, p) + ins + text.slice(p + del);
    }
    const t0 = performance.now();
    parseOrTypedError(text);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
