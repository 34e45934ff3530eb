import { AckPolicy, newMessage, StartPosition, unmarshalAck } from "@liftbridge/api";
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

  it("keeps several appends in flight under a backlog, in order, acked after each append", async () => {
    env = await startEnv({ batchMaxMessages: 16 });
    await unary(env.client, "CreateStream", { name: "p", subject: "p" });
    const n = 3000;
    const inbox = env.natsClient.subscribe("acks.p");
    const acked: number[] = [];
    const got = (async () => {
      for await (const m of inbox) {
        acked.push(unmarshalAck(m.data).offset);
        if (acked.length === n / 2) break;
      }
    })();
    for (let i = 0; i < n; i++) {
      // Half of them enveloped with an ack inbox, to check that acks still come after their append.
      if (i % 2 === 0) env.natsClient.publish("p", Buffer.from(`m${i}`));
      else
        env.natsClient.publish(
          "p",
          newMessage(Buffer.from(`m${i}`), { ackInbox: "acks.p", ackPolicy: AckPolicy.LEADER }),
        );
    }
    await env.natsClient.flush();
    const sub = subscribe(env.client, { stream: "p", startPosition: StartPosition.EARLIEST });
    await waitFor(() => sub.messages.length >= n + 1, 30_000, "all messages");
    sub.call.cancel();
    await got;
    const msgs = sub.messages.slice(1);
    expect(msgs.map((m) => Buffer.from(m.value as Uint8Array).toString())).toEqual(
      Array.from({ length: n }, (_, i) => `m${i}`),
    );
    expect(msgs.map((m) => Number(m.offset))).toEqual(Array.from({ length: n }, (_, i) => i));
    // Acks carry the stored offsets, in order.
    expect(acked).toEqual(Array.from({ length: n / 2 }, (_, i) => 2 * i + 1));
    const part = env.broker.core.partitions.get("p")![0]!;
    expect(part.peakAppendsInFlight).toBeGreaterThan(1);
    expect(part.peakAppendsInFlight).toBeLessThanOrEqual(4);
  });

  it("keeps one append in flight on a stream with optimistic concurrency", async () => {
    env = await startEnv({ batchMaxMessages: 4 });
    await unary(env.client, "CreateStream", {
      name: "o",
      subject: "o",
      optimisticConcurrencyControl: { value: true },
    });
    const n = 400;
    // Each message expects its exact offset: all are stored only if every batch checks against the
    // log end that the previous batch left.
    for (let i = 0; i < n; i++)
      env.natsClient.publish("o", newMessage(Buffer.from(`m${i}`), { expectedOffset: i }));
    await env.natsClient.flush();
    const part = env.broker.core.partitions.get("o")![0]!;
    await waitFor(() => (part.log?.newestOffset ?? -1) >= n - 1, 30_000, "all stored");
    expect(part.peakAppendsInFlight).toBe(1);
  });
});
