import type { Prng } from "./prng.js";

/** A swarm-testing profile: which faults are on and how hard, drawn per seed. */
export interface SwarmProfile {
  readonly name: string;
  readonly nodes: number;
  readonly dropRate: number;
  readonly dupRate: number;
  readonly reorder: boolean;
  readonly maxDelayMs: number;
  readonly longTailRate: number;
  readonly partitions: boolean;
  readonly swizzle: boolean;
  readonly crashes: boolean;
  readonly tornWrites: boolean;
  readonly clockFaults: boolean;
  readonly snapshots: boolean;
  readonly membership: boolean;
  readonly transfers: boolean;
  readonly leaseReads: boolean;
  /** Mean virtual ms between injected faults. */
  readonly faultEveryMs: number;
  /** Occasional fsync failures (must be fatal to the node). */
  readonly fsyncErrors: boolean;
}

/** Draws a profile (brief part C, swarm testing): each fault kind independently on or off. */
export function drawSwarmProfile(prng: Prng, opts: { soak?: boolean } = {}): SwarmProfile {
  const soak = opts.soak ?? false;
  const sizes = soak ? [3, 5, 5, 7] : [3, 3, 5, 5, 7];
  const on = (p: number) => prng.chance(p);
  const p = {
    nodes: prng.pick(sizes),
    dropRate: on(0.5) ? prng.float() * (soak ? 0.3 : 0.15) : 0,
    dupRate: on(0.4) ? prng.float() * 0.1 : 0,
    reorder: on(0.5),
    maxDelayMs: prng.pick([2, 5, 20]),
    longTailRate: on(0.3) ? prng.float() * 0.05 : 0,
    partitions: on(0.6),
    swizzle: on(0.25),
    crashes: on(0.6),
    tornWrites: on(0.5),
    clockFaults: on(0.3),
    snapshots: on(0.5),
    membership: on(0.35),
    transfers: on(0.35),
    leaseReads: on(0.25),
    faultEveryMs: prng.pick(soak ? [200, 500, 1000] : [300, 800, 2000]),
    fsyncErrors: on(0.2), // drawn last so earlier draws (and old seeds' profiles) are unchanged
  };
  return { name: soak ? "swarm-soak/v1" : "swarm/v1", ...p };
}
