/**
 * PublishAsync to paused partitions: the resume is awaited in order, and the call ends after the
 * client half-closes. Regression: the queue of waiting requests never emptied, so the end-of-call
 * loop spun on a settled promise forever and froze the process.
 */
import { status as Code } from "@grpc/grpc-js";
import { StartPosition, StopPosition } from "@liftbridge/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Env, startEnv, subscribe, unary } from "../helpers.js";

let env: Env;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.close();
});

describe("PublishAsync and paused partitions", () => {
  it("resumes, keeps the order across paused and live partitions, and ends OK after half-close", async () => {
    await unary(env.client, "CreateStream", { name: "pa", subject: "pa" });
    await unary(env.client, "CreateStream", { name: "pb", subject: "pb" });
    await unary(env.client, "PauseStream", { name: "pa" });
    await unary(env.client, "PauseStream", { name: "pb" });
    const call = env.client.PublishAsync();
    const acks: string[] = [];
    call.on("data", (r: { ack: { correlationId: string } | null }) => acks.push(r.ack?.correlationId ?? "?"));
    const done = new Promise<number>((resolve) =>
      call.on("status", (s: { code: number }) => resolve(s.code)),
    );
    call.on("error", () => {});
    const ids = ["a1", "b1", "a2", "b2", "a3"];
    for (const id of ids)
      call.write({ stream: id[0] === "a" ? "pa" : "pb", value: Buffer.from(id), correlationId: id });
    call.end();
    expect(await done).toBe(Code.OK);
    expect([...acks].sort()).toEqual([...ids].sort());
    for (const [stream, want] of [
      ["pa", ["a1", "a2", "a3"]],
      ["pb", ["b1", "b2"]],
    ] as const) {
      const sub = subscribe(env.client, {
        stream,
        startPosition: StartPosition.EARLIEST,
        stopPosition: StopPosition.STOP_LATEST,
      });
      expect((await sub.status).code).toBe(Code.RESOURCE_EXHAUSTED);
      expect(sub.messages.slice(1).map((m) => Buffer.from(m.value as Uint8Array).toString())).toEqual(want);
    }
    expect(env.broker.core.stream("pa")!.partitions[0]!.paused).toBe(false);
  });
});
