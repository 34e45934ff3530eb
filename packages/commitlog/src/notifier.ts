/**
 * A broadcast wake-up: `wait()` returns a promise that settles at the next `notify()`. One
 * promise per generation is shared by all waiters, so waking costs O(1) however many wait.
 */
export class Notifier {
  #p: Promise<void> | null = null;
  #resolve: (() => void) | null = null;

  wait(): Promise<void> {
    if (this.#p === null) this.#p = new Promise<void>((r) => (this.#resolve = r));
    return this.#p;
  }

  notify(): void {
    const r = this.#resolve;
    this.#p = null;
    this.#resolve = null;
    if (r !== null) r();
  }
}

/** Resolves when `p` settles or `signal` aborts, whichever first; removes its abort listener. */
export function raceAbort(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const onAbort = (): void => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
    void p.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}
