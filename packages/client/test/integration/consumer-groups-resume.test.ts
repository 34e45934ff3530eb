import { writeFile } from "node:fs/promises";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, type Consumer, connect, type Message } from "../../src/index.js";
import { TestServer, text, waitFor } from "../helpers.js";

/**
 * Issue #9 acceptance 2, last point: committed offsets resume where the group left off after all
 * members restart. The group commits through the client's auto-checkpoint (SetCursor on the
 * `__cursors` stream under `__group:<groupId>`), so this needs the server's cursors, so the server enables them.
 */
describe("consumer groups: committed offsets resume after all members restart (needs cursors)", () => {
  let server: TestServer;
  let client: Client;
  beforeAll(async () => {
    server = await TestServer.create();
    await server.stop();
    await writeFile(
      path.join(server.dir, "liftbridge.conf"),
      "host: 127.0.0.1\ncursors.stream.partitions: 2\n",
    );
    await server.start();
    client = await connect([server.addr]);
  });
  afterAll(async () => {
    await client?.close();
    await server?.destroy();
  });

  const member = (c: Client, consumerId: string): Consumer =>
    c.createConsumer("resume", {
      consumerId,
      autoOffset: "earliest",
      autoCheckpointIntervalMs: 100,
      retryIntervalMs: 100,
      fetchAssignmentsInterval: (t) => t / 20,
    });
  const publishRound = async (from: number, count: number) => {
    for (let i = from; i < from + count; i++)
      for (const partition of [0, 1]) await client.publish("res", text(`m${i}`), { partition });
  };

  it("members commit, all leave, the server restarts, new members continue after the last commit", async () => {
    await client.createStream("res", "res", { partitions: 2 });
    await publishRound(0, 10);
    // At-least-once: a rebalance may redeliver what was not checkpointed yet, so count distinct offsets.
    const seen = new Set<string>();
    const errors: unknown[] = [];
    const handler = (err: unknown, m: Message | undefined) => {
      if (err !== undefined) errors.push(err);
      else seen.add(`${m!.partition}:${m!.offset}`);
    };
    const first = [member(client, "a"), member(client, "b")];
    for (const k of first) await k.subscribe(["res"], handler);
    await waitFor(() => seen.size === 20);
    // Auto-checkpoint committed the last offset of each partition.
    await waitFor(async () => {
      const offsets = await Promise.all([0, 1].map((p) => client.fetchCursor("__group:resume", "res", p)));
      return offsets.every((o) => o === 9);
    });
    for (const k of first) await k.close();
    expect(
      (await client.fetchMetadata({ consumerGroups: ["resume"] })).getConsumerGroup("resume"),
    ).toBeUndefined();

    // While the group is gone: more messages, and a server restart.
    await publishRound(10, 5);
    await server.stop();
    await server.start();
    seen.clear();
    const c2 = await connect([server.addr]);
    try {
      const second = [member(c2, "c"), member(c2, "d")];
      for (const k of second) await k.subscribe(["res"], handler);
      await waitFor(() => seen.size >= 10);
      // Exactly the messages published after the commit: nothing before it is redelivered, although
      // autoOffset is "earliest".
      expect([...seen].sort()).toEqual(
        [0, 1].flatMap((p) => [10, 11, 12, 13, 14].map((o) => `${p}:${o}`)).sort(),
      );
      for (const k of second) await k.close();
    } finally {
      await c2.close();
    }
    // The only errors allowed are the protocol's benign race: a member still subscribing under the
    // epoch it fetched while a newer member already holds the partition (spec §5 Subscribe row).
    for (const e of errors) expect(String(e)).toContain("Consumer is not currently assigned this partition");
  });
});
