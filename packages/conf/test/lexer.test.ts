import { describe, expect, it } from "vitest";
import { ConfLineTable, type ConfSink, isConfError, lexConf } from "../src/index.js";

/** Records the sink events as readable lines: the transcript is the lexer's contract. */
function transcript(text: string): string[] {
  const lines = new ConfLineTable(text, "t.conf");
  const at = (n: number) => {
    const p = lines.position(n);
    return `${p.line}:${p.column}`;
  };
  const out: string[] = [];
  const sink: ConfSink = {
    key: (name, n) => out.push(`key ${JSON.stringify(name)} @${at(n)}`),
    scalar: (kind, value, n) =>
      out.push(
        `${kind} ${value instanceof Date ? value.toISOString() : typeof value === "bigint" ? `${value}n` : JSON.stringify(value)} @${at(n)}`,
      ),
    mapStart: (n) => out.push(`map{ @${at(n)}`),
    mapEnd: (n) => out.push(`}map @${at(n)}`),
    arrayStart: (n) => out.push(`array[ @${at(n)}`),
    arrayEnd: (n) => out.push(`]array @${at(n)}`),
    include: (path, n) => out.push(`include ${JSON.stringify(path)} @${at(n)}`),
  };
  lexConf(text, sink, { file: "t.conf" });
  return out;
}

describe("lexConf event transcript", () => {
  it("pushes keys, typed scalars, containers, variables and includes in source order", () => {
    const text = [
      "{",
      "  a = 1; b: -2mb",
      '  m { s: "x\\ty", t: yes }',
      "  l [1.5, 'raw', 2016-05-04T18:53:41Z, 9223372036854775807]",
      "  v = $HOME",
      "  include other.conf",
      "}",
    ].join("\n");
    expect(transcript(text)).toEqual([
      'key "a" @2:3',
      "int 1 @2:7",
      'key "b" @2:10',
      "int -2097152 @2:13",
      'key "m" @3:3',
      "map{ @3:5",
      'key "s" @3:7',
      'string "x\\ty" @3:10',
      'key "t" @3:18',
      "bool true @3:21",
      "}map @3:25",
      'key "l" @4:3',
      "array[ @4:5",
      "float 1.5 @4:6",
      'string "raw" @4:11',
      "datetime 2016-05-04T18:53:41.000Z @4:18",
      "int 9223372036854775807n @4:40",
      "]array @4:59",
      'key "v" @5:3',
      'variable "HOME" @5:7',
      'include "other.conf" @6:3',
    ]);
  });

  it("a sink error stops lexing and propagates", () => {
    const sink: ConfSink = {
      key: () => {
        throw new Error("stop");
      },
      scalar: () => {},
      mapStart: () => {},
      mapEnd: () => {},
      arrayStart: () => {},
      arrayEnd: () => {},
      include: () => {},
    };
    expect(() => lexConf("a = 1", sink)).toThrow("stop");
  });

  it("syntax errors are ConfErrors with the position of the problem", () => {
    try {
      transcript("a = [1,\n  ,2]");
      expect.unreachable();
    } catch (e) {
      expect(isConfError(e, "parse")).toBe(true);
      expect((e as Error).message).toBe("[parse] t.conf:2:3: unexpected ',' in array (missing element)");
    }
  });
});

describe("ConfLineTable", () => {
  it("maps offsets to lines and columns in any order", () => {
    const t = new ConfLineTable("ab\ncd\n\nef", "f");
    expect([8, 0, 4, 6, 1].map((n) => t.position(n))).toEqual([
      { file: "f", line: 4, column: 2 },
      { file: "f", line: 1, column: 1 },
      { file: "f", line: 2, column: 2 },
      { file: "f", line: 3, column: 1 },
      { file: "f", line: 1, column: 2 },
    ]);
  });
});
