/**
 * Runs async tasks one at a time, in submission order: the single writer of a log (STYLE §6).
 * A failing task rejects only its own promise.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Queues `fn`; resolves or rejects with its result. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#tail.then(fn, fn);
    this.#tail = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /** Resolves once every task queued so far has settled. */
  idle(): Promise<void> {
    return this.#tail.then(() => undefined);
  }
}
