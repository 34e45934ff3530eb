import type { EventQueue } from "./event-queue.js";
import type { Prng } from "./prng.js";

/** Network fault rates; all default to a clean, low-latency network. */
export interface NetworkFaults {
  dropRate: number;
  dupRate: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** Probability of a long-tail delay of up to `longTailMs`. */
  longTailRate: number;
  longTailMs: number;
  /** If false, each directed link is FIFO; if true, messages can overtake each other. */
  reorder: boolean;
}

/** Defaults: no loss, 1-5 ms delay, FIFO links. */
export const CLEAN_NETWORK: NetworkFaults = {
  dropRate: 0,
  dupRate: 0,
  minDelayMs: 1,
  maxDelayMs: 5,
  longTailRate: 0,
  longTailMs: 0,
  reorder: false,
};

/** Options of {@link SimNetwork}. */
export interface SimNetworkOptions<M> {
  queue: EventQueue;
  prng: Prng;
  /** Every message is encoded on send and decoded on delivery, so nodes share no objects. */
  encode: (m: M) => Uint8Array;
  decode: (b: Uint8Array) => M;
  deliver: (to: string, m: M) => void;
  faults?: Partial<NetworkFaults>;
}

/** Counters of a {@link SimNetwork}. */
export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  blocked: number;
  duplicated: number;
}

/**
 * Simulated network: drop, duplicate, delay (with long tails), reorder, and partitions (symmetric,
 * one-way, bridge, isolate, per-link clogs for swizzle-clog). Deterministic given its PRNG stream.
 */
export class SimNetwork<M> {
  faults: NetworkFaults;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, blocked: 0, duplicated: 0 };
  readonly #o: SimNetworkOptions<M>;
  /** Directed links that are cut: "from->to". */
  readonly #cut = new Set<string>();
  readonly #lastAt = new Map<string, number>();

  constructor(o: SimNetworkOptions<M>) {
    this.#o = o;
    this.faults = { ...CLEAN_NETWORK, ...o.faults };
  }

  /** Transport hook (hashicorp fuzzy style): messages for which it returns true are dropped on send. */
  dropIf: ((from: string, to: string, m: M) => boolean) | null = null;

  /** True if messages from `from` to `to` are currently blocked. */
  isCut(from: string, to: string): boolean {
    return this.#cut.has(`${from}->${to}`);
  }

  /** Sends `m`; it may be dropped, duplicated, delayed or blocked. */
  send(from: string, to: string, m: M): void {
    this.stats.sent++;
    if (this.isCut(from, to) || this.dropIf?.(from, to, m)) {
      this.stats.blocked++;
      return;
    }
    const f = this.faults;
    const prng = this.#o.prng;
    if (prng.chance(f.dropRate)) {
      this.stats.dropped++;
      return;
    }
    const bytes = this.#o.encode(m);
    const copies = prng.chance(f.dupRate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      let delay = f.minDelayMs + prng.float() * (f.maxDelayMs - f.minDelayMs);
      if (prng.chance(f.longTailRate)) delay += prng.float() * f.longTailMs;
      let at = this.#o.queue.now + delay;
      const link = `${from}->${to}`;
      if (!f.reorder) {
        at = Math.max(at, this.#lastAt.get(link) ?? 0);
        this.#lastAt.set(link, at);
      }
      this.#o.queue.schedule(at, "deliver", to, () => {
        if (this.isCut(from, to)) {
          this.stats.blocked++;
          return;
        }
        this.stats.delivered++;
        this.#o.deliver(to, this.#o.decode(bytes));
      });
    }
  }

  /** Cuts the directed link from → to. */
  cut(from: string, to: string): void {
    this.#cut.add(`${from}->${to}`);
  }

  /** Restores the directed link from → to. */
  restore(from: string, to: string): void {
    this.#cut.delete(`${from}->${to}`);
  }

  /** Symmetric partition: nodes in different groups cannot talk. */
  partition(groups: readonly (readonly string[])[]): void {
    for (let i = 0; i < groups.length; i++)
      for (let j = 0; j < groups.length; j++)
        if (i !== j) for (const a of groups[i]!) for (const b of groups[j]!) this.cut(a, b);
  }

  /** Cuts `node` off from every node in `all`, both ways. */
  isolate(node: string, all: readonly string[]): void {
    this.partition([[node], all.filter((n) => n !== node)]);
  }

  /** One-way partition: `from` can no longer reach any of `to`, but hears them. */
  oneWay(from: string, to: readonly string[]): void {
    for (const t of to) this.cut(from, t);
  }

  /** Bridge partition: `left` and `right` cannot talk to each other, both reach `bridge`. */
  bridge(left: readonly string[], bridge: string, right: readonly string[]): void {
    this.partition([left, right]);
    for (const n of [...left, ...right]) {
      this.restore(n, bridge);
      this.restore(bridge, n);
    }
  }

  /** Removes all partitions and clogs. */
  heal(): void {
    this.#cut.clear();
  }

  /** Currently cut links, sorted (for traces). */
  cutLinks(): string[] {
    return [...this.#cut].sort();
  }
}

/**
 * FoundationDB's swizzle-clog: clog a random subset of directed links one by one, then unclog them in
 * random order. Returns the schedule as (offsetMs, action) steps; the caller schedules them.
 */
export function swizzleClogPlan(
  prng: Prng,
  nodes: readonly string[],
  stepMs: number,
): { atMs: number; op: "clog" | "unclog"; from: string; to: string }[] {
  const links: [string, string][] = [];
  for (const a of nodes) for (const b of nodes) if (a !== b) links.push([a, b]);
  const chosen = prng.shuffle(links).slice(0, Math.max(1, prng.int(links.length) + 1));
  const plan: { atMs: number; op: "clog" | "unclog"; from: string; to: string }[] = [];
  let t = 0;
  for (const [from, to] of chosen) {
    t += stepMs;
    plan.push({ atMs: t, op: "clog", from, to });
  }
  for (const [from, to] of prng.shuffle(chosen)) {
    t += stepMs;
    plan.push({ atMs: t, op: "unclog", from, to });
  }
  return plan;
}
