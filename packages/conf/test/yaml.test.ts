import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { isConfError, loadConfig, parseYamlConf, toPlain } from "../src/index.js";

describe("parseYamlConf", () => {
  it("keeps positions and types", () => {
    const m = parseYamlConf("a: 1\nb:\n  c: [x, 2.5, true]\n", { file: "c.yaml" });
    expect(toPlain(m)).toEqual({ a: 1, b: { c: ["x", 2.5, true] } });
    const b = m.entries.get("b");
    expect(b?.keyPos).toEqual({ file: "c.yaml", line: 2, column: 1 });
    expect(b?.node.kind === "map" && b.node.entries.get("c")?.keyPos).toEqual({
      file: "c.yaml",
      line: 3,
      column: 3,
    });
  });
  it("drops null values and expands aliases", () => {
    const m = parseYamlConf("a:\nbase: &b {x: 1}\nuse: *b\n");
    expect(toPlain(m)).toEqual({ base: { x: 1 }, use: { x: 1 } });
  });
  it("supports merge keys, explicit keys winning", () => {
    const m = parseYamlConf("base: &b {x: 1, y: 2}\nmore: &m {z: 3}\nuse:\n  <<: [*b, *m]\n  y: 9\n");
    expect(toPlain(m)).toEqual({ base: { x: 1, y: 2 }, more: { z: 3 }, use: { y: 9, x: 1, z: 3 } });
    const one = parseYamlConf("base: &b {x: 1}\nuse:\n  <<: *b\n");
    expect(toPlain(one)).toEqual({ base: { x: 1 }, use: { x: 1 } });
  });
  it("an empty document is an empty map", () => {
    expect(toPlain(parseYamlConf(""))).toEqual({});
    expect(toPlain(parseYamlConf("# only a comment\n"))).toEqual({});
  });
  it.each([
    ["malformed", "a: [1, 2\n", "[yaml] c.yaml:2:1:"],
    ["duplicate key", "a: 1\na: 2\n", "[yaml] c.yaml:2:1: Map keys must be unique"],
    ["not a map", "- 1\n- 2\n", "[yaml] c.yaml:1:1: the document must be a map of keys"],
  ])("%s is a yaml error with a position", (_n, text, msg) => {
    try {
      parseYamlConf(text, { file: "c.yaml" });
      expect.unreachable();
    } catch (e) {
      expect(isConfError(e, "yaml")).toBe(true);
      expect((e as Error).message.startsWith(msg)).toBe(true);
      expect((e as { excerpt?: string }).excerpt).toMatch(/\^$/);
    }
  });
  it("validation errors in YAML name the YAML line", () => {
    try {
      loadConfig({ file: "lb.yaml", text: "logging:\n  level: debug\n  colour: red\n", env: {} });
      expect.unreachable();
    } catch (e) {
      expect(isConfError(e, "validation")).toBe(true);
      expect((e as { issues: Array<{ message: string }> }).issues[0]?.message).toBe(
        'lb.yaml:3:3: unknown key "logging.colour"',
      );
    }
  });
});

/** loadConfig on arbitrary text, in both formats: a config or a ConfError, nothing else. */
function loadOrTypedError(text: string, format: "conf" | "yaml"): void {
  try {
    loadConfig({ text, format, env: {}, fs: { readFile: () => "port: 1" } });
  } catch (e) {
    if (!isConfError(e)) throw e;
  }
}

const configish = fc
  .array(
    fc.constantFrom(
      "port",
      "logging",
      "level",
      "clustering",
      "server.id",
      ".",
      ":",
      " ",
      "\n",
      "  ",
      "- ",
      "[",
      "]",
      "{",
      "}",
      ",",
      "1",
      "20s",
      '"',
      "'",
      "&a",
      "*a",
      "!!str",
      "#",
      "true",
      "debug",
      "nats.servers",
      "256MB",
      "-1",
      "\t",
    ),
    { maxLength: 40 },
  )
  .map((p) => p.join(""));

describe("loader robustness", () => {
  test.prop([configish, fc.constantFrom("conf" as const, "yaml" as const)], { numRuns: 1500 })(
    "config-shaped text yields a config or a ConfError, quickly",
    (text, format) => {
      const t0 = performance.now();
      loadOrTypedError(text, format);
      expect(performance.now() - t0).toBeLessThan(1000);
    },
  );
  test.prop(
    [fc.string({ unit: "binary", maxLength: 200 }), fc.constantFrom("conf" as const, "yaml" as const)],
    {
      numRuns: 500,
    },
  )("random text yields a config or a ConfError", (text, format) => {
    loadOrTypedError(text, format);
  });
});
