/** Timer handle returned by {@link ManualClock.setTimer}. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * A manual clock (STYLE §5): `advance(ms)` runs due timers in time order. Satisfies any consumer's
 * structural `Clock { now(); monotonicNow(); setTimer(ms, fn) }`.
 */
export class ManualClock {
  #now: number;
  #timers: { at: number; seq: number; fn: () => void; live: boolean }[] = [];
  #seq = 0;
  constructor(startMs = 0) {
    this.#now = startMs;
  }
  now(): number {
    return this.#now;
  }
  monotonicNow(): number {
    return this.#now;
  }
  setTimer(ms: number, fn: () => void): TimerHandle {
    const t = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, live: true };
    this.#timers.push(t);
    return {
      cancel: () => {
        t.live = false;
      },
    };
  }
  /** Advances time by `ms`, running timers due on the way in (time, creation) order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const due = this.#timers
        .filter((t) => t.live && t.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq);
      const t = due[0];
      if (!t) break;
      t.live = false;
      this.#now = t.at;
      t.fn();
    }
    this.#timers = this.#timers.filter((t) => t.live);
    this.#now = end;
  }
}

/**
 * A node's view of virtual time: `local = virtual * (1 + drift) + offset`, with pauses (time stops
 * for the node and its due timers burst on resume) and jumps.
 */
export class NodeClock {
  drift: number;
  offset: number;
  pausedUntil = -1;
  constructor(drift = 0, offset = 0) {
    this.drift = drift;
    this.offset = offset;
  }
  /** Local time at virtual time `v`. */
  local(v: number): number {
    return v * (1 + this.drift) + this.offset;
  }
  /** Virtual duration that corresponds to `localMs` of this node's time. */
  virtualFor(localMs: number): number {
    return localMs / (1 + this.drift);
  }
  /** Jumps the local clock by `ms` (positive or negative). */
  jump(ms: number): void {
    this.offset += ms;
  }
  isPaused(v: number): boolean {
    return v < this.pausedUntil;
  }
}
