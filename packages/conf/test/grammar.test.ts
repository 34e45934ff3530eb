import { describe, expect, it } from "vitest";
import { type ConfValue, formatConfError, isConfError, parseConf } from "../src/index.js";

/** Golden table for spec §7.2-7.7: input, then the expected plain value or error (code + message part). */
type Row = [name: string, input: string, expected: ConfValue | { error: string; message?: string }];

const ENV = {
  NUM: "4k",
  YES: "yes",
  ARR: "[1, 2 ]",
  MAP: "{a = 1}",
  SQ: "'3xyz'",
  GYZ: "3Gyz",
  TWO: "hello world",
  NESTED: "$NUM",
  CYC: "$CYC",
  CYC_A: "$CYC_B",
  CYC_B: "$CYC_A",
};

const dt = (s: string) => new Date(s);

const rows: Row[] = [
  // §7.2 separators and terminators
  ["equals", "foo = 2", { foo: 2 }],
  ["colon", "foo: 2", { foo: 2 }],
  ["whitespace separator", "foo 2", { foo: 2 }],
  ["no spaces", "foo=2\nbar:3", { foo: 2, bar: 3 }],
  ["semicolon terminator", "a = 1; b = 2", { a: 1, b: 2 }],
  ["comma terminator", "a = 1, b = 2", { a: 1, b: 2 }],
  ["newline terminator", "a 1\nb 2", { a: 1, b: 2 }],
  ["CRLF line endings", "a = 1\r\nb = 2\r\n", { a: 1, b: 2 }],
  ["two values on a line", "a = 1 b", { error: "parse", message: "<input>:1:7: expected a newline" }],
  ["map needs no separator", "foo { a = 1 }", { foo: { a: 1 } }],
  ["map with = separator", "foo = { a = 1 }", { foo: { a: 1 } }],
  ["key glued to brace is an error", "foo{ a = 1 }", { error: "parse" }],
  // keys
  ["dotted key is one key", "a.b.c = 1", { "a.b.c": 1 }],
  ["key with dash and slash", "a-b/c = x", { "a-b/c": "x" }],
  ["double-quoted key", '"a b" = 1', { "a b": 1 }],
  ["single-quoted key", "'a b' = 1", { "a b": 1 }],
  ["no escapes in keys", '"a\\tb" = 1', { "a\\tb": 1 }],
  ["key case preserved", "Foo = 1", { Foo: 1 }],
  ["key starting with :", ": = 1", { error: "parse", message: "can not start with ':'" }],
  ["key starting with =", "=a 1", { error: "parse", message: "can not start with '='" }],
  ["bare key at EOF", "a", { error: "invalid", message: "<input>:1:1: config is invalid" }],
  ["bare key before newline", "a\nb = 1", { error: "invalid" }],
  ["comma-separated bare words", "a,a,a", { error: "invalid" }],
  ["duplicate key overwrites", "a=1\na=2", { a: 2 }],
  ["duplicate map replaces without merge", "m{a=1}\nm {b=2}", { error: "parse" }],
  ["duplicate map blocks replace", "m {a=1}\nm {b=2}", { m: { b: 2 } }],
  // comments
  ["hash comment line", "# c\na = 1", { a: 1 }],
  ["slash comment line", "// c\na = 1", { a: 1 }],
  ["comment after value", "a = 1 # c\nb = 2 // d", { a: 1, b: 2 }],
  ["hash inside unquoted string is literal", "a = x#y", { a: "x#y" }],
  ["url with // is literal", "a = http://foo/x", { a: "http://foo/x" }],
  [
    "comments inside arrays and maps",
    "a [\n# c\n1 // d\n2 # e\n]\nm {\n# c\nb = 1 # d\n}",
    { a: [1, 2], m: { b: 1 } },
  ],
  // maps
  ["map one pair per line", "m {\n a = 1\n b = 2\n}", { m: { a: 1, b: 2 } }],
  ["map with ; and ,", "m { a = 1; b = 2, c = 3 }", { m: { a: 1, b: 2, c: 3 } }],
  ["number before } in map", "m {a=1}", { m: { a: 1 } }],
  ["empty map", "m {}", { m: {} }],
  ["comma right after {", "m {, a = 1}", { error: "parse" }],
  ["unterminated map", "m { a = 1", { error: "parse", message: "Unexpected EOF processing map." }],
  ["nested maps", "a { b { c = 1 } }", { a: { b: { c: 1 } } }],
  // arrays
  ["array", "a = [1, 2, 3 ]", { a: [1, 2, 3] }],
  ["array with number before ] (quirk avoided)", "a = [1]", { a: [1] }],
  ["array of numbers before ]", "a = [1, 2, 3]", { a: [1, 2, 3] }],
  ["suffixed number before ]", "a = [1k]", { a: [1000] }],
  ["newline separated array", "a [\n1\n2\n]", { a: [1, 2] }],
  ["trailing comma", "a = [1,]", { a: [1] }],
  ["leading comma", "a = [,1]", { error: "parse", message: "unexpected ','" }],
  ["double comma", "a = [1,,2]", { error: "parse" }],
  ["mixed array", "a = [1, 'x']", { a: [1, "x"] }],
  ["whitespace before array", "a [1,2 ]", { a: [1, 2] }],
  ["whitespace before string array", "a ['x']", { a: ["x"] }],
  ["maps in array", "a [\n {a:1}\n {b:2}\n]", { a: [{ a: 1 }, { b: 2 }] }],
  ["nested arrays", "a [[1,2],[3]]", { a: [[1, 2], [3]] }],
  ["empty array", "a []", { a: [] }],
  ["unterminated array", "a [1, 2", { error: "parse", message: "Unexpected EOF processing array." }],
  // strings
  ["double-quoted escapes", 'a = "t\\tn\\nr\\rq\\"b\\\\"', { a: 't\tn\nr\rq"b\\' }],
  ["double-quoted \\x", 'a = "\\x41"', { a: "A" }],
  ["\\u is not an escape", 'a = "\\u0041"', { error: "parse", message: "invalid escape character 'u'" }],
  ["single-quoted is raw", "a = 'x\\ny'", { a: "x\\ny" }],
  ["single-quoted spans lines", "a = 'x\ny'", { a: "x\ny" }],
  ["unquoted escapes", "foo = \\x41B", { foo: "AB" }],
  ["unquoted embedded double quote", 'a = x"y', { a: 'x"y' }],
  ["unquoted embedded single quote ends it", "a = x'y", { error: "parse" }],
  ["empty double-quoted", 'a = ""', { a: "" }],
  ["empty single-quoted", "a = ''", { a: "" }],
  ["nothing after =", "a =\nb = 1", { a: "", b: 1 }],
  ["nothing after = at EOF", "a =", { a: "" }],
  ["unterminated double quote", 'a = "x', { error: "parse", message: "Unexpected EOF." }],
  ["unterminated single quote", "a = 'x", { error: "parse", message: "Unexpected EOF." }],
  ["non-ASCII text", "a = héllo", { a: "héllo" }],
  // block strings
  ["block string", "a (\nline 1\n  (nested) line 2\n)\nb = 1", { a: "\nline 1\n  (nested) line 2\n", b: 1 }],
  ["block string closing at EOF", "a (\nx\n)", { a: "\nx\n" }],
  ["unterminated block", "a (\nx\n", { error: "parse", message: "Unexpected EOF processing block." }],
  ["block ) not alone stays in value", "a (\nx\n) y\n)\n", { a: "\nx\n) y\n" }],
  // §7.3 typed values
  ...(["true", "TRUE", "yes", "Yes", "on", "ON"] as const).map(
    (v): Row => [`bool ${v}`, `a = ${v}`, { a: true }],
  ),
  ...(["false", "False", "no", "NO", "off", "Off"] as const).map(
    (v): Row => [`bool ${v}`, `a = ${v}`, { a: false }],
  ),
  ["quoted true is a string", "a = 'true'\nb = \"true\"", { a: "true", b: "true" }],
  ["truex is a string", "a = truex", { a: "truex" }],
  ["escaped true is a string", "a = \\\\true", { a: "\\true" }],
  ["integers", "a = 123\nb = -123\nc = 007", { a: 123, b: -123, c: 7 }],
  ["int64 max", "a = 9223372036854775807", { a: 9223372036854775807n }],
  ["int64 min", "a = -9223372036854775808", { a: -9223372036854775808n }],
  ["int64 overflow", "a = 9223372036854775808", { error: "out_of_range", message: "out of the range" }],
  ["+5, 0x10, 1_000 are strings", "a = +5\nb = 0x10\nc = 1_000", { a: "+5", b: "0x10", c: "1_000" }],
  ["floats", "a = 22.2\nb = -1.5", { a: 22.2, b: -1.5 }],
  [".5 is an error", "a = .5", { error: "parse", message: "Floats must start with a digit" }],
  ["1. is an error", "a = 1.", { error: "parse", message: "must have a digit after the '.'" }],
  ["1.5e3 is an error", "a = 1.5e3", { error: "parse", message: "can not be followed" }],
  ["1.5k is an error", "a = 1.5k", { error: "parse", message: "can not be followed" }],
  [
    "IP addresses are strings",
    "a = 127.0.0.1\nb = 1.2.3\nc = 12.34.56.78:4222",
    {
      a: "127.0.0.1",
      b: "1.2.3",
      c: "12.34.56.78:4222",
    },
  ],
  ["IP-like with dash", "a = 1.2.3.4:-1", { a: "1.2.3.4:-1" }],
  ["datetime", "a = 2016-05-04T18:53:41Z", { a: dt("2016-05-04T18:53:41Z") }],
  ["date without time is an error", "a = 2016-05-04", { error: "parse", message: "full Zulu form" }],
  ["1-2 is an error", "a = 1-2", { error: "parse", message: "full Zulu form" }],
  ["invalid calendar date", "a = 2016-02-30T00:00:00Z", { error: "parse", message: "full Zulu form" }],
  [
    "digit-led words are strings",
    "a = 3xyz\nb = 1Ghz\nc = 2Pie\nd = 3Mbs\ne = 1kk",
    {
      a: "3xyz",
      b: "1Ghz",
      c: "2Pie",
      d: "3Mbs",
      e: "1kk",
    },
  ],
  [
    "URLs and ports are strings",
    "a = nats://u:p@h:4222\nb = localhost:4222\nc = :80\nd = :-1",
    {
      a: "nats://u:p@h:4222",
      b: "localhost:4222",
      c: ":80",
      d: ":-1",
    },
  ],
  // sizes
  ["size k", "a = 1k\nb = 1K", { a: 1000, b: 1000 }],
  ["size kb ki kib", "a = 1kb\nb = 1ki\nc = 1KiB", { a: 1024, b: 1024, c: 1024 }],
  ["size m mb mi mib", "a = 1m\nb = 1mb\nc = 1mi\nd = 1mib", { a: 1e6, b: 1048576, c: 1048576, d: 1048576 }],
  ["size g gb", "a = 1g\nb = 1gb\nc = 1gi\nd = 1gib", { a: 1e9, b: 1024 ** 3, c: 1024 ** 3, d: 1024 ** 3 }],
  ["size t tb", "a = 1t\nb = 1tb\nc = 1ti\nd = 1tib", { a: 1e12, b: 1024 ** 4, c: 1024 ** 4, d: 1024 ** 4 }],
  ["size p pb", "a = 1p\nb = 1pb\nc = 1pi\nd = 1pib", { a: 1e15, b: 1024 ** 5, c: 1024 ** 5, d: 1024 ** 5 }],
  [
    "size e eb",
    "a = 1e\nb = 1eb\nc = 1ei\nd = 1eib",
    {
      a: 10n ** 18n,
      b: 1024n ** 6n,
      c: 1024n ** 6n,
      d: 1024n ** 6n,
    },
  ],
  ["negative size", "a = -2mb", { a: -2097152 }],
  ["quoted size is a string", 'a = "5MB"', { a: "5MB" }],
  ["size overflow is an error (not wrapped)", "a = 8eb", { error: "out_of_range" }],
  ["unquoted 5m is a size", "a = 5m", { a: 5000000 }],
  ["unquoted 10s, 1h, 100ms are strings", "a = 10s\nb = 1h\nc = 100ms", { a: "10s", b: "1h", c: "100ms" }],
  // §7.4 escapes
  ["escaped backslash at start", 'foo = "\\\\end"', { foo: "\\end" }],
  ["escaped backslash at end", 'foo = "start\\\\"', { foo: "start\\" }],
  ["unquoted hex escapes", "foo = \\x45\\x71", { foo: "Eq" }],
  ["hex escape in middle", "foo = start\\x7Cend", { foo: "start|end" }],
  ["mixed-case hex", "foo = \\x3cmiddle\\x3E", { foo: "<middle>" }],
  ["non-UTF-8 byte", "foo = \\xe9", { foo: "\u00e9" }],
  ["UTF-8 byte run", "foo = \\xc3\\xa9", { foo: "é" }],
  ["invalid escape", "foo = \\y", { error: "parse", message: "invalid escape character 'y'" }],
  ["\\x with one digit", 'foo = "\\x4"', { error: "parse", message: "Expected two hexadecimal digits" }],
  ["\\x with none", "foo = \\x", { error: "parse", message: "Expected two hexadecimal digits" }],
  ["\\x with non-hex", "foo = \\xZZ", { error: "parse", message: "Expected two hexadecimal digits" }],
  ["escaped $ is not a variable", "foo = \\\\$var", { foo: "\\$var" }],
  // §7.5 variables
  ["variable from earlier key", "index = 22\nfoo = $index", { index: 22, foo: 22 }],
  ["variable from enclosing map", "x = 1\nm { y = $x }", { x: 1, m: { y: 1 } }],
  ["inner map shadows", "x = 1\nm { x = 2, y = $x }", { x: 1, m: { x: 2, y: 2 } }],
  ["variables skip arrays", "x = 1\na [ $x, { y = $x } ]", { x: 1, a: [1, { y: 1 }] }],
  [
    "block scoping",
    "m { x = 1 }\ny = $x",
    { error: "variable_not_found", message: "variable reference for 'x' on line 2 can not be found" },
  ],
  ["must be defined earlier", "y = $x\nx = 1", { error: "variable_not_found" }],
  ["quoted $ is literal", "a = \"$x\"\nb = '$x'", { a: "$x", b: "$x" }],
  ["$-brace form is not supported", "a = $" + "{NUM}", { error: "variable_not_found", message: "'{NUM'" }],
  ["$x.y is looked up literally", "x = 1\na = $x.y", { error: "variable_not_found", message: "'x.y'" }],
  ["env fallback with size", "a = $NUM", { a: 4000 }],
  ["env bool", "a = $YES", { a: true }],
  ["env array", "a = $ARR", { a: [1, 2] }],
  ["env map", "a = $MAP", { a: { a: 1 } }],
  ["env quoted string", "a = $SQ", { a: "3xyz" }],
  ["env digit-led string", "a = $GYZ", { a: "3Gyz" }],
  ["env with two values", "a = $TWO", { error: "parse" }],
  ["env referring to env", "a = $NESTED", { a: 4000 }],
  ["env self cycle", "a = $CYC", { error: "variable_cycle", message: "variable reference cycle" }],
  ["env two-step cycle", "a = $CYC_A", { error: "variable_cycle" }],
  ["key defined earlier wins over env", "NUM = 1\na = $NUM", { NUM: 1, a: 1 }],
  ["bcrypt is literal", "password: $2a$11$ooo", { password: "$2a$11$ooo" }],
  // §7.7 JSON compatibility
  ["whole-document braces", "{ a = 1 }", { a: 1 }],
  ["nested anonymous blocks", "{ { a = 1 } }", { a: 1 }],
  ["trailing } tolerated", "a = 1\n}", { a: 1 }],
  [
    "JSON object",
    '{\n  "a": 1,\n  "b": "x",\n  "c": [1, 2],\n  "d": {"e": true},\n}',
    {
      a: 1,
      b: "x",
      c: [1, 2],
      d: { e: true },
    },
  ],
  ["JSON with number-terminated array", '{"a": [1,2]}', { a: [1, 2] }],
  ["empty file", "", {}],
  ["only comments", "# a\n// b\n", {}],
  ["only braces", "{}", {}],
  ["unterminated top block", "{ a = 1", { error: "parse", message: "Unexpected EOF." }],
  ["BOM is skipped", "\ufeffa = 1", { a: 1 }],
  ["__proto__ key is an own key", "__proto__ = 1", JSON.parse('{"__proto__": 1}') as ConfValue],
];

describe("grammar golden table (spec §7)", () => {
  it.each(rows)("%s", (_name, input, expected) => {
    if (
      typeof expected === "object" &&
      expected !== null &&
      "error" in expected &&
      !(expected instanceof Date)
    ) {
      const exp = expected as { error: string; message?: string };
      let caught: unknown;
      try {
        parseConf(input, { env: ENV, fs: { readFile: () => "" } });
      } catch (e) {
        caught = e;
      }
      expect(isConfError(caught), String(caught)).toBe(true);
      expect((caught as { code: string }).code).toBe(exp.error);
      if (exp.message !== undefined) expect((caught as Error).message).toContain(exp.message);
      return;
    }
    expect(parseConf(input, { env: ENV }).value).toEqual(expected);
  });
});

/** A tiny in-memory file system for include tests. */
function memFs(files: Record<string, string>) {
  return {
    readFile(p: string): string {
      const v = files[p];
      if (v === undefined) throw new Error(`ENOENT: ${p}`);
      return v;
    },
  };
}

describe("include (spec §7.6)", () => {
  const files = {
    "/etc/nats/main.conf": "a = 1\ninclude inc/sub.conf\nb = $x\nm {\n  include 'inc/in-map.conf'\n}\n",
    "/etc/nats/inc/sub.conf": "x = 42\na = 2\n",
    "/etc/nats/inc/in-map.conf": 'k = "v"\n',
    "/etc/nats/uses-parent-var.conf": "v = 1\ninclude child.conf\n",
    "/etc/nats/child.conf": "w = $v\n",
    "/etc/nats/env.conf": "include envchild.conf\n",
    "/etc/nats/envchild.conf": "w = $NUM\n",
    "/etc/nats/cycle.conf": "include cycle.conf\n",
    "/etc/nats/bad-inner.conf": "include broken.conf\n",
    "/etc/nats/broken.conf": "a = 1 b\n",
  };
  const fs = memFs(files);
  const parse = (file: string, text?: string) =>
    parseConf(text ?? (files as Record<string, string>)[file]!, { file, env: ENV, fs });

  it("merges keys relative to the including file, in order, also inside maps", () => {
    const d = parse("/etc/nats/main.conf");
    expect(d.value).toEqual({ a: 2, x: 42, b: 42, m: { k: "v" } });
    // positions of included keys name the included file
    expect(d.root.entries.get("x")?.keyPos).toEqual({ file: "inc/sub.conf", line: 1, column: 1 });
  });
  it("an included file can not see the includer's variables", () => {
    expect(() => parse("/etc/nats/uses-parent-var.conf")).toThrow(/variable reference for 'v'/);
  });
  it("an included file can see the environment", () => {
    expect(parse("/etc/nats/env.conf").value).toEqual({ w: 4000 });
  });
  it("keyword is case-insensitive; include_x is an ordinary key", () => {
    expect(parse("/etc/nats/x.conf", "INCLUDE inc/in-map.conf\ninclude_x = 5").value).toEqual({
      k: "v",
      include_x: 5,
    });
  });
  it("double-quoted path", () => {
    expect(parse("/etc/nats/x.conf", 'include "inc/in-map.conf"').value).toEqual({ k: "v" });
  });
  it("Include = 5 includes the file '=' and fails", () => {
    expect(() => parse("/etc/nats/x.conf", "Include = 5")).toThrow(/error parsing include file '='/);
  });
  it.each(["[a]", "{a}", "(a)", "5.conf", "-a", "\\a"])("a path starting like %s is an error", (p) => {
    expect(() => parse("/etc/nats/x.conf", `include ${p}`)).toThrow(/expected an include path/);
  });
  it("missing file", () => {
    try {
      parse("/etc/nats/x.conf", "include nope.conf");
      expect.unreachable();
    } catch (e) {
      expect(isConfError(e, "include")).toBe(true);
      expect((e as Error).message).toBe(
        "[include] /etc/nats/x.conf:1:1: error parsing include file 'nope.conf', can not read it",
      );
      expect((e as Error).cause).toBeInstanceOf(Error);
    }
  });
  it("an include cycle is an error, not a hang", () => {
    expect(() => parse("/etc/nats/cycle.conf")).toThrow(/include cycle/);
  });
  it("an error in an included file names that file and line", () => {
    expect(() => parse("/etc/nats/bad-inner.conf")).toThrow("[parse] broken.conf:1:7: expected a newline");
  });
});

describe("positions and excerpts", () => {
  it("keeps line and column for keys and values", () => {
    const d = parseConf('a = 1\nm {\n  b: "x"\n}\n', { file: "t.conf", env: {} });
    const m = d.root.entries.get("m")!;
    expect(m.keyPos).toEqual({ file: "t.conf", line: 2, column: 1 });
    if (m.node.kind !== "map") throw new Error("not a map");
    const b = m.node.entries.get("b")!;
    expect(b.keyPos).toEqual({ file: "t.conf", line: 3, column: 3 });
    expect(b.node.pos).toEqual({ file: "t.conf", line: 3, column: 6 });
  });
  it("errors carry an excerpt with a caret", () => {
    try {
      parseConf("x = 1\na = 1 b\n", { file: "t.conf", env: {} });
      expect.unreachable();
    } catch (e) {
      expect(isConfError(e, "parse")).toBe(true);
      const ce = e as import("../src/index.js").ConfError;
      expect(ce.location).toEqual({ file: "t.conf", line: 2, column: 7 });
      expect(ce.excerpt).toBe("a = 1 b\n      ^");
      expect(formatConfError(ce)).toBe(
        "[parse] t.conf:2:7: expected a newline, ';' or ',' after the value, got 'b'\n    a = 1 b\n          ^",
      );
    }
  });
  it("exponential environment expansion is bounded", () => {
    const env: Record<string, string> = {};
    for (let i = 0; i < 30; i++) env[`V${i}`] = `[$V${i + 1}, $V${i + 1}, $V${i + 1}]`;
    env.V30 = "1";
    expect(() => parseConf("a = $V0", { env })).toThrow(/more than 10000 variable expansions/);
  });
  it("exponential includes are bounded", () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 15; i++) files[`/c/f${i}.conf`] = `include f${i + 1}.conf\ninclude f${i + 1}.conf\n`;
    files["/c/f15.conf"] = "x = 1\n";
    const fs = { readFile: (p: string) => files[p] ?? "" };
    expect(() => parseConf(files["/c/f0.conf"]!, { file: "/c/f0.conf", env: {}, fs })).toThrow(
      /more than 10000 includes/,
    );
  });
  it("deep nesting is a typed error, not a stack overflow", () => {
    expect(() => parseConf(`a = ${"[".repeat(100_000)}`, { env: {} })).toThrow(/nesting deeper than 200/);
    expect(() => parseConf("a { ".repeat(100_000), { env: {} })).toThrow(/nesting deeper/);
  });
});
