import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, isLiftbridgeError, LiftbridgeErrorCode } from "../../src/index.js";
import { str, TestServer, text } from "../helpers.js";

describe("client against the real server: streams, metadata, publish", () => {
  let server: TestServer;
  let client: Client;
  beforeAll(async () => {
    server = await TestServer.create();
    client = await connect([server.addr], { ackWaitTimeMs: 5000 });
  });
  afterAll(async () => {
    await client?.close();
    await server?.destroy();
  });

  it("connect fetches metadata: the broker is advertised at the dialed address", () => {
    expect(client.metadata.brokers.map((b) => b.addr)).toEqual([server.addr]);
    expect(client.metadata.addrs()).toEqual([server.addr]);
  });

  it("createStream with every option; AlreadyExists -> stream_exists", async () => {
    await client.createStream("all-opts", "all-opts", {
      group: "g",
      replicationFactor: 1,
      partitions: 2,
      retentionMaxBytes: 1 << 20,
      retentionMaxMessages: 1000,
      retentionMaxAgeMs: 3_600_000,
      cleanerIntervalMs: 60_000,
      segmentMaxBytes: 1 << 20,
      segmentMaxAgeMs: 3_600_000,
      compactMaxGoroutines: 2,
      compactEnabled: false,
      autoPauseTimeMs: 0,
      autoPauseDisableIfSubscribers: false,
      minIsr: 1,
      optimisticConcurrencyControl: false,
      encryption: false,
      timeoutMs: 10_000,
    });
    const md = await client.fetchMetadata({ streams: ["all-opts"] });
    const s = md.getStream("all-opts");
    expect(s?.subject).toBe("all-opts");
    expect(md.partitionCountForStream("all-opts")).toBe(2);
    expect(s?.getPartition(1)?.leader?.addr).toBe(server.addr);
    const err = await client.createStream("all-opts", "all-opts").catch((e: unknown) => e);
    expect(isLiftbridgeError(err, LiftbridgeErrorCode.StreamExists)).toBe(true);
    await expect(client.createStream("x", "neg", { partitions: -1 })).rejects.toMatchObject({
      code: "invalid_argument",
    });
    await expect(client.createStream("x", "", {})).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("deleteStream; NotFound -> no_such_stream", async () => {
    await client.createStream("del", "del");
    await client.deleteStream("del");
    await expect(client.deleteStream("del")).rejects.toMatchObject({ code: "no_such_stream" });
  });

  it("pauseStream and setStreamReadonly (with partitions); NotFound -> no_such_partition", async () => {
    await client.createStream("pause", "pause", { partitions: 2 });
    await client.pauseStream("pause", { partitions: [1], resumeAll: true });
    let p = await client.fetchPartitionMetadata("pause", 1);
    expect(p.paused).toBe(true);
    await expect(client.pauseStream("nope")).rejects.toMatchObject({ code: "no_such_partition" });
    await client.setStreamReadonly("pause", { partitions: [0] });
    const md = await client.fetchMetadata({ streams: ["pause"] });
    expect(md.getStream("pause")?.getPartition(0)?.readonly).toBe(true);
    await client.setStreamReadonly("pause", { partitions: [0], readonly: false });
    const md2 = await client.fetchMetadata({ streams: ["pause"] });
    expect(md2.getStream("pause")?.getPartition(0)?.readonly).toBe(false);
    await expect(client.setStreamReadonly("nope")).rejects.toMatchObject({ code: "no_such_partition" });
    // A publish resumes the paused partition.
    await client.publish("pause", text("wake"), { partition: 1 });
    p = await client.fetchPartitionMetadata("pause", 1);
    expect(p.paused).toBe(false);
    expect(p.newestOffset).toBe(0);
  });

  it("fetchMetadata: unknown streams are absent; fetchPartitionMetadata on unknown partition", async () => {
    const md = await client.fetchMetadata({ streams: ["missing"] });
    expect(md.getStream("missing")).toBeUndefined();
    expect(md.partitionCountForStream("missing")).toBe(0);
    await expect(client.fetchPartitionMetadata("missing", 0)).rejects.toMatchObject({ code: "no_leader" });
  });

  it("publish with every ack policy, key, headers, correlation id, explicit partition", async () => {
    await client.createStream("pub", "pub", { partitions: 3 });
    const ack = await client.publish("pub", text("v1"), {
      key: text("k"),
      headers: { h: text("x") },
      correlationId: "my-id",
      partition: 2,
    });
    expect(ack).toMatchObject({ stream: "pub", offset: 0, correlationId: "my-id", partitionSubject: "pub" });
    expect(ack?.msgSubject).toBe("pub.2");
    const all = await client.publish("pub", text("v2"), { ackPolicy: "all", partition: 2 });
    expect(all?.offset).toBe(1);
    expect(await client.publish("pub", text("v3"), { ackPolicy: "none", partition: 2 })).toBeUndefined();
    const sub = await client.subscribe("pub", { partition: 2, startAt: "earliest", stopAt: { offset: 2 } });
    const got: string[] = [];
    for await (const m of sub) {
      got.push(str(m.value));
      if (m.offset === 0) {
        expect(str(m.key)).toBe("k");
        expect(str(m.headers.get("h")!)).toBe("x");
        expect(str(m.headers.get("subject")!)).toBe("pub.2");
      }
    }
    expect(got).toEqual(["v1", "v2", "v3"]);
    expect(await sub.closed).toBeUndefined();
  });

  it("partitioners: key (crc32 IEEE mod n, as Go), round robin, custom", async () => {
    await client.createStream("parts", "parts", { partitions: 4 });
    // crc32("foo") = 0x8c736521 = 2356372769; mod 4 = 1 (Go: crc32.ChecksumIEEE).
    const a = await client.publish("parts", text("x"), { key: text("foo"), partitioner: "key" });
    expect(a?.msgSubject).toBe("parts.1");
    const subjects: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await client.publish("parts", text("rr"), { partitioner: "roundRobin" });
      subjects.push(r?.msgSubject ?? "");
    }
    expect(subjects).toEqual(["parts", "parts.1", "parts.2", "parts.3"]);
    const c = await client.publish("parts", text("c"), {
      partitioner: (_stream, _key, _value, md) => md.partitionCountForStream("parts") - 1,
    });
    expect(c?.msgSubject).toBe("parts.3");
    await expect(client.publish("unknown-stream", text("x"), { partitioner: "key" })).rejects.toMatchObject({
      code: "no_such_stream",
    });
  });

  it("publishAsync: acks correlated by id with a window; errors per message", async () => {
    await client.createStream("async", "async");
    const acks: number[] = [];
    let errors = 0;
    await new Promise<void>((resolve) => {
      let left = 500;
      for (let i = 0; i < 500; i++) {
        client.publishAsync("async", text(`m${i}`), (err, ack) => {
          if (err !== undefined) errors++;
          else acks.push(ack!.offset);
          if (--left === 0) resolve();
        });
      }
    });
    expect(errors).toBe(0);
    expect(acks.sort((x, y) => x - y)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    // Per-message error: unknown partition -> no_such_partition (PublishAsyncError NOT_FOUND).
    const err = await client.publish("async", text("x"), { partition: 9 }).catch((e: unknown) => e);
    expect(isLiftbridgeError(err, LiftbridgeErrorCode.NoSuchPartition)).toBe(true);
    // Read-only partition -> readonly_partition.
    await client.setStreamReadonly("async");
    await expect(client.publish("async", text("x"))).rejects.toMatchObject({ code: "readonly_partition" });
  });

  it("expectedOffset with optimistic concurrency control: default -1 passes, wrong offset fails", async () => {
    await client.createStream("occ", "occ", { optimisticConcurrencyControl: true });
    expect((await client.publish("occ", text("a")))?.offset).toBe(0);
    expect((await client.publish("occ", text("b"), { expectedOffset: 1 }))?.offset).toBe(1);
    await expect(client.publish("occ", text("c"), { expectedOffset: 5 })).rejects.toMatchObject({
      code: "incorrect_offset",
    });
  });

  it("publishToSubject: returns the ack; ack timeout on a subject no stream listens to", async () => {
    await client.createStream("subj", "subj");
    const ack = await client.publishToSubject("subj", text("hello"), { key: text("k"), correlationId: "c1" });
    expect(ack).toMatchObject({ stream: "subj", offset: 0, correlationId: "c1" });
    await expect(
      client.publishToSubject("nobody.listens", text("x"), { timeoutMs: 300 }),
    ).rejects.toMatchObject({
      code: "ack_timeout",
    });
    expect(await client.publishToSubject("subj", text("x"), { ackPolicy: "none" })).toBeUndefined();
  });

  it("cursors disabled (no cursors.stream.partitions: no __cursors) -> no_such_stream; a consumer-group join/leave", async () => {
    const md = await client.fetchMetadata();
    expect(md.getStream("__cursors")).toBeUndefined();
    await expect(client.setCursor("c", "pub", 0, 1)).rejects.toMatchObject({ code: "no_such_stream" });
    await expect(client.fetchCursor("c", "pub", 0)).rejects.toMatchObject({ code: "no_such_stream" });
    const consumer = client.createConsumer("g", { autoCheckpointIntervalMs: 0 });
    await consumer.subscribe(["pub"], () => {});
    expect((await client.fetchMetadata({ consumerGroups: ["g"] })).getConsumerGroup("g")?.epoch).toBe(0);
    await consumer.close();
    expect((await client.fetchMetadata({ consumerGroups: ["g"] })).getConsumerGroup("g")).toBeUndefined();
  });

  it("per-call abort signal and timeout", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(client.fetchMetadata({ signal: ac.signal })).rejects.toMatchObject({ code: "canceled" });
    await expect(client.publish("subj", text("x"), { signal: ac.signal })).rejects.toMatchObject({
      code: "canceled",
    });
  });
});
