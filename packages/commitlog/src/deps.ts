/** Time source and timers (STYLE §5). `now()` is Unix milliseconds. */
export interface Clock {
  now(): number;
  /** Runs `fn` once after `ms`; the returned function cancels it. Real timers do not keep the process alive. */
  setTimer(ms: number, fn: () => void): () => void;
}

/** The system clock; timers are `unref`ed. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

/** Structural logger, satisfied by pino (STYLE §7). */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** A logger that drops everything (the default). */
export const noopLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return noopLogger;
  },
};
