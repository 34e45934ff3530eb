import { writeFile } from "node:fs/promises";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect } from "../../src/index.js";
import { str, TestServer, text, waitFor } from "../helpers.js";

// Auto-pause and per-stream retention / compaction through the client against the real server
// process (broker issue #9): `streams.*` server defaults from the config file, per-stream overrides
// from createStream options (ms units), state across a server restart.

describe("client: auto-pause, retention and compaction settings", () => {
  let server: TestServer;
  let client: Client;
  beforeAll(async () => {
    server = await TestServer.create();
    await server.stop("SIGTERM");
    await writeFile(
      path.join(server.dir, "liftbridge.conf"),
      [
        "host: 127.0.0.1",
        'streams.auto.pause.time: "1500ms"',
        "streams.retention.max.messages: 5",
        'streams.cleaner.interval: "100ms"',
        "streams.segment.max.bytes: 1",
        "",
      ].join("\n"),
    );
    await server.start();
    client = await connect([server.addr], { ackWaitTimeMs: 10_000 });
  });
  afterAll(async () => {
    await client?.close();
    await server?.destroy();
  });

  const paused = async (stream: string) => (await client.fetchPartitionMetadata(stream, 0)).paused;

  async function offsets(stream: string): Promise<number[]> {
    const out: number[] = [];
    for await (const m of await client.subscribe(stream, { startAt: "earliest", stopAt: "latest" })) {
      out.push(m.offset);
    }
    return out;
  }

  async function publishN(stream: string, from: number, to: number, key?: (i: number) => string) {
    for (let i = from; i < to; i++) {
      const ack = await client.publish(stream, text(`v${i}`), key ? { key: text(key(i)) } : {});
      expect(ack?.offset).toBe(i);
    }
  }

  it("server auto.pause.time pauses an idle stream; publish resumes it; autoPauseTimeMs 0 opts out", async () => {
    await client.createStream("ap", "ap");
    await client.createStream("ap-off", "ap-off", { autoPauseTimeMs: 0 });
    await waitFor(() => paused("ap"));
    expect(await paused("ap-off")).toBe(false);
    const ack = await client.publish("ap", text("wake"));
    expect(ack?.offset).toBe(0); // acked, so resumed (a paused partition stores nothing)
    // Subscribing with resume after the next auto-pause reads it back.
    await waitFor(() => paused("ap"));
    const sub = await client.subscribe("ap", { startAt: "earliest", resume: true });
    for await (const m of sub) {
      expect(str(m.value)).toBe("wake");
      break;
    }
  });

  it("server retention default vs per-stream overrides; overrides and data survive a restart", async () => {
    await client.createStream("dflt", "dflt", { autoPauseTimeMs: 0 });
    await client.createStream("ten", "ten", { autoPauseTimeMs: 0, retentionMaxMessages: 10 });
    await publishN("dflt", 0, 20);
    await publishN("ten", 0, 20);
    await waitFor(async () => (await offsets("dflt"))[0] === 15);
    await waitFor(async () => (await offsets("ten"))[0] === 10);
    await server.stop("SIGTERM");
    await server.start();
    expect(await offsets("ten")).toEqual(Array.from({ length: 10 }, (_, i) => 10 + i));
    await publishN("ten", 20, 35);
    await waitFor(async () => (await offsets("ten"))[0] === 25);
    expect(await paused("ten")).toBe(false);
  });

  it("compactEnabled keeps the latest value per key; retentionMaxMessages 0 overrides the server's 5", async () => {
    const keys = ["foo", "bar", "foo", "foo", "bar", "baz", "baz", "qux", "foo", "baz"];
    await client.createStream("kv", "kv", {
      autoPauseTimeMs: 0,
      retentionMaxMessages: 0,
      compactEnabled: true,
    });
    await publishN("kv", 0, keys.length, (i) => keys[i]!);
    await waitFor(async () => (await offsets("kv")).join() === "4,7,8,9");
  });

  it("a negative override is rejected as invalid_argument", async () => {
    await expect(client.createStream("neg", "neg", { retentionMaxMessages: -1 })).rejects.toMatchObject({
      code: "invalid_argument",
    });
    await expect(client.createStream("neg", "neg", { autoPauseTimeMs: -5 })).rejects.toMatchObject({
      code: "invalid_argument",
    });
  });
});
