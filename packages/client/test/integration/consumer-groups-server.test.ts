import { writeFile } from "node:fs/promises";
import * as path from "node:path";
import { ActivityStreamEvent } from "@liftbridge/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, type Consumer, type ConsumerOptions, connect } from "../../src/index.js";
import { TestServer, text, waitFor } from "../helpers.js";

/**
 * Consumer groups (spec §6.8) through `createConsumer` against the real server (`apps/server`):
 * join, the server's balanced assignment as each member sees it, member expiry when a client stops
 * polling, leave on close, a server restart in the middle, and liveness: polling keeps its rhythm
 * while partitions are (re)subscribed, so members with many partitions and a short consumer timeout
 * are not expired. Resume from committed offsets: `consumer-groups-resume.test.ts`.
 */

/** Member ids the server expired in `group` (LEAVE_CONSUMER_GROUP events with `expired`). */
async function expiredMembers(client: Client, group: string): Promise<string[]> {
  const out: string[] = [];
  for await (const m of await client.subscribe("__activity", { startAt: "earliest", stopAt: "latest" })) {
    const leave = ActivityStreamEvent.decode(m.value).leaveConsumerGroupOp;
    if (leave?.groupId === group && leave.expired) out.push(leave.consumerId);
  }
  return out;
}

describe("consumer groups against the real server", () => {
  // A realistic short timeout (the server default is 15 s): 3 s.
  const CONSUMER_TIMEOUT_MS = 3000;
  let server: TestServer;
  let client: Client;
  let serverId: string;
  beforeAll(async () => {
    server = await TestServer.create();
    // Restart with a short consumer timeout, so that the expiry test is quick.
    await server.stop();
    await writeFile(
      path.join(server.dir, "liftbridge.conf"),
      `host: 127.0.0.1\ngroups.consumer.timeout: ${CONSUMER_TIMEOUT_MS}ms\n` +
        "cursors.stream.partitions: 2\nactivity.stream.enabled: true\n",
    );
    await server.start();
    client = await connect([server.addr]);
    serverId = client.metadata.brokers[0]!.id;
  });
  afterAll(async () => {
    await client?.close();
    await server?.destroy();
  });

  /** Fast polling, so assignments converge quickly. */
  const member = (c: Client, group: string, consumerId: string, o: ConsumerOptions = {}): Consumer =>
    c.createConsumer(group, {
      consumerId,
      autoCheckpointIntervalMs: 0,
      retryIntervalMs: 100,
      fetchAssignmentsInterval: (t) => t / 10,
      ...o,
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

  it("8 partitions, default polling (0.4 x 3 s): nobody expires through rebalances while messages flow", async () => {
    await client.createStream("live8", "live8", { partitions: 8 });
    const errors: unknown[] = [];
    const seen = new Set<string>();
    const handler = (err: unknown, m: { partition: number; offset: number } | undefined) => {
      if (err !== undefined) errors.push(err);
      else if (m !== undefined) seen.add(`${m.partition}:${m.offset}`);
    };
    // Go's defaults: poll every 0.4 x consumer timeout, 2 s after a failed poll, 5 s checkpoints.
    const defaults = (id: string) =>
      client.createConsumer("live8", { consumerId: id, autoOffset: "earliest" });
    const members = ["a", "b", "c"].map(defaults);
    let published = 0;
    const publishing = (async () => {
      while (published < 400) {
        for (let p = 0; p < 8; p++)
          client.publishAsync("live8", text(`m${published}`), undefined, { partition: p });
        published++;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    // Churn: every join and leave is a rebalance, and every rebalance moves all 8 partitions (each
    // member closes and resubscribes under the new epoch, racing the others' subscriptions).
    for (const k of members) await k.subscribe(["live8"], handler);
    const extra = defaults("d");
    await extra.subscribe(["live8"], handler);
    await waitFor(() => extra.assignments.get("live8")?.length === 2);
    await extra.close();
    const late = defaults("e");
    await late.subscribe(["live8"], handler);
    await publishing;
    // Every message is delivered to the group, and it stays balanced over 4 live members.
    await waitFor(() => seen.size === 8 * 400, 60_000);
    await waitFor(() => [...members, late].every((k) => k.assignments.get("live8")?.length === 2));
    // Two more consumer timeouts of steady state: still nobody expires.
    const epoch = (await groupInfo("live8"))!.epoch;
    const until = Date.now() + 2 * CONSUMER_TIMEOUT_MS;
    await waitFor(async () => {
      expect((await groupInfo("live8"))!.epoch).toBe(epoch);
      return Date.now() > until;
    });
    expect(await expiredMembers(client, "live8")).toEqual([]);
    for (const k of [...members, late]) await k.close();
    // Only the benign race of a rebalance (a subscription under an epoch a newer one replaced).
    for (const e of errors) expect(String(e)).toContain("Consumer is not currently assigned this partition");
  });
});

describe("consumer groups: polling does not wait for a slow reconcile", () => {
  // Without `__cursors` every partition subscription fails slowly: fetchCursor retries its metadata
  // lookup 5 times (~250 ms or more here), so reconciling 8 partitions takes seconds, longer than the
  // consumer timeout minus the poll interval. Polling must not wait for it.
  const CONSUMER_TIMEOUT_MS = 3000;
  let server: TestServer;
  let client: Client;
  beforeAll(async () => {
    server = await TestServer.create([], `groups.consumer.timeout: ${CONSUMER_TIMEOUT_MS}ms\n`);
    client = await connect([server.addr]);
  });
  afterAll(async () => {
    await client?.close();
    await server?.destroy();
  });

  it("a member whose 8 partitions cannot be subscribed keeps polling and stays in the group", async () => {
    await client.createStream("slow8", "slow8", { partitions: 8 });
    const errors: unknown[] = [];
    const k = client.createConsumer("slow8", { consumerId: "a", autoCheckpointIntervalMs: 0 });
    await k.subscribe(["slow8"], (err) => {
      if (err !== undefined) errors.push(err);
    });
    const info = async () =>
      (await client.fetchMetadata({ consumerGroups: ["slow8"] })).getConsumerGroup("slow8");
    const joined = await info();
    expect(joined?.epoch).toBe(0);
    // Reconciles keep failing (reported to the handler), over three consumer timeouts.
    const until = Date.now() + 3 * CONSUMER_TIMEOUT_MS;
    await waitFor(async () => {
      expect(await info()).toEqual(joined); // an expiry would delete the group (its only member)
      return Date.now() > until;
    });
    expect(errors.length).toBeGreaterThanOrEqual(8);
    expect(String(errors[0])).toContain("__cursors");
    expect(k.assignments.get("slow8")).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await k.close();
    expect(await info()).toBeUndefined();
  });
});
