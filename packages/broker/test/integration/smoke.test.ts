import { AckPolicy, StartPosition } from "@liftbridge/api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Env, startEnv, subscribe, unary, waitFor } from "../helpers.js";

describe("smoke", () => {
  let env: Env;
  beforeEach(async () => {
    env = await startEnv();
  });
  afterEach(async () => {
    await env.close();
  });

  it("creates a stream, publishes, subscribes from the start", async () => {
    await unary(env.client, "CreateStream", { name: "foo", subject: "foo" });
    const res = await unary<{ ack: { offset: string } }>(env.client, "Publish", {
      stream: "foo",
      value: Buffer.from("hello"),
      ackPolicy: AckPolicy.LEADER,
    });
    expect(Number(res.ack.offset)).toBe(0);
    env.natsClient.publish("foo", Buffer.from("plain"));
    const sub = subscribe(env.client, { stream: "foo", startPosition: StartPosition.EARLIEST });
    await waitFor(() => sub.messages.length >= 3);
    expect(Buffer.from(sub.messages[1]!.value as Uint8Array).toString()).toBe("hello");
    expect(Buffer.from(sub.messages[2]!.value as Uint8Array).toString()).toBe("plain");
    expect(sub.messages[2]!.subject).toBe("foo");
    sub.call.cancel();
  });
});
