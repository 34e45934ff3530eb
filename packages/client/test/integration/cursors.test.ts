import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, crc32, isLiftbridgeError, LiftbridgeErrorCode } from "../../src/index.js";
import { str, TestServer, waitFor } from "../helpers.js";

const PARTITIONS = 3;

describe("setCursor / fetchCursor against the real server (cursors.stream.partitions: 3)", () => {
  let server: TestServer;
  let client: Client;
  beforeAll(async () => {
    server = await TestServer.create(
      [],
      `cursors.stream.partitions: ${PARTITIONS}\ncursors.stream.cache.size: 4\n`,
    );
    client = await connect([server.addr], { ackWaitTimeMs: 5000 });
  });
  afterAll(async () => {
    await client?.close();
    await server?.destroy();
  });

  it("the server created __cursors with the configured partitions", async () => {
    const md = await client.fetchMetadata({ streams: ["__cursors"] });
    expect(md.partitionCountForStream("__cursors")).toBe(PARTITIONS);
    expect(md.getStream("__cursors")?.subject).toBe("liftbridge-default.cursors");
  });

  it("an unknown cursor is -1; set / fetch round-trips; cursors are per (id, stream, partition)", async () => {
    expect(await client.fetchCursor("reader", "orders", 0)).toBe(-1);
    await client.setCursor("reader", "orders", 0, 41);
    expect(await client.fetchCursor("reader", "orders", 0)).toBe(41);
    await client.setCursor("reader", "orders", 0, 42);
    expect(await client.fetchCursor("reader", "orders", 0)).toBe(42);
    expect(await client.fetchCursor("reader", "orders", 1)).toBe(-1);
    expect(await client.fetchCursor("other", "orders", 0)).toBe(-1);
    expect(await client.fetchCursor("reader", "payments", 0)).toBe(-1);
  });

  it("the server stores each cursor in the __cursors partition the client routed it to (crc32 mod n)", async () => {
    const before = await newestOffsets(client);
    const want = [0, 0, 0];
    for (let i = 0; i < 60; i++) {
      const id = `route-${i}`;
      want[crc32(new TextEncoder().encode(`${id},events,${i % 4}`)) % PARTITIONS]! += 1;
      await client.setCursor(id, "events", i % 4, 1000 + i);
    }
    const after = await newestOffsets(client);
    expect(after.map((n, p) => n - before[p]!)).toEqual(want);
    expect(want.every((n) => n > 0)).toBe(true);
    // A cache of 4: most of these are read back from the log.
    for (let i = 0; i < 60; i++)
      expect(await client.fetchCursor(`route-${i}`, "events", i % 4)).toBe(1000 + i);
  });

  it("the stored record is keyed '<id>,<stream>,<partition>' (visible to a subscriber of __cursors)", async () => {
    await client.setCursor("visible", "s", 7, 3);
    const p = crc32(new TextEncoder().encode("visible,s,7")) % PARTITIONS;
    const sub = await client.subscribe("__cursors", { partition: p, startAt: "earliest" });
    const keys: string[] = [];
    for await (const m of sub) {
      keys.push(str(m.key));
      if (keys.includes("visible,s,7")) break;
    }
    await sub.close();
    expect(keys).toContain("visible,s,7");
  });

  it("argument errors: the server answers InvalidArgument, offsets below -1 are refused by the client", async () => {
    const e1 = await client.setCursor("", "s", 0, 1).catch((e: unknown) => e);
    expect(isLiftbridgeError(e1, LiftbridgeErrorCode.InvalidArgument)).toBe(true);
    expect((e1 as Error).message).toContain("No cursorId provided");
    const e2 = await client.fetchCursor("c", "", 0).catch((e: unknown) => e);
    expect(isLiftbridgeError(e2, LiftbridgeErrorCode.InvalidArgument)).toBe(true);
    expect((e2 as Error).message).toContain("No stream provided");
    await expect(client.setCursor("c", "s", 0, -2)).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("cursors survive a server crash and restart (SIGKILL); the same client reconnects", async () => {
    for (let i = 0; i < 10; i++) await client.setCursor(`durable-${i}`, "s", 0, i * 3);
    await server.stop("SIGKILL");
    await server.start();
    // The first calls may still meet the old, dead connection: the leader RPC retries; poll until it answers.
    let first = -2;
    await waitFor(async () => {
      try {
        first = await client.fetchCursor("durable-0", "s", 0);
        return true;
      } catch {
        return false;
      }
    }, 30_000);
    expect(first).toBe(0);
    for (let i = 0; i < 10; i++) expect(await client.fetchCursor(`durable-${i}`, "s", 0)).toBe(i * 3);
    await client.setCursor("durable-1", "s", 0, 99);
    expect(await client.fetchCursor("durable-1", "s", 0)).toBe(99);
    // A clean stop (SIGTERM) keeps them too.
    await server.stop("SIGTERM");
    await server.start();
    await waitFor(async () => {
      try {
        return (await client.fetchCursor("durable-1", "s", 0)) === 99;
      } catch {
        return false;
      }
    }, 30_000);
    expect(await client.fetchCursor("durable-9", "s", 0)).toBe(27);
  });
});

async function newestOffsets(client: Client): Promise<number[]> {
  const out: number[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    out.push((await client.fetchPartitionMetadata("__cursors", p)).newestOffset);
  }
  return out;
}
