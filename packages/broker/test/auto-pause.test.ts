import { ManualClock } from "@liftbridge/testkit";
import { describe, expect, it } from "vitest";
import { AutoPauseTimer, autoPauseSettingsFor, decideAutoPause } from "../src/auto-pause.js";
import { systemBrokerClock } from "../src/clock.js";
import { noopLogger } from "../src/logger.js";

describe("decideAutoPause", () => {
  const on = { timeMs: 1000, disableIfSubscribers: false };
  const guarded = { timeMs: 1000, disableIfSubscribers: true };
  it.each([
    ["idle for exactly the time", 5000, 4000, on, 0, { pause: true }],
    ["idle for longer", 9000, 4000, on, 0, { pause: true }],
    ["just received", 4000, 4000, on, 0, { pause: false, recheckInMs: 1000 }],
    ["partly idle: recheck at the remainder", 4700, 4000, on, 0, { pause: false, recheckInMs: 300 }],
    ["subscribers do not matter without the flag", 9000, 4000, on, 3, { pause: true }],
    ["subscribers hold it with the flag", 9000, 4000, guarded, 1, { pause: false, recheckInMs: 1000 }],
    ["flag without subscribers pauses", 9000, 4000, guarded, 0, { pause: true }],
    ["clock went backwards: no time elapsed", 3000, 4000, on, 0, { pause: false, recheckInMs: 1000 }],
  ] as const)("%s", (_name, now, last, settings, subs, want) => {
    expect(decideAutoPause(now, last, settings, subs)).toEqual(want);
  });
});

describe("autoPauseSettingsFor", () => {
  const d = { autoPauseTimeMs: 60_000, autoPauseDisableIfSubscribers: true };
  it("takes the server defaults without overrides", () => {
    expect(autoPauseSettingsFor({}, d)).toEqual({ timeMs: 60_000, disableIfSubscribers: true });
  });
  it("stream overrides win, including 0 (disabled) and false", () => {
    expect(autoPauseSettingsFor({ autoPauseTimeMs: 0, autoPauseDisableIfSubscribers: false }, d)).toEqual({
      timeMs: 0,
      disableIfSubscribers: false,
    });
    expect(autoPauseSettingsFor({ autoPauseTimeMs: 250 }, d)).toEqual({
      timeMs: 250,
      disableIfSubscribers: true,
    });
  });
});

/** A fake partition leader: received time, subscriber count and pause proposals. */
function fakeTarget(clock: ManualClock) {
  const t = {
    last: clock.now(),
    subs: 0,
    pauses: 0,
    fail: false,
    lastReceivedMs: () => t.last,
    activeSubscribers: () => t.subs,
    pause: (): Promise<void> => {
      t.pauses++;
      return t.fail ? Promise.reject(new Error("no leader")) : Promise.resolve();
    },
  };
  return t;
}

const flush = () => new Promise((r) => setImmediate(r));

describe("AutoPauseTimer on a manual clock", () => {
  it("pauses after the idle time, not before", () => {
    const clock = new ManualClock(10_000);
    const t = fakeTarget(clock);
    const timer = new AutoPauseTimer({ timeMs: 1000, disableIfSubscribers: false }, t, clock, noopLogger);
    timer.start();
    clock.advance(999);
    expect(t.pauses).toBe(0);
    clock.advance(1);
    expect(t.pauses).toBe(1);
    clock.advance(10_000);
    expect(t.pauses).toBe(1); // nothing re-armed after a proposal that went through
  });

  it("each received message pushes the pause back by the remaining time", () => {
    const clock = new ManualClock(0);
    const t = fakeTarget(clock);
    const timer = new AutoPauseTimer({ timeMs: 1000, disableIfSubscribers: false }, t, clock, noopLogger);
    timer.start();
    clock.advance(600);
    t.last = clock.now(); // a message at 600
    clock.advance(400); // check at 1000: idle 400, recheck at 1600
    expect(t.pauses).toBe(0);
    clock.advance(599);
    expect(t.pauses).toBe(0);
    clock.advance(1);
    expect(t.pauses).toBe(1);
  });

  it("with disableIfSubscribers it waits while subscribed, then pauses once they leave", () => {
    const clock = new ManualClock(0);
    const t = fakeTarget(clock);
    t.subs = 1;
    const timer = new AutoPauseTimer({ timeMs: 500, disableIfSubscribers: true }, t, clock, noopLogger);
    timer.start();
    clock.advance(5000);
    expect(t.pauses).toBe(0);
    t.subs = 0;
    clock.advance(500);
    expect(t.pauses).toBe(1);
  });

  it("stop cancels; disabled (0) never arms; start is idempotent", () => {
    const clock = new ManualClock(0);
    const t = fakeTarget(clock);
    const timer = new AutoPauseTimer({ timeMs: 100, disableIfSubscribers: false }, t, clock, noopLogger);
    timer.start();
    timer.start();
    timer.stop();
    clock.advance(1000);
    expect(t.pauses).toBe(0);
    const off = new AutoPauseTimer({ timeMs: 0, disableIfSubscribers: false }, t, clock, noopLogger);
    expect(off.enabled).toBe(false);
    off.start();
    clock.advance(1000);
    expect(t.pauses).toBe(0);
    timer.start();
    clock.advance(100);
    expect(t.pauses).toBe(1);
  });

  it("a failed proposal is retried after another full period; a stop in between ends it", async () => {
    const clock = new ManualClock(0);
    const t = fakeTarget(clock);
    t.fail = true;
    const timer = new AutoPauseTimer({ timeMs: 100, disableIfSubscribers: false }, t, clock, noopLogger);
    timer.start();
    clock.advance(100);
    expect(t.pauses).toBe(1);
    await flush();
    clock.advance(99);
    expect(t.pauses).toBe(1);
    clock.advance(1);
    expect(t.pauses).toBe(2);
    timer.stop();
    await flush();
    clock.advance(1000);
    expect(t.pauses).toBe(2);
  });
});

describe("systemBrokerClock", () => {
  it("runs and cancels real timers", async () => {
    let fired = 0;
    const h = systemBrokerClock.setTimer(1, () => fired++);
    const cancelled = systemBrokerClock.setTimer(1, () => fired++);
    cancelled.cancel();
    // A later timer fires after the earlier ones (Node runs due timers in order).
    await new Promise<void>((r) => systemBrokerClock.setTimer(5, r));
    h.cancel();
    expect(fired).toBe(1);
    expect(Math.abs(systemBrokerClock.now() - Date.now())).toBeLessThan(1000);
  });
});
