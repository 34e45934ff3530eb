import { SIZE_SUFFIXES } from "./lexer.js";

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const DURATION_PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Parses a Go duration string (`"20s"`, `"1m30s"`, `"100ms"`, `"1.5h"`, `"0"`) into milliseconds,
 * as Go's `time.ParseDuration` does. Returns `undefined` when the text is not a duration. The result
 * may be fractional (`"1500us"` is 1.5) and negative (`"-1s"`).
 */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s.length === 0) return undefined;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  let at = 0;
  while (at < s.length) {
    DURATION_PART.lastIndex = at;
    const m = DURATION_PART.exec(s);
    if (m === null) return undefined;
    total += Number(m[1]) * (DURATION_UNITS_MS[m[2] as string] as number);
    at = DURATION_PART.lastIndex;
  }
  return sign * total;
}

/** Formats milliseconds as a Go duration string (`120000` → `"2m"`, `1500` → `"1.5s"`, `0` → `"0s"`). */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return "0s";
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(ms);
  if (rest < 1) return `${sign}${+(rest * 1000).toFixed(3)}us`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  let out = sign;
  if (h > 0) out += `${h}h`;
  if (m > 0) out += `${m}m`;
  if (rest > 0)
    out += rest < 1000 && h === 0 && m === 0 ? `${+rest.toFixed(6)}ms` : `${+(rest / 1000).toFixed(9)}s`;
  return out;
}

/**
 * Parses a size: digits with an optional suffix of the NATS table (`k`=1000, `kb`/`ki`/`kib`=1024,
 * … up to `e`/`eb`), case-insensitive, or a plain `b`/`B` for bytes (`"256MB"`, `"1GiB"`, `"100"`).
 * Returns `undefined` when the text is not a size, or a bigint when it exceeds the safe integer range.
 */
export function parseSize(text: string): number | bigint | undefined {
  const m = /^\s*(-?\d+)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (m === null) return undefined;
  const suffix = (m[2] as string).toLowerCase();
  const mult = suffix === "" || suffix === "b" ? 1n : SIZE_SUFFIXES[suffix];
  if (mult === undefined) return undefined;
  const v = BigInt(m[1] as string) * mult;
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Parses a boolean written as text (environment or flags): true/false, yes/no, on/off, 1/0. */
export function parseBoolText(text: string): boolean | undefined {
  switch (text.trim().toLowerCase()) {
    case "true":
    case "yes":
    case "on":
    case "1":
      return true;
    case "false":
    case "no":
    case "off":
    case "0":
      return false;
    default:
      return undefined;
  }
}
