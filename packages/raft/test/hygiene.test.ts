import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// The core must stay pure: no timers, clocks, randomness, I/O or await (STYLE §0, brief part A).
const FORBIDDEN = [
  /\bDate\b/,
  /Math\.random/,
  /\bperformance\b/,
  /setTimeout|setInterval|setImmediate|queueMicrotask/,
  /process\.hrtime/,
  /\bcrypto\b/,
  /\bawait\b|\basync\b/,
  /from "node:/,
  /\bconsole\./,
];

describe("core hygiene", () => {
  const dir = new URL("../src/core/", import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
  it.each(files)("%s uses no clock, randomness, timers, I/O or await", (f) => {
    const src = readFileSync(new URL(f, dir), "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\/\/.*$/gm, "");
    for (const re of FORBIDDEN) expect(re.test(src), `${f} matches ${re}`).toBe(false);
  });
});
