import { status as Code } from "@grpc/grpc-js";
import { StartPosition, StopPosition } from "@liftbridge/api";
import { ManualClock } from "@liftbridge/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { codeOf, type Env, startEnv, subscribe, unary, waitFor } from "../helpers.js";

// Auto-pause (spec internals §3.9; API spec §3 "Auto-pause", §4.3 `streams.auto.pause.*`, §4.4 fields
// 14/15). Most cases drive the broker's timers with a ManualClock (no waiting for real idle time);
// one case runs on real timers with small values.

let env: Env | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

type PartitionMd = { paused: boolean; newestOffset: number; highWatermark: number };

async function md(e: Env, stream: string, partition = 0): Promise<PartitionMd> {
  const r = await unary<{ metadata: PartitionMd }>(e.client, "FetchPartitionMetadata", { stream, partition });
  return r.metadata;
}

const isPaused = async (e: Env, stream: string, partition = 0) => (await md(e, stream, partition)).paused;

const create = (e: Env, name: string, extra: object = {}) =>
  unary(e.client, "CreateStream", { name, subject: name, ...extra });

const publish = (e: Env, stream: string, value: string, partition = 0) =>
  unary<{ ack: { offset: number } | null }>(e.client, "Publish", {
    stream,
    partition,
    value: Buffer.from(value),
  });

async function readAll(e: Env, stream: string, partition = 0): Promise<string[]> {
  const s = subscribe(e.client, {
    stream,
    partition,
    startPosition: StartPosition.EARLIEST,
    stopPosition: StopPosition.STOP_LATEST,
  });
  expect((await s.status).code).toBe(Code.RESOURCE_EXHAUSTED);
  return s.messages.slice(1).map((m) => Buffer.from(m.value as Uint8Array).toString());
}

describe("auto-pause on a manual clock", () => {
  it("pauses an idle leader after the server default time; overrides (longer, 0 = off) win", async () => {
    const clock = new ManualClock(Date.now());
    env = await startEnv({ clock, streams: { autoPauseTimeMs: 1000 } });
    const e = env;
    await create(e, "dflt", { partitions: 2 });
    await create(e, "longer", { autoPauseTime: { value: 5000 } });
    await create(e, "off", { autoPauseTime: { value: 0 } });
    clock.advance(999);
    await e.broker.core.settle();
    expect(await isPaused(e, "dflt")).toBe(false);
    clock.advance(1);
    await waitFor(
      async () => (await isPaused(e, "dflt", 0)) && (await isPaused(e, "dflt", 1)),
      20_000,
      "dflt",
    );
    // Auto-pause pauses the one partition, resumeAll false.
    expect(e.broker.core.stream("dflt")!.resumeAll).toBe(false);
    expect(await isPaused(e, "longer")).toBe(false);
    clock.advance(4000);
    await waitFor(() => isPaused(e, "longer"), 20_000, "longer");
    clock.advance(3_600_000);
    await e.broker.core.settle();
    expect(await isPaused(e, "off")).toBe(false);
    // A paused partition leaves FetchMetadata's partition counts, as for an explicit pause.
    const m = await unary<{ brokers: { partitionCount: number }[] }>(e.client, "FetchMetadata", {});
    expect(m.brokers[0]!.partitionCount).toBe(1);
  });

  it("messages keep it alive; Publish resumes it and the timer starts again; NATS publishes do not resume", async () => {
    const clock = new ManualClock(Date.now());
    env = await startEnv({ clock });
    const e = env;
    await create(e, "ap", { autoPauseTime: { value: 1000 } });
    for (let i = 0; i < 3; i++) {
      clock.advance(600);
      expect((await publish(e, "ap", `m${i}`)).ack!.offset).toBe(i);
    }
    // 1800 ms since the start, but never 1000 ms idle.
    await e.broker.core.settle();
    expect(await isPaused(e, "ap")).toBe(false);
    clock.advance(1000);
    await waitFor(() => isPaused(e, "ap"), 20_000, "auto-pause");
    // A live subscriber (without the disable flag) ends like on an explicit pause.
    // Plain NATS publishes are dropped while paused and do not resume (spec §3).
    e.natsClient.publish("ap", Buffer.from("lost"));
    await e.natsClient.flush();
    expect(await isPaused(e, "ap")).toBe(true);
    // A subscriber without `resume` is refused.
    expect((await subscribe(e.client, { stream: "ap" }).status).code).toBe(Code.FAILED_PRECONDITION);
    // Publish resumes and is acked at the next offset.
    expect((await publish(e, "ap", "after")).ack!.offset).toBe(3);
    expect(await isPaused(e, "ap")).toBe(false);
    expect(await readAll(e, "ap")).toEqual(["m0", "m1", "m2", "after"]);
    // The resumed leader has a fresh timer.
    clock.advance(1000);
    await waitFor(() => isPaused(e, "ap"), 20_000, "second auto-pause");
  });

  it("PublishAsync and Subscribe{resume} resume an auto-paused partition", async () => {
    const clock = new ManualClock(Date.now());
    env = await startEnv({ clock, streams: { autoPauseTimeMs: 500 } });
    const e = env;
    await create(e, "a");
    clock.advance(500);
    await waitFor(() => isPaused(e, "a"), 20_000, "paused");
    const call = e.client.PublishAsync();
    const acks: { correlationId: string; ack: { offset: number } | null }[] = [];
    call.on("data", (r: (typeof acks)[number]) => acks.push(r));
    const done = new Promise<number>((resolve) =>
      call.on("status", (s: { code: number }) => resolve(s.code)),
    );
    call.on("error", () => {});
    call.write({ stream: "a", value: Buffer.from("x"), correlationId: "c1" });
    call.end();
    expect(await done).toBe(Code.OK);
    expect(acks.map((a) => [a.correlationId, a.ack?.offset])).toEqual([["c1", 0]]);
    expect(await isPaused(e, "a")).toBe(false);
    clock.advance(500);
    await waitFor(() => isPaused(e, "a"), 20_000, "paused again");
    const sub = subscribe(e.client, { stream: "a", resume: true, startPosition: StartPosition.EARLIEST });
    await waitFor(() => sub.messages.length === 2, 20_000, "resumed subscription");
    expect(Buffer.from(sub.messages[1]!.value as Uint8Array).toString()).toBe("x");
    expect(await isPaused(e, "a")).toBe(false);
    sub.call.cancel();
    await sub.status;
  });

  it("autoPauseDisableIfSubscribers holds it while subscribed; without the flag the subscriber ends", async () => {
    const clock = new ManualClock(Date.now());
    env = await startEnv({ clock, streams: { autoPauseTimeMs: 1000 } });
    const e = env;
    await create(e, "guarded", { autoPauseDisableIfSubscribers: { value: true } });
    await create(e, "plain");
    const g = subscribe(e.client, { stream: "guarded" });
    const p = subscribe(e.client, { stream: "plain" });
    await waitFor(() => g.messages.length === 1 && p.messages.length === 1, 20_000, "subscribed");
    await waitFor(() => e.broker.core.partition("guarded", 0)!.activeSubscribers === 1);
    clock.advance(1000);
    // Control: the unguarded stream paused on the same tick and its subscriber got FailedPrecondition.
    expect((await p.status).code).toBe(Code.FAILED_PRECONDITION);
    await waitFor(() => isPaused(e, "plain"));
    await e.broker.core.settle();
    expect(await isPaused(e, "guarded")).toBe(false);
    clock.advance(10_000);
    await e.broker.core.settle();
    expect(await isPaused(e, "guarded")).toBe(false);
    g.call.cancel();
    await g.status;
    await waitFor(() => e.broker.core.partition("guarded", 0)!.activeSubscribers === 0);
    clock.advance(1000);
    await waitFor(() => isPaused(e, "guarded"), 20_000, "guarded pauses once unsubscribed");
  });

  it("a server default of disable-if-subscribers applies; a stream override of false wins", async () => {
    const clock = new ManualClock(Date.now());
    env = await startEnv({ clock, streams: { autoPauseTimeMs: 1000, autoPauseDisableIfSubscribers: true } });
    const e = env;
    await create(e, "held");
    await create(e, "free", { autoPauseDisableIfSubscribers: { value: false } });
    const a = subscribe(e.client, { stream: "held" });
    const b = subscribe(e.client, { stream: "free" });
    await waitFor(() => a.messages.length === 1 && b.messages.length === 1);
    clock.advance(1000);
    expect((await b.status).code).toBe(Code.FAILED_PRECONDITION);
    await e.broker.core.settle();
    expect(await isPaused(e, "held")).toBe(false);
    a.call.cancel();
    await a.status;
  });

  it("state survives a restart: paused stays paused, overrides stay, timers restart", async () => {
    const clock = new ManualClock(Date.now());
    env = await startEnv({ clock });
    const e = env;
    await create(e, "p", { autoPauseTime: { value: 1000 } });
    await create(e, "q", { autoPauseTime: { value: 3000 } });
    await publish(e, "p", "one");
    clock.advance(1000);
    await waitFor(() => isPaused(e, "p"));
    // Restart with a different clock and no server default: the stream override still applies.
    const clock2 = new ManualClock(Date.now());
    await e.restart({ clock: clock2 });
    expect(await isPaused(e, "p")).toBe(true);
    expect(e.broker.core.stream("q")!.config).toEqual({ autoPauseTimeMs: 3000 });
    clock2.advance(2999);
    await e.broker.core.settle();
    expect(await isPaused(e, "q")).toBe(false);
    clock2.advance(1);
    await waitFor(() => isPaused(e, "q"), 20_000, "q after restart");
    // The paused one resumes on Publish with its data intact.
    expect((await publish(e, "p", "two")).ack!.offset).toBe(1);
    expect(await readAll(e, "p")).toEqual(["one", "two"]);
  });

  it("__cursors auto-pauses after cursors.stream.auto.pause.time, re-applied from the config on restart", async () => {
    const clock = new ManualClock(Date.now());
    env = await startEnv({ clock, cursors: { partitions: 1, autoPauseTimeMs: 60_000 } });
    const e = env;
    const cursorsPaused = () => e.broker.core.stream("__cursors")!.partitions[0]!.paused;
    clock.advance(59_999);
    await e.broker.core.settle();
    expect(cursorsPaused()).toBe(false);
    clock.advance(1);
    await waitFor(cursorsPaused, 20_000, "__cursors paused after 60 s");
    // Resume it, then restart with a shorter configured time: the open partition takes it at once.
    await e.broker.core.propose({ op: "resume_stream", name: "__cursors", partitions: [0], timestamp: "1" });
    expect(cursorsPaused()).toBe(false);
    const clock2 = new ManualClock(Date.now());
    await e.restart({ clock: clock2, cursors: { partitions: 1, autoPauseTimeMs: 1000 } });
    expect(e.broker.core.stream("__cursors")!.config.autoPauseTimeMs).toBe(1000);
    clock2.advance(1000);
    await waitFor(cursorsPaused, 20_000, "__cursors paused after the new 1 s");
  });

  it("deleting a stream cancels its timer; a recreated stream without auto-pause stays up", async () => {
    const clock = new ManualClock(Date.now());
    env = await startEnv({ clock });
    const e = env;
    await create(e, "d", { autoPauseTime: { value: 1000 } });
    await create(e, "control", { autoPauseTime: { value: 1000 } });
    await unary(e.client, "DeleteStream", { name: "d" });
    await create(e, "d");
    clock.advance(5000);
    await waitFor(() => isPaused(e, "control"));
    await e.broker.core.settle();
    expect(await isPaused(e, "d")).toBe(false);
  });

  it("rejects negative auto-pause times; NotFound on unknown streams stays as before", async () => {
    env = await startEnv();
    const e = env;
    expect(await codeOf(create(e, "neg", { autoPauseTime: { value: -1 } }))).toEqual({
      code: Code.INVALID_ARGUMENT,
      details: "autoPauseTimeMs must be >= 0",
    });
    expect((await codeOf(unary(e.client, "FetchPartitionMetadata", { stream: "neg" }))).code).toBe(
      Code.NOT_FOUND,
    );
  });
});

describe("auto-pause on real timers", () => {
  it("a 1 s stream pauses by itself and Publish brings it back", async () => {
    env = await startEnv();
    const e = env;
    await create(e, "rt", { autoPauseTime: { value: 1000 } });
    await publish(e, "rt", "a");
    await waitFor(() => isPaused(e, "rt"), 20_000, "real-time auto-pause");
    expect((await publish(e, "rt", "b")).ack!.offset).toBe(1);
    // It pauses again after another idle period; the paused partition reports both messages.
    await waitFor(() => isPaused(e, "rt"), 20_000, "paused again");
    expect((await md(e, "rt")).newestOffset).toBe(1);
  });
});
