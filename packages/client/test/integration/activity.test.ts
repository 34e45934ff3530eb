import { appendFile } from "node:fs/promises";
import * as path from "node:path";
import { ActivityStreamEvent, ActivityStreamOp } from "@liftbridge/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, isLiftbridgeError, LiftbridgeErrorCode } from "../../src/index.js";
import { TestServer, waitFor } from "../helpers.js";

/** Every event in `__activity`, decoded, deduplicated by id (events are delivered at least once). */
async function activity(client: Client): Promise<ActivityStreamEvent[]> {
  const seen = new Set<number>();
  const out: ActivityStreamEvent[] = [];
  for await (const m of await client.subscribe("__activity", { startAt: "earliest", stopAt: "latest" })) {
    const e = ActivityStreamEvent.decode(m.value);
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    out.push(e);
  }
  return out;
}

const streamOf = (e: ActivityStreamEvent): string =>
  (e.createStreamOp ?? e.deleteStreamOp ?? e.pauseStreamOp ?? e.resumeStreamOp ?? e.setStreamReadonlyOp)
    ?.stream ?? "";

describe("client against the real server: the activity stream", () => {
  let server: TestServer;
  let client: Client | undefined;
  beforeAll(async () => {
    server = await TestServer.create();
    await server.stop("SIGTERM");
    await appendFile(path.join(server.dir, "liftbridge.conf"), "activity.stream.enabled: true\n");
    await server.start();
  });
  afterAll(async () => {
    await client?.close();
    await server?.destroy();
  });

  it("reports every stream op in order with increasing ids, across a crash of the server", async () => {
    client = await connect([server.addr], { ackWaitTimeMs: 5000 });
    const c = client;
    await c.createStream("orders", "orders", { partitions: 2 });
    await c.pauseStream("orders", { partitions: [1] });
    await c.setStreamReadonly("orders", { readonly: true });
    for (const name of ["__activity", "__cursors"]) {
      const err = await c.createStream(name, name).catch((e: unknown) => e);
      expect(isLiftbridgeError(err, LiftbridgeErrorCode.InvalidArgument)).toBe(true);
      expect(String(err)).toContain("Stream is reserved");
      const del = await c.deleteStream(name).catch((e: unknown) => e);
      expect(isLiftbridgeError(del, LiftbridgeErrorCode.InvalidArgument)).toBe(true);
    }
    // A crash (SIGKILL) right after the ops: whatever was not published yet is published after restart.
    await server.stop("SIGKILL");
    await server.start();
    await c.deleteStream("orders");
    const want: [number, string][] = [
      [ActivityStreamOp.CREATE_STREAM, "__activity"],
      [ActivityStreamOp.CREATE_STREAM, "orders"],
      [ActivityStreamOp.PAUSE_STREAM, "orders"],
      [ActivityStreamOp.SET_STREAM_READONLY, "orders"],
      [ActivityStreamOp.DELETE_STREAM, "orders"],
    ];
    let events: ActivityStreamEvent[] = [];
    await waitFor(async () => {
      try {
        events = await activity(c);
      } catch {
        return false; // `__activity` not created yet, or still empty
      }
      return events.length >= want.length;
    });
    expect(events.map((e) => [e.op, streamOf(e)])).toEqual(want);
    for (let i = 1; i < events.length; i++) expect(events[i]!.id).toBeGreaterThan(events[i - 1]!.id);
    expect(events[2]!.pauseStreamOp).toEqual({ stream: "orders", partitions: [1], resumeAll: false });
    expect(events[3]!.setStreamReadonlyOp).toEqual({ stream: "orders", partitions: [0, 1], readonly: true });
  });
});
