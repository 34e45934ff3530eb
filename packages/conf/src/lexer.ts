import { ConfError, ConfErrorCode } from "./errors.js";
import type { ConfPosition } from "./types.js";

/** The kinds of scalar the lexer pushes. `variable` is an unresolved `$NAME` reference. */
export type ConfScalarKind = "string" | "int" | "float" | "bool" | "datetime" | "variable";

/**
 * A scalar's value by kind: string (also the variable name), number or bigint (int), number
 * (float), boolean, Date.
 */
export type ConfScalarValue = string | number | bigint | boolean | Date;

/**
 * Receives the events of {@link lexConf}, in source order. `at` is the UTF-16 offset of the token
 * in the text; turn it into a line and column with {@link ConfLineTable}. Anonymous `{ … }` blocks
 * (a document wrapped in braces) produce no events: their keys belong to the enclosing map. A sink
 * may throw a {@link ConfError} to stop lexing.
 */
export interface ConfSink {
  /** A key; its value follows as a scalar, a map or an array. */
  key(name: string, at: number): void;
  /** A scalar value (for the last key, or the next array element). */
  scalar(kind: ConfScalarKind, value: ConfScalarValue, at: number): void;
  mapStart(at: number): void;
  mapEnd(at: number): void;
  arrayStart(at: number): void;
  arrayEnd(at: number): void;
  /** An `include <path>` directive (path as written, not resolved). */
  include(path: string, at: number): void;
}

/** Maps UTF-16 offsets of one text to 1-based line and column positions. */
export class ConfLineTable {
  readonly file: string;
  private readonly text: string;
  private starts: number[] | undefined;
  private last = 0;

  constructor(text: string, file: string) {
    this.text = text;
    this.file = file;
  }

  /** The position of offset `at` (clamped to the text). Fastest when called in increasing order. */
  position(at: number): ConfPosition {
    if (this.starts === undefined) {
      const starts = [0];
      let k = this.text.indexOf("\n");
      while (k !== -1) {
        starts.push(k + 1);
        k = this.text.indexOf("\n", k + 1);
      }
      this.starts = starts;
    }
    const ls = this.starts;
    let lo: number;
    const last = this.last;
    if (at >= (ls[last] as number)) {
      // Mostly asked in source order: walk forward from the previous line.
      lo = last;
      while (lo + 1 < ls.length && (ls[lo + 1] as number) <= at) lo++;
    } else {
      lo = 0;
      let hi = last;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((ls[mid] as number) <= at) lo = mid;
        else hi = mid - 1;
      }
    }
    this.last = lo;
    return { file: this.file, line: lo + 1, column: at - (ls[lo] as number) + 1 };
  }
}

/** Options of {@link lexConf}. */
export interface LexConfOptions {
  /** File name used in positions and error messages. Default `<input>`. */
  readonly file?: string;
  /** Maximum nesting of maps and arrays. Default {@link DEFAULT_MAX_DEPTH}. */
  readonly maxDepth?: number;
}

/** Default maximum nesting of maps and arrays. */
export const DEFAULT_MAX_DEPTH = 200;

/** Multipliers of the size suffixes (case-insensitive, unquoted integers only). */
export const SIZE_SUFFIXES: Readonly<Record<string, bigint>> = (() => {
  const out: Record<string, bigint> = {};
  const names = ["k", "m", "g", "t", "p", "e"];
  names.forEach((n, i) => {
    const exp = BigInt(i + 1);
    out[n] = 1000n ** exp;
    for (const s of ["b", "i", "ib"]) out[n + s] = 1024n ** exp;
  });
  return out;
})();

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const BOOLS: Readonly<Record<string, boolean>> = {
  true: true,
  yes: true,
  on: true,
  false: false,
  no: false,
  off: false,
};
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;
const BCRYPT_RE = /^\$2[abxy]\$/;
/** First characters of the boolean words (t f y n o, either case). */
const BOOL_START = new Uint8Array(128);
for (const ch of "tTfFyYnNoO") BOOL_START[ch.charCodeAt(0)] = 1;

const C_TAB = 9;
const C_NL = 10;
const C_CR = 13;
const C_SPACE = 32;
const C_DQ = 34;
const C_HASH = 35;
const C_DOLLAR = 36;
const C_SQ = 39;
const C_LPAREN = 40;
const C_RPAREN = 41;
const C_COMMA = 44;
const C_MINUS = 45;
const C_DOT = 46;
const C_SLASH = 47;
const C_COLON = 58;
const C_SEMI = 59;
const C_EQ = 61;
const C_LBRACKET = 91;
const C_BACKSLASH = 92;
const C_RBRACKET = 93;
const C_LBRACE = 123;
const C_RBRACE = 125;

const isSpace = (c: number) => c === C_SPACE || c === C_TAB;
const isNl = (c: number) => c === C_NL || c === C_CR;
const isDigit = (c: number) => c >= 48 && c <= 57;
/** Character classes of ASCII codes: bit 1 ends an unquoted value, bit 2 ends an unquoted key. */
const CLASS = new Uint8Array(128);
for (const c of [C_SPACE, C_TAB, C_NL, C_CR, C_SEMI, C_COMMA, C_RBRACKET, C_RBRACE, C_SQ])
  CLASS[c] = (CLASS[c] as number) | 1;
for (const c of [C_SPACE, C_TAB, C_NL, C_CR, C_EQ, C_COLON]) CLASS[c] = (CLASS[c] as number) | 2;
/** Characters that end an unquoted value (NaN, i.e. EOF, does too). */
const endsWord = (c: number) => c < 128 && ((CLASS[c] as number) & 1) !== 0;
/** Characters that end an unquoted key. */
const endsKey = (c: number) => c < 128 && ((CLASS[c] as number) & 2) !== 0;

type Context = "top" | "map" | "block";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Lexes NATS configuration text and pushes its events into `sink`: pure and synchronous.
 *
 * The grammar is nats-server's (`conf/lex.go`) as restated in the package README, with these
 * deliberate differences: a number directly before `]` ends the number (`a = [1]` is `[1]`, not an
 * error); a size-suffixed integer that overflows int64 is an `out_of_range` error rather than
 * wrapping; a `)` closing a block string may be the last character of the file; `-foo` is a string.
 *
 * Throws {@link ConfError} (`parse`, `invalid`, `out_of_range`, `too_deep`) naming file, line and
 * column with an excerpt; it never throws anything else and always terminates in time linear in
 * the input.
 */
export function lexConf(text: string, sink: ConfSink, options: LexConfOptions = {}): void {
  new ConfLexer(text, sink, options.file ?? "<input>", options.maxDepth ?? DEFAULT_MAX_DEPTH).run();
}

class ConfLexer {
  private i = 0;
  private depth = 0;
  private readonly n: number;
  private readonly lines: ConfLineTable;

  private readonly s: string;
  private readonly sink: ConfSink;
  private readonly maxDepth: number;

  constructor(s: string, sink: ConfSink, file: string, maxDepth: number) {
    this.s = s;
    this.sink = sink;
    this.maxDepth = maxDepth;
    this.n = s.length;
    this.lines = new ConfLineTable(s, file);
  }

  run(): void {
    if (this.s.charCodeAt(0) === 0xfeff) this.i = 1;
    this.body("top");
  }

  // ---- positions and errors -------------------------------------------------------------------

  pos(index: number): ConfPosition {
    return this.lines.position(index);
  }

  fail(code: ConfErrorCode, message: string, index: number): never {
    const at = Math.min(index, this.n);
    const p = this.pos(at);
    throw new ConfError(code, `${p.file}:${p.line}:${p.column}: ${message}`, {
      location: p,
      excerpt: excerptAt(this.s, at, p.column),
    });
  }

  // ---- structure --------------------------------------------------------------------------------

  /** Skips spaces, tabs, newlines and comments. */
  skipBlank(): void {
    const s = this.s;
    while (this.i < this.n) {
      const c = s.charCodeAt(this.i);
      if (isSpace(c) || isNl(c)) this.i++;
      else if (c === C_HASH || (c === C_SLASH && s.charCodeAt(this.i + 1) === C_SLASH)) this.skipComment();
      else break;
    }
  }

  skipComment(): void {
    const s = this.s;
    while (this.i < this.n && !isNl(s.charCodeAt(this.i))) this.i++;
  }

  skipSpaces(): void {
    while (this.i < this.n && isSpace(this.s.charCodeAt(this.i))) this.i++;
  }

  enter(index: number): void {
    if (++this.depth > this.maxDepth) {
      this.fail(ConfErrorCode.TooDeep, `nesting deeper than ${this.maxDepth} levels`, index);
    }
  }

  /** Key/value pairs until EOF (top) or the closing `}` (map, block), which it consumes. */
  body(ctx: Context): void {
    const s = this.s;
    const open = this.i - 1;
    for (;;) {
      this.skipBlank();
      if (this.i >= this.n) {
        if (ctx === "map") this.fail(ConfErrorCode.Parse, "Unexpected EOF processing map.", open);
        if (ctx === "block") this.fail(ConfErrorCode.Parse, "Unexpected EOF.", open);
        return;
      }
      const c = s.charCodeAt(this.i);
      if (c === C_RBRACE) {
        this.i++;
        if (ctx !== "top") return;
        // A stray `}` after the top-level values is tolerated (JSON compatibility).
        this.skipBlank();
        if (this.i < this.n && s.charCodeAt(this.i) !== C_RBRACE) {
          this.fail(ConfErrorCode.Parse, "unexpected '}' at top level", this.i - 1);
        }
        continue;
      }
      if (c === C_LBRACE) {
        this.enter(this.i);
        this.i++;
        this.body("block");
        this.depth--;
        continue;
      }
      if (c === C_COMMA || c === C_SEMI) {
        this.fail(ConfErrorCode.Parse, `unexpected '${s[this.i]}' where a key was expected`, this.i);
      }
      this.pair();
    }
  }

  pair(): void {
    const s = this.s;
    const start = this.i;
    const c = s.charCodeAt(start);
    let name: string;
    let quoted = false;
    if (c === C_DQ || c === C_SQ) {
      quoted = true;
      let j = start + 1;
      while (j < this.n && s.charCodeAt(j) !== c && !isNl(s.charCodeAt(j))) j++;
      if (j >= this.n || s.charCodeAt(j) !== c) {
        this.fail(ConfErrorCode.Parse, "Unexpected EOF: unterminated quoted key.", start);
      }
      name = s.slice(start + 1, j);
      this.i = j + 1;
    } else {
      if (c === C_EQ || c === C_COLON) {
        this.fail(ConfErrorCode.Parse, `a key can not start with '${s[start]}'`, start);
      }
      let j = start;
      while (j < this.n && !endsKey(s.charCodeAt(j))) j++;
      name = s.slice(start, j);
      this.i = j;
    }
    if (!quoted && name.length === 7 && name.toLowerCase() === "include" && isSpace(s.charCodeAt(this.i))) {
      this.skipSpaces();
      this.sink.include(this.includePath(), start);
      this.valueEnd();
      return;
    }
    this.sink.key(name, start);
    this.skipSpaces();
    const d = s.charCodeAt(this.i);
    if (d === C_EQ || d === C_COLON) {
      this.i++;
      this.skipSpaces();
    } else if (
      this.i >= this.n ||
      isNl(d) ||
      d === C_SEMI ||
      d === C_COMMA ||
      d === C_RBRACE ||
      d === C_HASH ||
      (d === C_SLASH && s.charCodeAt(this.i + 1) === C_SLASH)
    ) {
      this.fail(ConfErrorCode.Invalid, `config is invalid: key '${name}' has no value`, start);
    }
    this.value(false);
    this.valueEnd();
  }

  includePath(): string {
    const s = this.s;
    const start = this.i;
    const c = s.charCodeAt(start);
    if (c === C_DQ || c === C_SQ) {
      const j = s.indexOf(s[start] as string, start + 1);
      if (j === -1) this.fail(ConfErrorCode.Parse, "Unexpected EOF processing include path.", start);
      this.i = j + 1;
      return s.slice(start + 1, j);
    }
    if (
      start >= this.n ||
      isNl(c) ||
      c === C_LBRACKET ||
      c === C_LBRACE ||
      c === C_LPAREN ||
      isDigit(c) ||
      c === C_MINUS ||
      c === C_BACKSLASH
    ) {
      this.fail(ConfErrorCode.Parse, "expected an include path after 'include'", start);
    }
    let j = start;
    while (j < this.n && !endsWord(s.charCodeAt(j))) j++;
    this.i = j;
    return s.slice(start, j);
  }

  /** After a value: optional spaces, then a newline, `;`, `,`, a comment, `}` or EOF. */
  valueEnd(): void {
    this.skipSpaces();
    if (this.i >= this.n) return;
    const s = this.s;
    const c = s.charCodeAt(this.i);
    if (isNl(c) || c === C_SEMI || c === C_COMMA) {
      this.i++;
      return;
    }
    if (c === C_HASH || (c === C_SLASH && s.charCodeAt(this.i + 1) === C_SLASH)) {
      this.skipComment();
      return;
    }
    if (c === C_RBRACE) return;
    this.fail(
      ConfErrorCode.Parse,
      `expected a newline, ';' or ',' after the value, got '${s[this.i]}'`,
      this.i,
    );
  }

  // ---- values -----------------------------------------------------------------------------------

  value(inArray: boolean): void {
    const s = this.s;
    const start = this.i;
    const c = s.charCodeAt(start);
    switch (c) {
      case C_LBRACKET:
        this.array();
        return;
      case C_LBRACE: {
        this.enter(start);
        this.sink.mapStart(start);
        this.i++;
        this.body("map");
        this.depth--;
        this.sink.mapEnd(this.i - 1);
        return;
      }
      case C_DQ:
        this.sink.scalar("string", this.doubleQuoted(), start);
        return;
      case C_SQ: {
        const j = s.indexOf("'", start + 1);
        if (j === -1) this.fail(ConfErrorCode.Parse, "Unexpected EOF.", start);
        this.i = j + 1;
        this.sink.scalar("string", s.slice(start + 1, j), start);
        return;
      }
      case C_LPAREN:
        this.sink.scalar("string", this.block(), start);
        return;
      default: {
        let j = start;
        while (j < this.n && !endsWord(s.charCodeAt(j))) j++;
        if (inArray && j === start) {
          this.fail(ConfErrorCode.Parse, `unexpected '${s[start] ?? "EOF"}' in array`, start);
        }
        this.i = j;
        this.word(s.slice(start, j), start);
      }
    }
  }

  array(): void {
    const s = this.s;
    const open = this.i;
    this.enter(open);
    this.sink.arrayStart(open);
    this.i++;
    for (;;) {
      this.skipBlank();
      if (this.i >= this.n) this.fail(ConfErrorCode.Parse, "Unexpected EOF processing array.", open);
      const c = s.charCodeAt(this.i);
      if (c === C_RBRACKET) {
        this.i++;
        break;
      }
      if (c === C_COMMA) this.fail(ConfErrorCode.Parse, "unexpected ',' in array (missing element)", this.i);
      this.value(true);
      this.skipSpaces();
      if (this.i >= this.n) this.fail(ConfErrorCode.Parse, "Unexpected EOF processing array.", open);
      const d = s.charCodeAt(this.i);
      if (d === C_COMMA) this.i++;
      else if (d === C_HASH || (d === C_SLASH && s.charCodeAt(this.i + 1) === C_SLASH)) this.skipComment();
      else if (!isNl(d) && d !== C_RBRACKET) {
        this.fail(
          ConfErrorCode.Parse,
          `expected ',' or ']' after an array element, got '${s[this.i]}'`,
          this.i,
        );
      }
    }
    this.depth--;
    this.sink.arrayEnd(this.i - 1);
  }

  doubleQuoted(): string {
    const s = this.s;
    const start = this.i;
    let j = start + 1;
    let escaped = false;
    for (;;) {
      if (j >= this.n) this.fail(ConfErrorCode.Parse, "Unexpected EOF.", start);
      const c = s.charCodeAt(j);
      if (c === C_DQ) break;
      if (c === C_BACKSLASH) {
        escaped = true;
        j += 2;
      } else j++;
    }
    this.i = j + 1;
    return escaped ? this.unescape(start + 1, j) : s.slice(start + 1, j);
  }

  /** Block string: raw text after `(` up to a line holding only `)`. */
  block(): string {
    const s = this.s;
    const start = this.i;
    let k = start;
    for (;;) {
      const nl = s.indexOf("\n", k);
      if (nl === -1) this.fail(ConfErrorCode.Parse, "Unexpected EOF processing block.", start);
      const j = nl + 1;
      if (s.charCodeAt(j) === C_RPAREN) {
        const after = s.charCodeAt(j + 1);
        if (j + 1 >= this.n || isNl(after)) {
          this.i = j + 1;
          return s.slice(start + 1, j);
        }
      }
      k = j;
    }
  }

  /** Processes `\t \n \r \" \\ \xHH` between `from` and `to`. */
  unescape(from: number, to: number): string {
    const s = this.s;
    let out = "";
    let last = from;
    let bytes: number[] | undefined;
    const flush = () => {
      if (bytes === undefined) return;
      out += decodeBytes(bytes);
      bytes = undefined;
    };
    let j = from;
    while (j < to) {
      if (s.charCodeAt(j) !== C_BACKSLASH) {
        j++;
        continue;
      }
      if (j > last) {
        flush();
        out += s.slice(last, j);
      }
      const e = s[j + 1];
      if (e === "x") {
        const hex = s.slice(j + 2, j + 4);
        if (j + 4 > to || !/^[0-9a-fA-F]{2}$/.test(hex)) {
          this.fail(ConfErrorCode.Parse, "Expected two hexadecimal digits after '\\x'", j);
        }
        bytes ??= [];
        bytes.push(Number.parseInt(hex, 16));
        j += 4;
      } else {
        flush();
        switch (e) {
          case "t":
            out += "\t";
            break;
          case "n":
            out += "\n";
            break;
          case "r":
            out += "\r";
            break;
          case '"':
            out += '"';
            break;
          case "\\":
            out += "\\";
            break;
          default:
            this.fail(
              ConfErrorCode.Parse,
              `invalid escape character '${e === undefined || j + 1 >= to ? "EOF" : e}'; only \\t, \\n, \\r, \\", \\\\ and \\xHH are allowed`,
              j,
            );
        }
        j += 2;
      }
      last = j;
    }
    flush();
    return out + s.slice(last, to);
  }

  /** Types an unquoted value and pushes it. */
  word(raw: string, start: number): void {
    const sink = this.sink;
    if (raw.length === 0) {
      sink.scalar("string", "", start);
      return;
    }
    const c0 = raw.charCodeAt(0);
    if (raw.length <= 5 && raw.length >= 2 && BOOL_START[c0] === 1) {
      const b = BOOLS[raw.toLowerCase()];
      if (b !== undefined) {
        sink.scalar("bool", b, start);
        return;
      }
    }
    if (c0 === C_DOLLAR) {
      if (BCRYPT_RE.test(raw)) sink.scalar("string", raw, start);
      else sink.scalar("variable", raw.slice(1), start);
      return;
    }
    if (c0 === C_DOT && isDigit(raw.charCodeAt(1))) {
      this.fail(ConfErrorCode.Parse, "Floats must start with a digit", start);
    }
    if ((isDigit(c0) || (c0 === C_MINUS && isDigit(raw.charCodeAt(1)))) && this.number(raw, start)) return;
    const hasEscape = raw.includes("\\");
    sink.scalar("string", hasEscape ? this.unescape(start, start + raw.length) : raw, start);
  }

  /** Pushes numbers, sizes, floats, datetimes and IP-like strings; false means "a plain string". */
  number(raw: string, start: number): boolean {
    const sink = this.sink;
    const neg = raw.charCodeAt(0) === C_MINUS;
    let j = neg ? 1 : 0;
    while (j < raw.length && isDigit(raw.charCodeAt(j))) j++;
    if (j === raw.length) {
      // Fast path for plain safe integers.
      if (j - (neg ? 1 : 0) <= 15) sink.scalar("int", Number(raw), start);
      else sink.scalar("int", this.int(neg, raw.slice(neg ? 1 : 0, j), 1n, start), start);
      return true;
    }
    const digits = raw.slice(neg ? 1 : 0, j);
    const next = raw.charCodeAt(j);
    if (next === C_DOT) {
      let k = j + 1;
      while (k < raw.length && isDigit(raw.charCodeAt(k))) k++;
      if (k === j + 1) this.fail(ConfErrorCode.Parse, "Floats must have a digit after the '.'", start + j);
      if (k === raw.length) {
        sink.scalar("float", Number.parseFloat(raw), start);
        return true;
      }
      if (raw.charCodeAt(k) === C_DOT) {
        // IP-like (`127.0.0.1`, `12.34.56.78:4222`): digits, dots, colons and dashes only.
        if (/^-?[0-9.:-]+$/.test(raw)) {
          sink.scalar("string", raw, start);
          return true;
        }
        this.fail(ConfErrorCode.Parse, `invalid IP-like value '${raw}'`, start);
      }
      this.fail(ConfErrorCode.Parse, "a float can not be followed by other characters", start + k);
    }
    if (next === C_MINUS) {
      const m = DATETIME_RE.exec(raw);
      const d = m === null ? undefined : parseZulu(m);
      if (d === undefined) {
        this.fail(
          ConfErrorCode.Parse,
          "Expected an ISO8601 datetime in the full Zulu form (2006-01-02T15:04:05Z)",
          start,
        );
      }
      sink.scalar("datetime", d, start);
      return true;
    }
    const mult = SIZE_SUFFIXES[raw.slice(j).toLowerCase()];
    if (mult === undefined) return false;
    sink.scalar("int", this.int(neg, digits, mult, start), start);
    return true;
  }

  int(neg: boolean, digits: string, mult: bigint, start: number): number | bigint {
    if (digits.length <= 15) {
      // Exact in doubles while the product stays within the safe integer range.
      const v = Number(digits) * Number(mult);
      if (v <= Number.MAX_SAFE_INTEGER) return neg ? -v : v;
    }
    let v = BigInt(digits) * mult;
    if (neg) v = -v;
    if (v < INT64_MIN || v > INT64_MAX) {
      this.fail(ConfErrorCode.OutOfRange, "integer is out of the range of a signed 64-bit integer", start);
    }
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
}

function parseZulu(m: RegExpExecArray): Date | undefined {
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const h = Number(m[4]);
  const mi = Number(m[5]);
  const se = Number(m[6]);
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, se));
  if (y < 100) date.setUTCFullYear(y);
  if (
    date.getUTCFullYear() !== y ||
    date.getUTCMonth() !== mo - 1 ||
    date.getUTCDate() !== d ||
    date.getUTCHours() !== h ||
    date.getUTCMinutes() !== mi ||
    date.getUTCSeconds() !== se
  ) {
    return undefined;
  }
  return date;
}

/** A run of `\xHH` bytes: UTF-8 when valid, otherwise one code point U+00HH per byte. */
function decodeBytes(bytes: number[]): string {
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return String.fromCharCode(...bytes);
  }
}

/** The line around `index` (at most 80 characters, long lines shifted) with a caret under the 1-based `column`. */
export function excerptAt(text: string, index: number, column: number): string {
  let ls = text.lastIndexOf("\n", index - 1) + 1;
  let le = text.indexOf("\n", index);
  if (le === -1) le = text.length;
  let col = column - 1;
  if (col > 60) {
    ls += col - 40;
    col = 40;
  }
  le = Math.min(le, ls + 80);
  const line = text.slice(ls, le).replace(/[\r\t]/g, " ");
  return `${line}\n${" ".repeat(Math.max(0, col))}^`;
}
