const MASK64 = (1n << 64n) - 1n;

/** SplitMix64 step: returns [next state, output]. Used only to seed and to fork streams. */
function splitmix64(state: bigint): [bigint, bigint] {
  const s = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = s;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [s, z ^ (z >> 31n)];
}

/** FNV-1a 64-bit hash of a string (labels, traces). */
export function fnv1a64(s: string, h: bigint = 0xcbf29ce484222325n): bigint {
  for (let i = 0; i < s.length; i++) {
    h ^= BigInt(s.charCodeAt(i) & 0xff);
    h = (h * 0x100000001b3n) & MASK64;
  }
  return h;
}

/** Parses a seed given as decimal or `0x` hex into a 64-bit bigint. */
export function parseSeed(s: string | bigint | number): bigint {
  if (typeof s === "bigint") return s & MASK64;
  if (typeof s === "number") return BigInt(Math.trunc(s)) & MASK64;
  return BigInt(s.trim()) & MASK64;
}

/** Formats a seed as `0x` + 16 hex digits. */
export function formatSeed(s: bigint): string {
  return `0x${s.toString(16).padStart(16, "0")}`;
}

/**
 * Seeded PRNG: xoshiro128** on 32-bit integer ops, seeded by SplitMix64 from a 64-bit seed.
 * `fork(label)` derives an independent stream, so draws in one stream never reshuffle another.
 */
export class Prng {
  readonly seed: bigint;
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;
  draws = 0;

  constructor(seed: bigint | string | number) {
    this.seed = parseSeed(seed);
    const [st1, a] = splitmix64(this.seed);
    const [, b] = splitmix64(st1);
    this.#s0 = Number(a & 0xffffffffn) | 0;
    this.#s1 = Number(a >> 32n) | 0;
    this.#s2 = Number(b & 0xffffffffn) | 0;
    this.#s3 = Number(b >> 32n) | 0;
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    this.draws++;
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9);
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result >>> 0;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  /** A uniformly chosen element; throws on an empty array. */
  pick<T>(arr: readonly T[]): T {
    if (arr.length === 0) throw new Error("pick from empty array");
    return arr[this.int(arr.length)]!;
  }

  /** Fisher-Yates shuffle (returns a new array). */
  shuffle<T>(arr: readonly T[]): T[] {
    const a = [...arr];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  /** An independent stream derived from this stream's seed and `label` (not from its position). */
  fork(label: string): Prng {
    return new Prng(fnv1a64(label, this.seed ^ 0x5851f42d4c957f2dn));
  }

  /** A `() => number` view, for APIs that take `random`. */
  asRandom(): () => number {
    return () => this.float();
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** `seededRandom(seed)`: a `() => number` in [0, 1) (STYLE §5). */
export function seededRandom(seed: bigint | string | number): () => number {
  return new Prng(seed).asRandom();
}
