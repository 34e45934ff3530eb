/** Details of a simulation failure. */
export interface SimFailure {
  readonly pkg: string;
  readonly seed: string;
  readonly commit: string;
  readonly profile: string;
  readonly event: number;
  readonly timeMs: number;
  readonly invariant: string;
  readonly detail: string;
}

/** Thrown when an invariant fails inside a simulation. */
export class InvariantViolation extends Error {
  override readonly name = "InvariantViolation";
  readonly invariant: string;
  readonly detail: string;
  constructor(invariant: string, detail: string) {
    super(`${invariant}: ${detail}`);
    this.invariant = invariant;
    this.detail = detail;
  }
}

/** Throws {@link InvariantViolation} when `cond` is false. */
export function check(cond: unknown, invariant: string, detail: () => string): asserts cond {
  if (!cond) throw new InvariantViolation(invariant, detail());
}

/** The grep-able one-line report (brief part C). */
export function formatSimFail(f: SimFailure): string {
  return `SIM FAIL pkg=${f.pkg} seed=${f.seed} commit=${f.commit} profile=${f.profile} event=${f.event} t=${(f.timeMs / 1000).toFixed(3)}s invariant=${f.invariant} ${f.detail}`;
}

/** The replay command printed under a failure. */
export function replayCommand(seed: string, untilEvent?: number): string {
  return `replay: pnpm sim:replay --seed ${seed}${untilEvent !== undefined ? ` --until ${untilEvent}` : ""} --trace`;
}

/**
 * Records trace lines: keeps a running hash of all lines (for determinism checks), the last `keep`
 * lines, and optionally every line (for trace files).
 */
export class TraceRecorder {
  // Two independent 32-bit FNV-1a lanes (fast: no BigInt on the per-event path).
  #h1 = 0x811c9dc5;
  #h2 = 0x050c5d1f;
  readonly #tail: string[] = [];
  readonly #keep: number;
  readonly all: string[] | null;
  lines = 0;
  onLine: ((line: string) => void) | null = null;
  constructor(keep = 200, keepAll = false) {
    this.#keep = keep;
    this.all = keepAll ? [] : null;
  }
  add(line: string): void {
    this.lines++;
    let h1 = this.#h1;
    let h2 = this.#h2;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x01000197);
    }
    this.#h1 = Math.imul(h1 ^ 10, 0x01000193);
    this.#h2 = Math.imul(h2 ^ 10, 0x01000197);
    this.#tail.push(line);
    if (this.#tail.length > this.#keep) this.#tail.shift();
    this.all?.push(line);
    this.onLine?.(line);
  }
  get hash(): string {
    return (this.#h1 >>> 0).toString(16).padStart(8, "0") + (this.#h2 >>> 0).toString(16).padStart(8, "0");
  }
  tail(): string[] {
    return [...this.#tail];
  }
}
