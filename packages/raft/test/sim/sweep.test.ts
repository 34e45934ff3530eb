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
  it("keeps the same seed deterministic (same trace hash twice)", () => {
    for (const s of [1n, 0xdeadbeefn, base]) {
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

  it(`runs ${SEEDS} fresh seeds derived from commit ${COMMIT} with zero violations`, () => {
    const failures: string[] = [];
    let events = 0;
    const first = formatSeed(base);
    for (let i = 0; i < SEEDS; i++) {
      const seed = fnv1a64(`${i}`, base);
      const r = runSeed(seed, { commit: COMMIT });
      events += r.events;
      if (!r.ok) failures.push(r.report!);
    }
    console.log(
      `raft sweep: commit=${COMMIT} base=${first} seeds=${SEEDS} events=${events} failures=${failures.length}`,
    );
    for (const f of failures) console.log(f);
    expect(failures).toEqual([]);
  }, 600_000);
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
