import { fnv1a64 } from "./prng.js";

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
  #hash = 0xcbf29ce484222325n;
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
    this.#hash = fnv1a64(line, this.#hash);
    this.#tail.push(line);
    if (this.#tail.length > this.#keep) this.#tail.shift();
    this.all?.push(line);
    this.onLine?.(line);
  }
  get hash(): string {
    return this.#hash.toString(16).padStart(16, "0");
  }
  tail(): string[] {
    return [...this.#tail];
  }
}
