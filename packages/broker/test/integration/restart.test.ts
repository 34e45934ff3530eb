import { status as Code } from "@grpc/grpc-js";
import { AckPolicy, APIService, HealthService, StartPosition, StopPosition } from "@liftbridge/api";
import { connect, createClient } from "@liftbridge/grpc";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { codeOf, type Env, startEnv, subscribe, unary } from "../helpers.js";

describe("restart", () => {
  let env: Env;
  beforeEach(async () => {
    env = await startEnv();
  });
  afterEach(async () => {
    await env.close();
  });

  it("recovers every stream, partition state and offset; deleted streams stay deleted", async () => {
    await unary(env.client, "CreateStream", {
      name: "a",
      subject: "a",
      partitions: 2,
      retentionMaxMessages: { value: 50 },
    });
    await unary(env.client, "CreateStream", { name: "gone", subject: "gone" });
    await unary(env.client, "CreateStream", { name: "p", subject: "p" });
    await unary(env.client, "CreateStream", { name: "ro", subject: "ro" });
    for (let i = 0; i < 20; i++) {
      await unary(env.client, "Publish", { stream: "a", partition: i % 2, value: Buffer.from(`v${i}`) });
    }
    await unary(env.client, "Publish", { stream: "ro", value: Buffer.from("r") });
    await unary(env.client, "DeleteStream", { name: "gone" });
    await unary(env.client, "PauseStream", { name: "p" });
    await unary(env.client, "SetStreamReadonly", { name: "ro", readonly: true });
    // Recreate a deleted name: the new stream starts empty.
    await unary(env.client, "CreateStream", { name: "gone", subject: "gone2" });
    await env.restart();
    const md = await unary<{
      streamMetadata: {
        name: string;
        subject: string;
        partitions: Map<number, { newestOffset: number; paused: boolean; readonly: boolean }>;
      }[];
    }>(env.client, "FetchMetadata", {});
    const by = new Map(md.streamMetadata.map((s) => [s.name, s]));
    expect([...by.keys()].sort()).toEqual(["a", "gone", "p", "ro"]);
    expect(by.get("a")!.partitions.get(0)!.newestOffset).toBe(9);
    expect(by.get("a")!.partitions.get(1)!.newestOffset).toBe(9);
    expect(by.get("gone")!.subject).toBe("gone2");
    expect(by.get("gone")!.partitions.get(0)!.newestOffset).toBe(-1);
    expect(by.get("p")!.partitions.get(0)!.paused).toBe(true);
    expect(by.get("ro")!.partitions.get(0)!.readonly).toBe(true);
    expect(env.broker.core.stream("a")!.config).toEqual({ retentionMaxMessages: 50 });
    const s = subscribe(env.client, {
      stream: "a",
      partition: 1,
      startPosition: StartPosition.EARLIEST,
      stopPosition: StopPosition.STOP_LATEST,
    });
    await s.status;
    expect(s.messages.slice(1).map((m) => Buffer.from(m.value as Uint8Array).toString())).toEqual(
      Array.from({ length: 10 }, (_, i) => `v${2 * i + 1}`),
    );
    // Offsets continue; read-only is still enforced.
    const r = await unary<{ ack: { offset: number } }>(env.client, "Publish", {
      stream: "a",
      value: Buffer.from("x"),
    });
    expect(r.ack.offset).toBe(10);
    expect((await codeOf(unary(env.client, "Publish", { stream: "ro", value: Buffer.from("x") }))).code).toBe(
      Code.FAILED_PRECONDITION,
    );
    // A second restart after a metadata snapshot-free history still agrees.
    await env.restart();
    expect(env.broker.core.partition("a", 0)!.log!.newestOffset).toBe(10);
  });

  it("serves the lean @liftbridge/grpc client and the health service", async () => {
    const ch = connect(`http://127.0.0.1:${env.broker.port}`);
    // biome-ignore lint/suspicious/noExplicitAny: the definitions' streaming flags are plain booleans.
    const api = createClient(APIService, ch) as any;
    // biome-ignore lint/suspicious/noExplicitAny: same.
    const health = createClient(HealthService, ch) as any;
    try {
      expect((await health.Check({ service: "proto.API" })).status).toBe(1);
      await api.CreateStream({ name: "lean", subject: "lean" });
      const pub = api.PublishAsync();
      const acks: number[] = [];
      pub.onMessage((r: { ack: { offset: number } }) => acks.push(r.ack.offset));
      for (let i = 0; i < 100; i++)
        pub.send({
          stream: "lean",
          value: Buffer.from(`m${i}`),
          correlationId: String(i),
          ackPolicy: AckPolicy.LEADER,
        });
      pub.end();
      expect(await pub.status).toBeUndefined();
      expect(acks.sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      const sub = api.Subscribe({
        stream: "lean",
        startPosition: StartPosition.EARLIEST,
        stopPosition: StopPosition.STOP_LATEST,
      });
      const got: string[] = [];
      await expect(
        (async () => {
          for await (const m of sub) got.push(Buffer.from(m.value).toString());
        })(),
      ).rejects.toMatchObject({ code: Code.RESOURCE_EXHAUSTED });
      expect(got.slice(1)).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
    } finally {
      await ch.close();
    }
  });
});
