import { ConfError, ConfErrorCode } from "./errors.js";
import type { ConfMapNode, ConfNode, ConfObject, ConfValue } from "./types.js";
import { toPlain } from "./types.js";

/** Options of {@link printConf}. */
export interface PrintConfOptions {
  /** Spaces per nesting level. Default 2. */
  readonly indent?: number;
}

const SAFE_KEY = /^[A-Za-z_][A-Za-z0-9_.\-/]*$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Prints a configuration (a plain object or a positioned map) as NATS configuration text that
 * {@link parseConf} reads back to an equal value: `parseConf(printConf(x)).value` equals `x`.
 *
 * Strings are always double-quoted (so they never turn into numbers, booleans or variables);
 * integers print as integers, other numbers as decimals with a `.`; dates as Zulu datetimes.
 * Throws {@link ConfError} `unprintable` for what the format can not hold: NaN and infinities,
 * bigints outside int64, dates with milliseconds or outside years 0-9999, keys containing both
 * quote characters or a newline, `undefined`, `null` and functions.
 */
export function printConf(value: ConfObject | ConfMapNode, options: PrintConfOptions = {}): string {
  const obj = isMapNode(value) ? (toPlain(value) as ConfObject) : value;
  const unit = " ".repeat(options.indent ?? 2);
  const lines: string[] = [];
  printEntries(obj, "", unit, lines);
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

function isMapNode(v: ConfObject | ConfMapNode): v is ConfMapNode {
  return (v as { kind?: unknown }).kind === "map" && (v as { entries?: unknown }).entries instanceof Map;
}

function printEntries(obj: ConfObject, ind: string, unit: string, out: string[]): void {
  for (const key of Object.keys(obj)) {
    const v = obj[key] as ConfValue;
    out.push(`${ind}${printKey(key)}: ${printValue(v, ind, unit)}`);
  }
}

/** Prints a key, quoting it when it is not a plain identifier-like word. */
export function printKey(key: string): string {
  if (SAFE_KEY.test(key) && key.toLowerCase() !== "include") return key;
  if (/[\n\r]/.test(key))
    throw new ConfError(ConfErrorCode.Unprintable, `key ${JSON.stringify(key)} contains a newline`);
  if (!key.includes('"')) return `"${key}"`;
  if (!key.includes("'")) return `'${key}'`;
  throw new ConfError(ConfErrorCode.Unprintable, `key ${JSON.stringify(key)} contains both quote characters`);
}

function printValue(v: ConfValue, ind: string, unit: string): string {
  switch (typeof v) {
    case "string":
      return quote(v);
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      if (v < INT64_MIN || v > INT64_MAX) {
        throw new ConfError(ConfErrorCode.Unprintable, `integer ${v} is outside int64`);
      }
      return v.toString();
    case "number":
      return printNumber(v);
    case "object": {
      if (v instanceof Date) return printDate(v);
      const inner = ind + unit;
      if (Array.isArray(v)) {
        if (v.length === 0) return "[]";
        return `[\n${v.map((x) => `${inner}${printValue(x, inner, unit)}`).join(",\n")}\n${ind}]`;
      }
      if (v === null) break;
      const lines: string[] = [];
      printEntries(v, inner, unit, lines);
      return lines.length === 0 ? "{}" : `{\n${lines.join("\n")}\n${ind}}`;
    }
    default:
      break;
  }
  throw new ConfError(
    ConfErrorCode.Unprintable,
    `a value of type ${v === null ? "null" : typeof v} can not be printed`,
  );
}

function printNumber(v: number): string {
  if (!Number.isFinite(v)) throw new ConfError(ConfErrorCode.Unprintable, `${v} can not be printed`);
  if (Number.isSafeInteger(v) && !Object.is(v, -0)) return String(v);
  // Floats need a digit on both sides of the '.', and no exponent.
  const s = plainDecimal(v);
  return s.includes(".") ? s : `${s}.0`;
}

/** The shortest round-tripping decimal of `v`, with any exponent expanded. */
function plainDecimal(v: number): string {
  const s = Object.is(v, -0) ? "-0" : String(v);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (m === null) return s;
  const [, sign, d0, frac = "", expText] = m as unknown as [
    string,
    string,
    string,
    string | undefined,
    string,
  ];
  const digits = d0 + frac;
  const exp = Number(expText);
  const point = 1 + exp; // position of the '.' within `digits`
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function printDate(d: Date): string {
  const t = d.getTime();
  const y = d.getUTCFullYear();
  if (Number.isNaN(t) || t % 1000 !== 0 || y < 0 || y > 9999) {
    throw new ConfError(ConfErrorCode.Unprintable, "only whole-second dates in years 0-9999 can be printed");
  }
  return `${d.toISOString().slice(0, 19)}Z`.replace(/^\+?0*(\d{4})/, "$1");
}

/** Double-quotes a string, escaping `\`, `"` and control characters. */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) out += "\\\\";
    else if (c === 0x22) out += '\\"';
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x0d) out += "\\r";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += s[i];
  }
  return `${out}"`;
}

/** Re-exported for printers of positioned trees. */
export type { ConfNode };
