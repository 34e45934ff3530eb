import { spawn } from "node:child_process";
import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fc, test } from "@fast-check/vitest";
import { beforeAll, describe, expect, it } from "vitest";
import { open, readAll, SOAK, s, tempDir } from "../helpers.js";

/** Expected value of the record at `offset`, as both tests write it. */
const valueFor = (offset: number): string => `v${offset}`.padEnd(20 + (offset % 50), ".");

describe("crash recovery property (a): cuts and bit flips in the tail", () => {
  let base = "";
  let lastLog = "";
  let lastEntries: Array<{ offset: number; start: number; end: number }> = [];
  let sealedCount = 0;

  beforeAll(async () => {
    base = await tempDir();
    // The log stays open (never closed): its files look like those of a crashed process.
    const log = await open(base, { maxSegmentBytes: 2000, indexIntervalBytes: 100 });
    for (let i = 0; i < 120; i++) await log.append([{ value: Buffer.from(valueFor(i)) }]);
    const logs = (await readdir(base)).filter((n) => n.endsWith(".log")).sort();
    lastLog = logs.at(-1)!;
    const bytes = await readFile(join(base, lastLog));
    let p = 0;
    while (p < bytes.length) {
      const end = p + 28 + bytes.readUInt32BE(p + 24);
      lastEntries.push({ offset: Number(bytes.readBigUInt64BE(p)), start: p, end });
      p = end;
    }
    sealedCount = lastEntries[0]!.offset;
    expect(logs.length).toBeGreaterThan(2);
    lastEntries = lastEntries.slice();
  });

  test.prop(
    [
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 7 })), {
        maxLength: 3,
      }),
    ],
    { numRuns: 60 * SOAK },
  )(
    "reopen yields exactly the longest valid prefix",
    async (cutFrac, flips) => {
      const dir = await tempDir();
      await cp(base, dir, { recursive: true });
      const file = join(dir, lastLog);
      const bytes = await readFile(file);
      const cut = Math.floor(cutFrac * bytes.length);
      const damaged = Buffer.from(bytes.subarray(0, cut));
      const flipped: number[] = [];
      for (const [f, bit] of flips) {
        if (cut === 0) break;
        let at = Math.floor(f * cut);
        // The 24 bytes of offset/timestamp/epoch in the set header are not covered by the upstream
        // CRC (format limitation, see design.md): flip in the size field or the message instead.
        const e = lastEntries.find((x) => at >= x.start && at < x.end)!;
        if (at - e.start < 24) at = e.start + 24 + ((at - e.start) % 4);
        if (at >= cut) continue;
        damaged[at]! ^= 1 << bit;
        flipped.push(at);
      }
      await writeFile(file, damaged);
      // Two flips of the same bit cancel out: only bytes that differ count as damaged.
      const changed = flipped.filter((f) => damaged[f] !== bytes[f]);
      const valid = lastEntries.filter((x) => x.end <= cut);
      const firstBad = valid.findIndex((x) => changed.some((f) => f >= x.start && f < x.end));
      const expectedCount = sealedCount + (firstBad < 0 ? valid.length : firstBad);

      const log = await open(dir, { maxSegmentBytes: 2000, indexIntervalBytes: 100 });
      const rs = await readAll(log);
      expect(rs.map((r) => r.offset)).toEqual(Array.from({ length: expectedCount }, (_, i) => i));
      for (const r of rs) expect(s(r.value)).toBe(valueFor(r.offset));
      expect(log.newestOffset).toBe(expectedCount - 1);
      expect(await log.append([{ value: Buffer.from(valueFor(expectedCount)) }])).toEqual([expectedCount]);
      await log.close();
    },
    60_000 * SOAK,
  );
});

const CHILD = fileURLToPath(new URL("./crash-child.mjs", import.meta.url));

function runChildUntilKilled(dir: string, killAfterMs: number): Promise<{ acked: number; ready: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (timer === undefined && out.includes("ready"))
        timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (signal !== "SIGKILL")
        return reject(new Error(`child exited without kill: ${out.slice(-500)} ${err}`));
      let acked = -1;
      let ready = -1;
      for (const line of out.split("\n")) {
        const [kind, a, b] = line.split(" ");
        if (kind === "ready") ready = Number(a);
        if (kind === "ok" && b !== undefined) acked = Math.max(acked, Number(b));
        if (kind === "mismatch") return reject(new Error(line));
      }
      resolve({ acked, ready });
    });
  });
}

describe("crash recovery (b): SIGKILL during sync=always appends", () => {
  it("every resolved append survives, in order, nothing invented", { timeout: 120_000 }, async () => {
    const dir = await tempDir();
    let totalAcked = -1;
    for (let iter = 0; iter < 20; iter++) {
      const { acked, ready } = await runChildUntilKilled(dir, 30 + Math.floor(Math.random() * 250));
      // The child resumed exactly after what the previous iteration left.
      expect(ready).toBeGreaterThanOrEqual(totalAcked + 1);
      totalAcked = Math.max(totalAcked, acked);
      const log = await open(dir, { maxSegmentBytes: 64 * 1024 });
      expect(log.newestOffset).toBeGreaterThanOrEqual(totalAcked);
      const rs = await readAll(log);
      expect(rs.length).toBe(log.newestOffset + 1);
      rs.forEach((r, i) => {
        expect(r.offset).toBe(i);
        expect(s(r.value)).toBe(valueFor(i));
      });
      await log.close();
    }
    expect(totalAcked).toBeGreaterThan(0);
    console.log(`sigkill test: ${totalAcked + 1} acknowledged records over 20 kills`);
  });
});
