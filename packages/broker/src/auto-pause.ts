/**
 * Auto-pause (spec internals §3.9, `streams.auto.pause.*`): a partition leader that has received no
 * message for the effective auto-pause time pauses itself through the metadata path (a PAUSE_STREAM
 * op for that one partition, `resumeAll` false). A gRPC `Publish` / `PublishAsync` or a
 * `Subscribe{resume: true}` resumes it, as for an explicit pause.
 *
 * The decision is a pure function ({@link decideAutoPause}); {@link AutoPauseTimer} drives it with an
 * injected {@link BrokerClock}, so tests run it on a manual clock.
 * @module
 */
import type { BrokerClock, TimerHandle } from "./clock.js";
import type { Logger } from "./logger.js";
import type { StreamConfig } from "./metadata.js";

/** Server-wide auto-pause defaults (`streams.auto.pause.*`). */
export interface AutoPauseDefaults {
  /** `streams.auto.pause.time` in ms; 0 = off. */
  readonly autoPauseTimeMs: number;
  /** `streams.auto.pause.disable.if.subscribers`. */
  readonly autoPauseDisableIfSubscribers: boolean;
}

/** The effective auto-pause settings of one stream. */
export interface AutoPauseSettings {
  /** Idle time before pausing, ms; 0 = disabled. */
  readonly timeMs: number;
  /** Do not pause while the partition has active subscribers. */
  readonly disableIfSubscribers: boolean;
}

/** Server defaults with the stream's overrides (CreateStreamRequest fields 14/15, spec §4.4). */
export function autoPauseSettingsFor(config: StreamConfig, d: AutoPauseDefaults): AutoPauseSettings {
  return {
    timeMs: config.autoPauseTimeMs ?? d.autoPauseTimeMs,
    disableIfSubscribers: config.autoPauseDisableIfSubscribers ?? d.autoPauseDisableIfSubscribers,
  };
}

/** What {@link decideAutoPause} concludes: pause now, or look again after `recheckInMs`. */
export type AutoPauseDecision =
  | { readonly pause: true }
  | { readonly pause: false; readonly recheckInMs: number };

/**
 * Decides whether an idle leader pauses (spec internals §3.9): it pauses once `now − lastReceivedMs
 * ≥ timeMs`, unless `disableIfSubscribers` and it has subscribers (then it looks again after a full
 * `timeMs`); otherwise the next check is due at `timeMs − elapsed`. `settings.timeMs` must be > 0.
 * A clock that went backwards counts as no time elapsed.
 */
export function decideAutoPause(
  nowMs: number,
  lastReceivedMs: number,
  settings: AutoPauseSettings,
  subscribers: number,
): AutoPauseDecision {
  const t = settings.timeMs;
  if (settings.disableIfSubscribers && subscribers > 0) return { pause: false, recheckInMs: t };
  const elapsed = Math.max(0, nowMs - lastReceivedMs);
  if (elapsed >= t) return { pause: true };
  return { pause: false, recheckInMs: t - elapsed };
}

/** What the timer watches and does: the partition leader's side. */
export interface AutoPauseTarget {
  /** Clock time (ms) of the last message received, or of the leader's start when none since. */
  lastReceivedMs(): number;
  /** Active Subscribe calls on the partition. */
  activeSubscribers(): number;
  /** Proposes the PAUSE_STREAM op for this partition (rejections are logged by the timer). */
  pause(): Promise<void>;
}

/**
 * The auto-pause timer of one partition leader: started when the leader opens its log, stopped when
 * the partition pauses, is deleted or closes. At most one timer is armed at a time; once it proposed
 * a pause it arms nothing more unless the proposal fails (the applied pause stops it; a resume opens
 * the log again and starts a fresh timer).
 */
export class AutoPauseTimer {
  readonly #settings: AutoPauseSettings;
  readonly #target: AutoPauseTarget;
  readonly #clock: BrokerClock;
  readonly #log: Logger;
  #timer: TimerHandle | undefined;
  #stopped = true;
  #pausing = false;

  constructor(settings: AutoPauseSettings, target: AutoPauseTarget, clock: BrokerClock, log: Logger) {
    this.#settings = settings;
    this.#target = target;
    this.#clock = clock;
    this.#log = log;
  }

  /** Whether auto-pause is enabled for this partition (time > 0). */
  get enabled(): boolean {
    return this.#settings.timeMs > 0;
  }

  /** Arms the first check `timeMs` from now; a no-op when disabled or already running. */
  start(): void {
    if (!this.enabled || !this.#stopped || this.#pausing) return;
    this.#stopped = false;
    this.#arm(this.#settings.timeMs);
  }

  /** Cancels the pending check. Idempotent. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = this.#clock.setTimer(ms, this.#check);
  }

  readonly #check = (): void => {
    this.#timer = undefined;
    if (this.#stopped) return;
    const d = decideAutoPause(
      this.#clock.now(),
      this.#target.lastReceivedMs(),
      this.#settings,
      this.#target.activeSubscribers(),
    );
    if (!d.pause) {
      this.#arm(d.recheckInMs);
      return;
    }
    // A pause that is applied stops this timer (the partition closes); one that fails (no Raft
    // leader, say) is retried after another full period unless the timer was stopped meanwhile.
    this.#pausing = true;
    this.#log.info({ idleMs: this.#settings.timeMs }, "auto-pausing idle partition");
    this.#target.pause().then(
      () => {
        this.#pausing = false;
      },
      (err: unknown) => {
        this.#pausing = false;
        if (this.#stopped) return;
        this.#log.warn({ err }, "auto-pause proposal failed");
        this.#arm(this.#settings.timeMs);
      },
    );
  };
}
