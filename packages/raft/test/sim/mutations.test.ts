import { fnv1a64 } from "@liftbridge/testkit";
import { describe, expect, it } from "vitest";
import type { RaftMutations } from "../../src/internal.js";
import { type RunOptions, runSeed } from "./swarm.js";

interface MutationCase {
  readonly name: keyof RaftMutations;
  /** Seeds tried before giving up: the sweep must report a violation within this budget. */
  readonly budget: number;
  readonly expect: readonly string[];
  readonly run: Omit<RunOptions, "mutations">;
}

// Each broken rule is switched on with the fault profile that exposes it; the sweep must catch it.
const CASES: readonly MutationCase[] = [
  { name: "voteTwice", budget: 40, expect: ["OneVotePerTerm", "ElectionSafety"], run: {} },
  {
    name: "unpersistedVote",
    budget: 60,
    expect: ["OneVotePerTerm", "ElectionSafety"],
    run: {
      profile: { crashes: true, longTailRate: 0.3, faultEveryMs: 100, partitions: false, membership: false },
      cluster: { preVote: false },
    },
  },
  {
    name: "readWithoutQuorum",
    budget: 80,
    expect: ["Linearizability"],
    run: { profile: { partitions: true, crashes: false }, cluster: { checkQuorum: false } },
  },
];

describe("mutation tests: the sweep catches deliberately broken rules", () => {
  it.each(CASES)(
    "$name is caught within $budget seeds",
    (mc) => {
      let caught: string | null = null;
      let tried = 0;
      for (let i = 0; i < mc.budget && caught === null; i++) {
        tried++;
        const r = runSeed(fnv1a64(`${mc.name}/${i}`), { ...mc.run, mutations: { [mc.name]: true } });
        if (!r.ok) {
          caught = r.failure!.invariant;
          console.log(`mutation ${mc.name} caught after ${tried} seeds: ${r.report!.split("\n")[0]}`);
        }
      }
      expect(caught, `${mc.name} not caught in ${mc.budget} seeds`).not.toBeNull();
      expect(mc.expect).toContain(caught);
    },
    300_000,
  );
});
