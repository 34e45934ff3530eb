import { StartPosition } from "@liftbridge/api";
import { afterEach, describe, expect, it } from "vitest";
import { type Env, startEnv, subscribe, unary, waitFor } from "../helpers.js";

describe("ingest batches", () => {
  let env: Env | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  it("splits a backlog into batches of batchMaxMessages, keeping order and losing nothing", async () => {
    env = await startEnv({ batchMaxMessages: 7 });
    await unary(env.client, "CreateStream", { name: "b", subject: "b" });
    const n = 500;
    // Plain and reply-carrying publishes interleaved: the shared and the per-message header paths.
    for (let i = 0; i < n; i++) {
      if (i % 3 === 0) env.natsClient.publish("b", Buffer.from(`m${i}`), { reply: `r.${i}` });
      else env.natsClient.publish("b", Buffer.from(`m${i}`));
    }
    await env.natsClient.flush();
    const sub = subscribe(env.client, { stream: "b", startPosition: StartPosition.EARLIEST });
    await waitFor(() => sub.messages.length >= n + 1, 30_000, "all messages");
    sub.call.cancel();
    const got = sub.messages.slice(1);
    expect(got.map((m) => Buffer.from(m.value as Uint8Array).toString())).toEqual(
      Array.from({ length: n }, (_, i) => `m${i}`),
    );
    expect(got.map((m) => Number(m.offset))).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(got.every((m) => m.subject === "b")).toBe(true);
    expect(got.map((m) => m.replySubject)).toEqual(
      Array.from({ length: n }, (_, i) => (i % 3 === 0 ? `r.${i}` : "")),
    );
  });
});
