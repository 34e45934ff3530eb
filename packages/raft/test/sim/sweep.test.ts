import { execSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fnv1a64, formatSeed, TraceRecorder } from "@liftbridge/testkit";
import { describe, expect, it } from "vitest";
import { runSeed } from "./swarm.js";

function gitCommit(): string {
  try {
    return execSync("git rev-parse --short=12 HEAD", { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  } catch {
    return "nogit";
  }
}

const COMMIT = process.env.GIT_COMMIT ?? gitCommit();
const SEEDS = Number(process.env.SIM_SWEEP_SEEDS ?? "200");
const base = fnv1a64(`raft-sweep/${COMMIT}`);

describe("simulation sweep", () => {
  it("keeps the same seed deterministic (same trace hash twice)", async () => {
    for (const s of [1n, 0xdeadbeefn, base]) {
      await new Promise((r) => setImmediate(r));
      const a = runSeed(s, { trace: new TraceRecorder(10) });
      const b = runSeed(s, { trace: new TraceRecorder(10) });
      expect(a.traceHash).toBe(b.traceHash);
      expect(a.events).toBe(b.events);
    }
    // Wall-clock time and ambient randomness are off limits inside a run.
    const { random } = Math;
    const { now } = Date;
    Math.random = () => {
      throw new Error("Math.random used during a simulation");
    };
    Date.now = () => {
      throw new Error("Date.now used during a simulation");
    };
    try {
      expect(runSeed(base ^ 1n).ok).toBe(true);
    } finally {
      Math.random = random;
      Date.now = now;
    }
    // Different seeds give different runs.
    expect(runSeed(2n).traceHash).not.toBe(runSeed(3n).traceHash);
  });

  // Batches keep each test short; yielding between seeds keeps the vitest worker responsive.
  const BATCH = 20;
  const batches = Array.from({ length: Math.ceil(SEEDS / BATCH) }, (_, b) => b);
  let events = 0;
  let ran = 0;
  const failures: string[] = [];
  it.each(batches)(
    `seed batch %i of fresh seeds derived from commit ${COMMIT} has zero violations`,
    async (b) => {
      const mine: string[] = [];
      for (let i = b * BATCH; i < Math.min(SEEDS, (b + 1) * BATCH); i++) {
        await new Promise((r) => setImmediate(r));
        const r = runSeed(fnv1a64(`${i}`, base), { commit: COMMIT });
        events += r.events;
        ran++;
        if (!r.ok) mine.push(r.report!);
      }
      failures.push(...mine);
      for (const f of mine) console.log(f);
      if (b === batches.length - 1 || ran === SEEDS) {
        console.log(
          `raft sweep: commit=${COMMIT} base=${formatSeed(base)} seeds=${ran} events=${events} failures=${failures.length}`,
        );
      }
      expect(mine).toEqual([]);
    },
    300_000,
  );
});

describe("regression seeds", () => {
  const seeds = JSON.parse(readFileSync(new URL("./regressions.json", import.meta.url), "utf8")) as {
    seed: string;
    soak: boolean;
    found: string;
  }[];
  it.each(seeds)(
    "seed $seed stays clean ($found)",
    ({ seed, soak }) => {
      const r = runSeed(BigInt(seed), { soak });
      expect(r.report ?? "").toBe("");
    },
    120_000,
  );
});
