/**
 * The time source and timers of the broker's own loops (auto-pause, consumer-group timers), injected
 * so tests run them on a manual clock (STYLE §5).
 * @module
 */

/** Cancels a timer started by {@link BrokerClock.setTimer}. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * `now()` is Unix ms. Structurally satisfied by `@liftbridge/testkit`'s `ManualClock`. Commit logs keep
 * their own (system) clock: message timestamps and age retention are wall-clock.
 */
export interface BrokerClock {
  now(): number;
  /** Runs `fn` once after `ms`. Real timers must not keep the process alive. */
  setTimer(ms: number, fn: () => void): TimerHandle;
}

/** The system clock; timers are `unref`ed. */
export const systemBrokerClock: BrokerClock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
