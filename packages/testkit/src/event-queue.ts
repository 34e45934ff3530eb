/** A scheduled event. */
export interface SimEvent {
  readonly at: number;
  readonly seq: number;
  readonly kind: string;
  readonly node: string;
  readonly run: () => void;
  cancelled: boolean;
}

/**
 * The single event queue of a simulation, ordered by (virtual ms, sequence). Ties are broken by
 * insertion order, so a run is fully determined by its seed.
 */
export class EventQueue {
  #heap: SimEvent[] = [];
  #seq = 0;
  now = 0;
  executed = 0;

  get size(): number {
    return this.#heap.length;
  }

  /** Schedules `run` at virtual time `at` (≥ now). Returns a handle that can be cancelled. */
  schedule(at: number, kind: string, node: string, run: () => void): SimEvent {
    const ev: SimEvent = { at: Math.max(at, this.now), seq: this.#seq++, kind, node, run, cancelled: false };
    this.#heap.push(ev);
    this.#up(this.#heap.length - 1);
    return ev;
  }

  /** Schedules `run` after `delayMs`. */
  after(delayMs: number, kind: string, node: string, run: () => void): SimEvent {
    return this.schedule(this.now + delayMs, kind, node, run);
  }

  /** Pops the next non-cancelled event, advances `now`, and runs it. Returns it, or null if empty. */
  step(): SimEvent | null {
    for (;;) {
      const ev = this.#pop();
      if (!ev) return null;
      if (ev.cancelled) continue;
      this.now = ev.at;
      this.executed++;
      ev.run();
      return ev;
    }
  }

  /** Time of the next event, or Infinity. */
  peekTime(): number {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#pop();
    return this.#heap.length > 0 ? this.#heap[0]!.at : Number.POSITIVE_INFINITY;
  }

  #less(a: SimEvent, b: SimEvent): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
  #up(i: number): void {
    const h = this.#heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  #pop(): SimEvent | undefined {
    const h = this.#heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.#less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
