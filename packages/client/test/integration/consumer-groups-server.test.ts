import { writeFile } from "node:fs/promises";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, type Consumer, connect } from "../../src/index.js";
import { TestServer, waitFor } from "../helpers.js";

/**
 * Consumer groups (spec §6.8) through `createConsumer` against the real server (`apps/server`):
 * join, the server's balanced assignment as each member sees it, member expiry when a client stops
 * polling, leave on close, and a server restart in the middle. Message delivery through a group also
 * needs cursors (the consumer starts each partition at its `__group:<id>` cursor + 1): see
 * `consumer-groups-resume.test.ts`.
 */
describe("consumer groups against the real server", () => {
  // Short enough for a quick expiry test, long enough for the client's assignment loop, which also
  // (re)subscribes each assigned partition between two polls: on this server, without `__cursors`,
  // each attempt fails after ~250 ms of metadata retries, so 8 partitions delay a poll by ~2 s.
  const CONSUMER_TIMEOUT_MS = 8000;
  let server: TestServer;
  let client: Client;
  let serverId: string;
  beforeAll(async () => {
    server = await TestServer.create();
    // Restart with a short consumer timeout, so that the expiry test is quick.
    await server.stop();
    await writeFile(
      path.join(server.dir, "liftbridge.conf"),
      `host: 127.0.0.1\ngroups.consumer.timeout: ${CONSUMER_TIMEOUT_MS}ms\n`,
    );
    await server.start();
    client = await connect([server.addr]);
    serverId = client.metadata.brokers[0]!.id;
  });
  afterAll(async () => {
    await client?.close();
    await server?.destroy();
  });

  /** Fast polling; errors (no cursors stream on this server) are ignored by these tests. */
  const member = (c: Client, group: string, consumerId: string): Consumer =>
    c.createConsumer(group, {
      consumerId,
      autoCheckpointIntervalMs: 0,
      retryIntervalMs: 100,
      fetchAssignmentsInterval: (t) => t / 10,
    });
  const ignore = () => {};
  const flat = (k: Consumer) => [...k.assignments].map(([s, ps]) => `${s}:${ps.join(",")}`);
  const groupInfo = async (g: string) =>
    (await client.fetchMetadata({ consumerGroups: [g] })).getConsumerGroup(g);

  it("3 members over 2 streams x 4 partitions converge on the balanced assignment", async () => {
    await client.createStream("gs1", "gs1", { partitions: 4 });
    await client.createStream("gs2", "gs2", { partitions: 4 });
    const [a, b, c] = ["a", "b", "c"].map((id) => member(client, "bal", id)) as [
      Consumer,
      Consumer,
      Consumer,
    ];
    await a.subscribe(["gs1", "gs2"], ignore);
    await waitFor(() => flat(a).join(" ") === "gs1:0,1,2,3 gs2:0,1,2,3");
    expect(await groupInfo("bal")).toEqual({ id: "bal", coordinator: serverId, epoch: 0 });
    await b.subscribe(["gs1", "gs2"], ignore);
    await c.subscribe(["gs1", "gs2"], ignore);
    // Every member follows the new epoch and sees its share (spec §6.8 rule, as the server computes it).
    await waitFor(
      () =>
        flat(a).join(" ") === "gs2:0,1,2" &&
        flat(b).join(" ") === "gs1:0,2 gs2:3" &&
        flat(c).join(" ") === "gs1:1,3",
    );
    const info = await groupInfo("bal");
    expect(info?.coordinator).toBe(serverId);
    expect(info?.epoch).toBeGreaterThan(0);
    // Leaving on close: the rest take over, and the last close deletes the group.
    await b.close();
    await waitFor(() => flat(a).join(" ") === "gs1:3 gs2:0,1,2" && flat(c).join(" ") === "gs1:0,1,2 gs2:3");
    await a.close();
    await c.close();
    expect(await groupInfo("bal")).toBeUndefined();
  });

  it("a member whose client stops polling expires after groups.consumer.timeout; its partitions move", async () => {
    await client.createStream("exp", "exp", { partitions: 4 });
    const other = await connect([server.addr]);
    const a = member(client, "exp", "a");
    const b = member(other, "exp", "b");
    await a.subscribe(["exp"], ignore);
    await b.subscribe(["exp"], ignore);
    await waitFor(() => flat(a).join() === "exp:0,2" && flat(b).join() === "exp:1,3");
    const before = (await groupInfo("exp"))!.epoch;
    // Closing the client stops b's loops without a LeaveConsumerGroup: b just falls silent.
    const silentAt = Date.now();
    await other.close();
    await waitFor(() => flat(a).join() === "exp:0,1,2,3", 4 * CONSUMER_TIMEOUT_MS + 10_000);
    // Not right away: b's last poll was at most one poll interval plus one reconcile before silentAt.
    expect(Date.now() - silentAt).toBeGreaterThanOrEqual(CONSUMER_TIMEOUT_MS / 2);
    expect((await groupInfo("exp"))!.epoch).toBeGreaterThan(before);
    await a.close();
  });

  it("a server restart in the middle keeps the group: members keep their assignment and epoch", async () => {
    await client.createStream("rs", "rs", { partitions: 3 });
    const a = member(client, "rs", "a");
    const b = member(client, "rs", "b");
    await a.subscribe(["rs"], ignore);
    await b.subscribe(["rs"], ignore);
    await waitFor(() => flat(a).join() === "rs:0,2" && flat(b).join() === "rs:1");
    const before = await groupInfo("rs");
    await server.stop();
    await server.start();
    // The members reconnect and poll the recovered coordinator; nothing was rebalanced.
    await waitFor(async () => (await groupInfo("rs").catch(() => undefined)) !== undefined);
    expect(await groupInfo("rs")).toEqual(before);
    // Polling resumed in time: nobody expires over a consumer timeout (checked all along).
    const until = Date.now() + CONSUMER_TIMEOUT_MS + 2000;
    await waitFor(async () => {
      expect(await groupInfo("rs")).toEqual(before);
      return Date.now() > until;
    });
    expect(flat(a).join()).toBe("rs:0,2");
    expect(flat(b).join()).toBe("rs:1");
    await a.close();
    await b.close();
    expect(await groupInfo("rs")).toBeUndefined();
  });
});
