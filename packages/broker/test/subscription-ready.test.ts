import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_STREAM_DEFAULTS } from "../src/broker.js";
import { systemBrokerClock } from "../src/clock.js";
import { noopLogger } from "../src/logger.js";
import type { PartitionState, StreamState } from "../src/metadata.js";
import type { NatsConnection } from "../src/nats.js";
import { Partition } from "../src/partition.js";
import {
  confirmSubscriptions,
  drainSubscription,
  SUBSCRIPTION_CONFIRM_TIMEOUT_MS,
  SUBSCRIPTION_DRAIN_TIMEOUT_MS,
} from "../src/subscription-ready.js";

/** A fake connection that records calls; each flush waits for a test to settle it. */
function fakeNats() {
  const calls: string[] = [];
  const flushes: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const nats: NatsConnection = {
    publish: () => calls.push("publish"),
    subscribe: (subject) => {
      calls.push(`subscribe ${subject}`);
      return { unsubscribe: () => calls.push(`unsubscribe ${subject}`) };
    },
    flush: () => {
      calls.push("flush");
      return new Promise<void>((resolve, reject) => flushes.push({ resolve, reject }));
    },
  };
  return { nats, calls, flushes };
}

/** Lets pending promise callbacks run (a macrotask turn). */
const turn = () => new Promise((r) => setImmediate(r));

/** Polls until `cond` holds (the log opens on the real file system), failing after 10 s. */
async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe("confirmSubscriptions", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("resolves undefined once the flush round trip completed", async () => {
    const { nats, flushes } = fakeNats();
    let done: Error | undefined | "pending" = "pending";
    void confirmSubscriptions(nats).then((r) => {
      done = r;
    });
    await turn();
    expect(done).toBe("pending");
    flushes[0]!.resolve();
    await turn();
    expect(done).toBeUndefined();
  });

  it("resolves the error when the flush fails or throws, never rejects", async () => {
    const { nats, flushes } = fakeNats();
    const p = confirmSubscriptions(nats);
    flushes[0]!.reject(new Error("connection closed"));
    expect((await p)?.message).toBe("connection closed");
    const throwing: NatsConnection = {
      ...nats,
      flush: () => {
        throw new Error("closed");
      },
    };
    expect((await confirmSubscriptions(throwing))?.message).toBe("closed");
  });

  it("gives up after the timeout (5 s by default) when NATS never answers", async () => {
    vi.useFakeTimers();
    const { nats } = fakeNats();
    let done: Error | undefined | "pending" = "pending";
    void confirmSubscriptions(nats).then((r) => {
      done = r;
    });
    await vi.advanceTimersByTimeAsync(SUBSCRIPTION_CONFIRM_TIMEOUT_MS - 1);
    expect(done).toBe("pending");
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBeInstanceOf(Error);
    expect(SUBSCRIPTION_CONFIRM_TIMEOUT_MS).toBe(5000);
  });
});

describe("drainSubscription", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("uses the handle's drain when it has one (nats.js)", async () => {
    const { nats, calls } = fakeNats();
    const sub = { unsubscribe: () => calls.push("unsubscribe"), drain: async () => void calls.push("drain") };
    expect(await drainSubscription(sub, nats)).toBeUndefined();
    expect(calls).toEqual(["drain"]);
  });

  it("else unsubscribes, then waits for a flush (in-process connection)", async () => {
    const { nats, calls, flushes } = fakeNats();
    const p = drainSubscription({ unsubscribe: () => calls.push("unsubscribe") }, nats);
    expect(calls).toEqual(["unsubscribe", "flush"]);
    flushes[0]!.resolve();
    expect(await p).toBeUndefined();
  });

  it("gives up after 2 s and unsubscribes when the drain never completes", async () => {
    vi.useFakeTimers();
    const { nats, calls } = fakeNats();
    const sub = { unsubscribe: () => calls.push("unsubscribe"), drain: () => new Promise<void>(() => {}) };
    let done: Error | undefined | "pending" = "pending";
    void drainSubscription(sub, nats).then((r) => {
      done = r;
    });
    await vi.advanceTimersByTimeAsync(SUBSCRIPTION_DRAIN_TIMEOUT_MS - 1);
    expect(done).toBe("pending");
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBeInstanceOf(Error);
    expect(calls).toEqual(["unsubscribe"]);
  });
});

describe("Partition start and resume", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  const make = async (nats: NatsConnection, leader: string) => {
    dir = await mkdtemp(path.join(tmpdir(), "lb-subready-unit-"));
    const meta: PartitionState = {
      id: 0,
      subject: "foo",
      stream: "s",
      group: "",
      replicationFactor: 1,
      replicas: ["s1"],
      leader,
      isr: ["s1"],
      leaderEpoch: 1,
      epoch: 1,
      paused: false,
      readonly: false,
      pauseTimestamps: { first: "0", latest: "0" },
      readonlyTimestamps: { first: "0", latest: "0" },
    };
    const stream: StreamState = {
      name: "s",
      subject: "foo",
      group: "",
      config: {},
      creationTimestamp: "0",
      resumeAll: false,
      partitions: [meta],
    };
    return new Partition(stream, meta, {
      dataDir: dir,
      serverId: "s1",
      nats,
      logger: noopLogger,
      defaults: DEFAULT_STREAM_DEFAULTS,
      sync: "none",
      syncIntervalMs: 1000,
      maxMessageBytes: 1024 * 1024,
      batchMaxMessages: 1024,
      clock: systemBrokerClock,
      proposePause: async () => {},
    });
  };

  it("a leader's start and resume end only after NATS confirmed the subscription (one flush each)", async () => {
    const { nats, calls, flushes } = fakeNats();
    const p = await make(nats, "s1");
    let started = false;
    const start = p.start().then(() => {
      started = true;
    });
    // Wait until the log is open and the subscription sent, then check start still waits.
    await until(() => flushes.length === 1);
    expect(calls).toEqual(["subscribe foo", "flush"]);
    await turn();
    expect(started).toBe(false);
    flushes[0]!.resolve();
    await start;
    expect(p.log).toBeDefined();

    await p.pause();
    let resumed = false;
    const resume = p.resume().then(() => {
      resumed = true;
    });
    await until(() => flushes.length === 2);
    expect(calls).toEqual(["subscribe foo", "flush", "unsubscribe foo", "subscribe foo", "flush"]);
    await turn();
    expect(resumed).toBe(false);
    flushes[1]!.resolve();
    await resume;
    // Closing drains: unsubscribe, then a flush before the log closes.
    const close = p.close();
    await until(() => flushes.length === 3);
    expect(calls.slice(5)).toEqual(["unsubscribe foo", "flush"]);
    expect(p.log).toBeDefined();
    flushes[2]!.resolve();
    await close;
    expect(p.log).toBeUndefined();
  });

  it("a failed confirmation does not fail the start (best effort)", async () => {
    const { nats, flushes } = fakeNats();
    const p = await make(nats, "s1");
    const start = p.start();
    await until(() => flushes.length === 1);
    flushes[0]!.reject(new Error("closed"));
    await start;
    expect(p.log).toBeDefined();
    const close = p.close();
    await until(() => flushes.length === 2);
    flushes[1]!.reject(new Error("closed"));
    await close;
  });

  it("a follower neither subscribes nor flushes", async () => {
    const { nats, calls } = fakeNats();
    const p = await make(nats, "s2");
    await p.start();
    expect(calls).toEqual([]);
    await p.close();
  });
});
