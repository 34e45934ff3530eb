/**
 * A bounded FIFO between a push-based producer (decoded messages from the network) and one async-iterator
 * consumer.
 *
 * `push` returns false once `highWaterMark` items are buffered: the producer then pauses its source (a
 * paused node:http2 stream stops replenishing the HTTP/2 flow-control window, so the peer blocks).
 * `onLow` is called when the consumer has taken the buffer back under half the mark. A failure is
 * delivered after the items queued before it.
 *
 * @internal
 */
export class MessageQueue<T> implements AsyncIterable<T> {
  readonly #highWaterMark: number;
  readonly #onLow: () => void;
  #items: T[] = [];
  #head = 0;
  #ended = false;
  #error: unknown;
  #failed = false;
  #waiter: ((r: IteratorResult<T>) => void) | undefined;
  #rejecter: ((e: unknown) => void) | undefined;
  #iterating = false;
  #paused = false;

  constructor(highWaterMark: number, onLow: () => void) {
    this.#highWaterMark = highWaterMark;
    this.#onLow = onLow;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  get isDone(): boolean {
    return this.#ended || this.#failed;
  }

  push(item: T): boolean {
    if (this.#ended || this.#failed) return true;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      this.#rejecter = undefined;
      waiter({ value: item, done: false });
      return true;
    }
    this.#items.push(item);
    if (this.size >= this.#highWaterMark) {
      this.#paused = true;
      return false;
    }
    return true;
  }

  /** Removes and returns every buffered item (for a switch to callback delivery). */
  takeAll(): T[] {
    const items = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    this.#paused = false;
    return items;
  }

  end(): void {
    if (this.#ended || this.#failed) return;
    this.#ended = true;
    this.#settleWaiter();
  }

  fail(error: unknown): void {
    if (this.#ended || this.#failed) return;
    this.#failed = true;
    this.#error = error;
    this.#settleWaiter();
  }

  #settleWaiter(): void {
    const waiter = this.#waiter;
    const rejecter = this.#rejecter;
    if (waiter === undefined || rejecter === undefined) return;
    this.#waiter = undefined;
    this.#rejecter = undefined;
    if (this.#failed) rejecter(this.#error);
    else waiter({ value: undefined, done: true });
  }

  #next(): Promise<IteratorResult<T>> {
    if (this.size > 0) {
      const value = this.#items[this.#head] as T;
      this.#items[this.#head] = undefined as T;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      if (this.#paused && this.size <= this.#highWaterMark >> 1) {
        this.#paused = false;
        this.#onLow();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#failed) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    if (this.#paused) {
      this.#paused = false;
      this.#onLow();
    }
    return new Promise((resolve, reject) => {
      this.#waiter = resolve;
      this.#rejecter = reject;
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterating) throw new TypeError("messages can be iterated only once");
    this.#iterating = true;
    return {
      next: () => this.#next(),
      return: () => {
        this.#items = [];
        this.#head = 0;
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
