/**
 * Spec §5 "no controller / Raft failure -> Internal" rows. The metadata Raft node of a running broker
 * is stopped (what a fatal storage error does to it: fail-stop), so every metadata proposal fails
 * while the gRPC server keeps serving.
 */
import { status as Code } from "@grpc/grpc-js";
import { PublishAsyncErrorCode } from "@liftbridge/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, type Env, startEnv, subscribe, unary } from "../helpers.js";

let env: Env;

beforeAll(async () => {
  env = await startEnv();
  await unary(env.client, "CreateStream", { name: "live", subject: "live" });
  await unary(env.client, "CreateStream", { name: "paused", subject: "paused" });
  await unary(env.client, "PauseStream", { name: "paused" });
  await env.broker.core.raft.close();
});
afterAll(async () => {
  await env?.close();
});

describe("metadata writes when the Raft node is stopped", () => {
  it.each([
    ["CreateStream", { name: "new", subject: "new" }, "Failed to create stream"],
    ["DeleteStream", { name: "live" }, "Failed to delete stream"],
    ["PauseStream", { name: "live" }, "Failed to pause stream"],
    ["PauseStream", { name: "live", partitions: [0] }, "Failed to pause stream"],
    ["SetStreamReadonly", { name: "live", readonly: true }, "Failed to set stream readonly"],
    ["Publish", { stream: "paused", value: Buffer.from("x") }, "Failed to resume stream"],
  ])("%s %j -> Internal", async (method, req, prefix) => {
    expect(await codeOf(unary(env.client, method, req))).toEqual({
      code: Code.INTERNAL,
      details: `${prefix}: [closed] metadata raft is closed`,
    });
  });

  it("Subscribe with resume and PublishAsync to a paused partition: Internal / INTERNAL", async () => {
    expect(await subscribe(env.client, { stream: "paused", resume: true }).status).toEqual({
      code: Code.INTERNAL,
      details: "Failed to resume stream: [closed] metadata raft is closed",
    });
    const call = env.client.PublishAsync();
    const res: { correlationId: string; asyncError: { code: number; message: string } | null }[] = [];
    call.on("data", (r: (typeof res)[number]) => res.push(r));
    const done = new Promise<number>((resolve) =>
      call.on("status", (st: { code: number }) => resolve(st.code)),
    );
    call.on("error", () => {});
    call.write({ stream: "paused", value: Buffer.from("x"), correlationId: "c1" });
    call.end();
    expect(await done).toBe(Code.OK);
    expect(res).toEqual([
      expect.objectContaining({
        correlationId: "c1",
        asyncError: {
          code: PublishAsyncErrorCode.INTERNAL,
          message: "Failed to resume stream: [closed] metadata raft is closed",
        },
      }),
    ]);
  });

  it("rows checked before the proposal keep their codes; reads keep working", async () => {
    expect((await codeOf(unary(env.client, "CreateStream", { name: "", subject: "x" }))).code).toBe(
      Code.INVALID_ARGUMENT,
    );
    expect((await codeOf(unary(env.client, "PauseStream", { name: "nope" }))).code).toBe(Code.NOT_FOUND);
    // Preconditions checked on the current state answer without a proposal.
    expect(await codeOf(unary(env.client, "CreateStream", { name: "live", subject: "live" }))).toEqual({
      code: Code.ALREADY_EXISTS,
      details: "stream already exists",
    });
    const md = await unary<{ streamMetadata: { name: string }[] }>(env.client, "FetchMetadata", {});
    expect(md.streamMetadata.map((s) => s.name).sort()).toEqual(["live", "paused"]);
    // A publish to a live partition needs no metadata write.
    await unary(env.client, "Publish", { stream: "live", value: Buffer.from("ok") });
  });
});
