import { readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { status as Code } from "@grpc/grpc-js";
import { ActivityStreamEvent, ActivityStreamOp, StartPosition, StopPosition } from "@liftbridge/api";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ACTIVITY_STREAM, toActivityEvent } from "../../src/index.js";
import { codeOf, type Env, startEnv, subscribe, unary, waitFor } from "../helpers.js";

const ENABLED = { activity: { enabled: true, publishTimeoutMs: 5000 } } as const;

let env: Env | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

/** Waits until the leader created `__activity` and its partition is open (it happens after startup). */
async function activityReady(e: Env): Promise<void> {
  await waitFor(() => e.broker.core.partition(ACTIVITY_STREAM, 0)?.log !== undefined, 20_000, "__activity");
}

/** Every event stored in `__activity` so far, decoded with the api types (in log order). */
async function readEvents(e: Env, atLeast: number): Promise<ActivityStreamEvent[]> {
  await activityReady(e);
  const sub = subscribe(e.client, { stream: ACTIVITY_STREAM, startPosition: StartPosition.EARLIEST });
  try {
    await waitFor(() => sub.messages.length - 1 >= atLeast, 20_000, `${atLeast} activity events`);
  } finally {
    sub.call.cancel();
    await sub.status;
  }
  return sub.messages.slice(1).map((m) => ActivityStreamEvent.decode(m.value as Uint8Array));
}

/** Every event in `__activity`, once the dispatcher caught up (a STOP_LATEST read). */
async function readAll(e: Env): Promise<ActivityStreamEvent[]> {
  await activityReady(e);
  await caughtUp(e);
  const sub = subscribe(e.client, {
    stream: ACTIVITY_STREAM,
    startPosition: StartPosition.EARLIEST,
    stopPosition: StopPosition.STOP_LATEST,
  });
  expect((await sub.status).code).toBe(Code.RESOURCE_EXHAUSTED);
  return sub.messages.slice(1).map((m) => ActivityStreamEvent.decode(m.value as Uint8Array));
}

/** Waits until the dispatcher recorded everything applied so far (PUBLISH_ACTIVITY caught up). */
async function caughtUp(e: Env): Promise<void> {
  const core = e.broker.core;
  await waitFor(
    () => {
      const raft = core.raft;
      for (let i = raft.state.lastActivityIndex + 1; i <= raft.applied; i++) {
        const op = raft.entryOp(i);
        if (op !== undefined && op !== null && toActivityEvent(i, op) !== undefined) return false;
      }
      return true;
    },
    20_000,
    "activity dispatcher to catch up",
  );
}

type Summary = [op: number, stream: string, extra?: unknown];
const summary = (e: ActivityStreamEvent): Summary => {
  switch (e.op) {
    case ActivityStreamOp.CREATE_STREAM:
      return [e.op, e.createStreamOp!.stream, e.createStreamOp!.partitions];
    case ActivityStreamOp.DELETE_STREAM:
      return [e.op, e.deleteStreamOp!.stream];
    case ActivityStreamOp.PAUSE_STREAM:
      return [e.op, e.pauseStreamOp!.stream, [e.pauseStreamOp!.partitions, e.pauseStreamOp!.resumeAll]];
    case ActivityStreamOp.RESUME_STREAM:
      return [e.op, e.resumeStreamOp!.stream, e.resumeStreamOp!.partitions];
    case ActivityStreamOp.SET_STREAM_READONLY:
      return [
        e.op,
        e.setStreamReadonlyOp!.stream,
        [e.setStreamReadonlyOp!.partitions, e.setStreamReadonlyOp!.readonly],
      ];
    case ActivityStreamOp.JOIN_CONSUMER_GROUP:
      return [
        e.op,
        e.joinConsumerGroupOp!.groupId,
        [e.joinConsumerGroupOp!.consumerId, e.joinConsumerGroupOp!.streams],
      ];
    case ActivityStreamOp.LEAVE_CONSUMER_GROUP:
      return [
        e.op,
        e.leaveConsumerGroupOp!.groupId,
        [e.leaveConsumerGroupOp!.consumerId, e.leaveConsumerGroupOp!.expired],
      ];
    default:
      return [e.op, "?"];
  }
};

const { CREATE_STREAM, DELETE_STREAM, PAUSE_STREAM, RESUME_STREAM, SET_STREAM_READONLY } = ActivityStreamOp;

describe("activity stream", () => {
  it("reports consumer-group joins (the group's creation too) and leaves", async () => {
    env = await startEnv(ENABLED);
    const c = env.client;
    await unary(c, "CreateStream", { name: "s", subject: "s" });
    await unary(c, "JoinConsumerGroup", { groupId: "g", consumerId: "c1", streams: ["s"] });
    await unary(c, "JoinConsumerGroup", { groupId: "g", consumerId: "c2", streams: ["s"] });
    await unary(c, "LeaveConsumerGroup", { groupId: "g", consumerId: "c1" });
    const events = await readEvents(env, 5);
    const { JOIN_CONSUMER_GROUP, LEAVE_CONSUMER_GROUP } = ActivityStreamOp;
    expect(events.slice(1).map(summary)).toEqual([
      [CREATE_STREAM, "s", [0]],
      [JOIN_CONSUMER_GROUP, "g", ["c1", ["s"]]],
      [JOIN_CONSUMER_GROUP, "g", ["c2", ["s"]]],
      [LEAVE_CONSUMER_GROUP, "g", ["c1", false]],
    ]);
  });

  it("publishes one event per metadata op, in Raft order, id = Raft index", async () => {
    env = await startEnv(ENABLED);
    const c = env.client;
    await unary(c, "CreateStream", { name: "a", subject: "a", partitions: 2 });
    await unary(c, "PauseStream", { name: "a", partitions: [1], resumeAll: true });
    // A publish to the paused partition resumes it (resumeAll: every paused partition).
    await unary(c, "Publish", { stream: "a", partition: 1, value: Buffer.from("x") });
    await unary(c, "SetStreamReadonly", { name: "a", partitions: [0], readonly: true });
    await unary(c, "SetStreamReadonly", { name: "a", readonly: false });
    await unary(c, "PauseStream", { name: "a" });
    await unary(c, "DeleteStream", { name: "a" });
    const events = await readEvents(env, 8);
    expect(events.map(summary)).toEqual([
      [CREATE_STREAM, ACTIVITY_STREAM, [0]],
      [CREATE_STREAM, "a", [0, 1]],
      [PAUSE_STREAM, "a", [[1], true]],
      [RESUME_STREAM, "a", [1]],
      [SET_STREAM_READONLY, "a", [[0], true]],
      [SET_STREAM_READONLY, "a", [[0, 1], false]],
      [PAUSE_STREAM, "a", [[0, 1], false]],
      [DELETE_STREAM, "a"],
    ]);
    // Ids are the Raft indexes of the ops, strictly increasing, and the log agrees with each event.
    const ids = events.map((e) => e.id);
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
    for (const e of events) {
      const op = env.broker.core.raft.entryOp(e.id);
      expect(op).toBeTruthy();
      expect(toActivityEvent(e.id, op!)).toEqual(e);
    }
    await caughtUp(env);
    expect(env.broker.core.raft.state.lastActivityIndex).toBe(ids.at(-1));
    // A failed op (AlreadyExists) is never proposed, so it has no event.
    await unary(c, "CreateStream", { name: "b", subject: "b" });
    expect((await codeOf(unary(c, "CreateStream", { name: "b", subject: "b" }))).code).toBe(
      Code.ALREADY_EXISTS,
    );
    const more = await readEvents(env, 9);
    expect(more.slice(8).map(summary)).toEqual([[CREATE_STREAM, "b", [0]]]);
  });

  it("resumes a paused __activity before publishing to it", async () => {
    env = await startEnv(ENABLED);
    await activityReady(env);
    await unary(env.client, "PauseStream", { name: ACTIVITY_STREAM });
    await unary(env.client, "CreateStream", { name: "a", subject: "a" });
    const events = await readAll(env);
    expect(events.slice(0, 2).map(summary)).toEqual([
      [CREATE_STREAM, ACTIVITY_STREAM, [0]],
      [PAUSE_STREAM, ACTIVITY_STREAM, [[0], false]],
    ]);
    // The dispatcher's resume and the API's create race: either order is Raft order.
    expect(events.slice(2).map(summary)).toEqual(
      expect.arrayContaining([
        [RESUME_STREAM, ACTIVITY_STREAM, [0]],
        [CREATE_STREAM, "a", [0]],
      ]),
    );
    expect(events).toHaveLength(4);
    for (let i = 1; i < events.length; i++) expect(events[i]!.id).toBeGreaterThan(events[i - 1]!.id);
    expect(env.broker.core.stream(ACTIVITY_STREAM)!.partitions[0]!.paused).toBe(false);
  });

  it("is disabled by default: no __activity stream, no events", async () => {
    env = await startEnv();
    await unary(env.client, "CreateStream", { name: "a", subject: "a" });
    const md = await unary<{ streamMetadata: { name: string }[] }>(env.client, "FetchMetadata", {});
    expect(md.streamMetadata.map((s) => s.name)).toEqual(["a"]);
    expect(env.broker.core.options.activity).toEqual({
      enabled: false,
      publishTimeoutMs: 5000,
      publishAckPolicy: "all",
    });
    expect(env.broker.core.raft.state.lastActivityIndex).toBe(0);
  });

  it.each(["leader", "none"] as const)("honours publish.ack.policy = %s", async (publishAckPolicy) => {
    env = await startEnv({ activity: { enabled: true, publishAckPolicy } });
    await unary(env.client, "CreateStream", { name: "a", subject: "a" });
    const events = await readEvents(env, 2);
    expect(events.map(summary)).toEqual([
      [CREATE_STREAM, ACTIVITY_STREAM, [0]],
      [CREATE_STREAM, "a", [0]],
    ]);
  });

  it("rejects creating or deleting the reserved streams with InvalidArgument", async () => {
    env = await startEnv(ENABLED);
    await activityReady(env);
    for (const name of [ACTIVITY_STREAM, "__cursors"]) {
      expect(await codeOf(unary(env.client, "CreateStream", { name, subject: `x.${name}` }))).toEqual({
        code: Code.INVALID_ARGUMENT,
        details: "Stream is reserved",
      });
      expect(await codeOf(unary(env.client, "DeleteStream", { name }))).toEqual({
        code: Code.INVALID_ARGUMENT,
        details: "Stream is reserved",
      });
    }
    expect(env.broker.core.stream(ACTIVITY_STREAM)).toBeDefined();
  });

  it("survives restarts: no event lost, none republished but the last, ids increase after dedup", async () => {
    env = await startEnv(ENABLED);
    const c = () => env!.client;
    await unary(c(), "CreateStream", { name: "a", subject: "a" });
    await unary(c(), "PauseStream", { name: "a" });
    await caughtUp(env);
    const before = await readEvents(env, 3);
    // Ops while the activity stream is disabled are published after it is enabled again.
    await env.restart({ activity: { enabled: false } });
    await unary(c(), "CreateStream", { name: "b", subject: "b", partitions: 3 });
    await unary(c(), "DeleteStream", { name: "a" });
    const pending = env.broker.core.raft.state.lastActivityIndex;
    expect(pending).toBe(before.at(-1)!.id); // two events are waiting to be published
    // Restart in the middle of dispatching: a burst of ops, then a restart right away.
    await env.restart(ENABLED);
    for (let i = 0; i < 5; i++) await unary(c(), "SetStreamReadonly", { name: "b", readonly: i % 2 === 0 });
    await env.restart(ENABLED);
    await unary(c(), "CreateStream", { name: "c", subject: "c" });
    const all = await readAll(env);
    expect(all.slice(0, before.length)).toEqual(before);
    // At least once: a duplicate can only be the last event stored before it, re-sent after a
    // restart (published, not yet recorded); at most one per restart.
    const seen = new Set<number>();
    const unique: ActivityStreamEvent[] = [];
    let duplicates = 0;
    for (const e of all) {
      if (seen.has(e.id)) {
        duplicates++;
        expect(e.id).toBe(unique.at(-1)!.id);
        continue;
      }
      seen.add(e.id);
      unique.push(e);
    }
    expect(duplicates).toBeLessThanOrEqual(3);
    for (let i = 1; i < unique.length; i++) expect(unique[i]!.id).toBeGreaterThan(unique[i - 1]!.id);
    expect(unique.map(summary)).toEqual([
      [CREATE_STREAM, ACTIVITY_STREAM, [0]],
      [CREATE_STREAM, "a", [0]],
      [PAUSE_STREAM, "a", [[0], false]],
      [CREATE_STREAM, "b", [0, 1, 2]],
      [DELETE_STREAM, "a"],
      [SET_STREAM_READONLY, "b", [[0, 1, 2], true]],
      [SET_STREAM_READONLY, "b", [[0, 1, 2], false]],
      [SET_STREAM_READONLY, "b", [[0, 1, 2], true]],
      [SET_STREAM_READONLY, "b", [[0, 1, 2], false]],
      [SET_STREAM_READONLY, "b", [[0, 1, 2], true]],
      [CREATE_STREAM, "c", [0]],
    ]);
    expect(env.broker.core.raft.state.lastActivityIndex).toBe(unique.at(-1)!.id);
  });
});

describe("README", () => {
  it("runs the activity stream example", async () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const readme = readFileSync(path.join(here, "..", "..", "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("### Activity stream"));
    const code = /```ts\n([\s\S]*?)```/
      .exec(section)![1]!
      .replace('"@liftbridge/broker"', '"../../src/index.js"');
    const file = path.join(here, "readme-activity.tmp.ts");
    writeFileSync(file, `${code}\nexport {};\n`);
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      await import(file);
      expect(log).toHaveBeenCalledTimes(1);
      const printed = log.mock.calls[0]![0] as string[];
      expect(printed.map((l) => l.replace(/^\d+ /, ""))).toEqual([
        "CREATE_STREAM __activity",
        "CREATE_STREAM orders",
        "DELETE_STREAM orders",
      ]);
      const ids = printed.map((l) => Number.parseInt(l, 10));
      expect(ids[0]).toBeLessThan(ids[1]!);
      expect(ids[1]).toBeLessThan(ids[2]!);
    } finally {
      log.mockRestore();
      rmSync(file, { force: true });
    }
  });
});
