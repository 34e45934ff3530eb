import { StartPosition } from "@liftbridge/api";
import { connect as grpcConnect, isGrpcError, Status } from "@liftbridge/grpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApi } from "../../src/api.js";
import { type Client, connect, type LiftbridgeError } from "../../src/index.js";
import { str, TestServer, text, waitFor } from "../helpers.js";

/** Open TCP sockets of this process (each test file runs in its own process). */
const tcpHandles = (): number => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;

/**
 * `close()` is prompt and releases every connection, also after a partition was paused and resumed
 * while a subscription lagged behind (its HTTP/2 stream paused by backpressure when the server ended
 * it); and a server killed mid-stream surfaces as UNAVAILABLE, so subscriptions resubscribe.
 */
describe("close() and connection loss against the real server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.create();
  });
  afterAll(async () => {
    await server?.destroy();
  });

  /**
   * A partition with `n` messages of 1 KiB. 600: more than the transport buffers before it pauses the
   * HTTP/2 stream (256 messages), less than the stream window (1 MiB), so the server can send them all,
   * and end the call, while the client holds them unread.
   */
  const fill = async (client: Client, stream: string, n: number): Promise<void> => {
    await client.createStream(stream, stream);
    const value = text("x".repeat(1024));
    await new Promise<void>((resolve, reject) => {
      let acked = 0;
      for (let i = 0; i < n; i++)
        client.publishAsync(stream, value, (err) => {
          if (err !== undefined) reject(err);
          else if (++acked === n) resolve();
        });
    });
  };

  it("a lagging subscription gets every message sent before the partition was paused, then partition_paused", async () => {
    const client = await connect(server.addr);
    try {
      await fill(client, "lag", 600);
      const sub = await client.subscribe("lag", { startAt: "earliest" });
      const it = sub[Symbol.asyncIterator]();
      expect((await it.next()).value?.offset).toBe(0);
      // Paused while the rest sits unread in the client: the server ends the call behind those messages.
      await client.pauseStream("lag");
      let next = 1;
      const err = await (async () => {
        for (;;) {
          const r = await it.next();
          if (r.done) return undefined;
          expect(r.value.offset).toBe(next++);
        }
      })().catch((e: LiftbridgeError) => e);
      expect(err?.code).toBe("partition_paused");
      // Every message was delivered before the end (none dropped, no truncated frame).
      expect(next).toBe(600);
      expect((await sub.closed)?.code).toBe("partition_paused");
    } finally {
      await client.close();
    }
  });

  it("close() after pause and resume with an unread subscription returns promptly and leaves no open sockets", async () => {
    const before = tcpHandles();
    const client = await connect(server.addr);
    await fill(client, "pr", 600);
    const sub = await client.subscribe("pr", { startAt: "earliest" });
    await sub[Symbol.asyncIterator]().next(); // then never read again: its stream stays paused
    await client.pauseStream("pr");
    await client.publish("pr", text("resumes the partition"));
    expect((await client.fetchPartitionMetadata("pr", 0)).paused).toBe(false);
    const t0 = performance.now();
    await client.close();
    // Graceful: nothing was left open, so close() did not wait for its 2 s cut-off (it takes ms).
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await sub.closed).toBeUndefined(); // closed by client.close(), never iterated to its end
    await waitFor(() => tcpHandles() <= before, 5000);
  });

  it("a server SIGKILLed mid-stream: calls end with UNAVAILABLE; subscriptions (iterator and callback) resubscribe", async () => {
    const client = await connect(server.addr, { resubscribeWaitTimeMs: 30_000 });
    try {
      await client.createStream("kill", "kill");
      for (let i = 0; i < 3; i++) await client.publish("kill", text(`a${i}`));
      // The raw Subscribe calls, as the transport reports them.
      const channel = grpcConnect(server.addr);
      const api = createApi(channel);
      const raw = [0, 1].map(() =>
        api.Subscribe({ stream: "kill", partition: 0, startPosition: StartPosition.EARLIEST }),
      );
      raw[1]!.onMessage(() => {});
      await raw[0]![Symbol.asyncIterator]().next();
      const got: string[] = [];
      const iterated: string[] = [];
      const cbSub = await client.subscribe("kill", {
        startAt: "earliest",
        callback: (_err, m) => {
          if (m !== undefined) got.push(`${m.offset}:${str(m.value)}`);
        },
      });
      const itSub = await client.subscribe("kill", { startAt: "earliest" });
      const loop = (async () => {
        for await (const m of itSub) {
          iterated.push(`${m.offset}:${str(m.value)}`);
          if (iterated.length === 6) break;
        }
      })();
      await waitFor(() => got.length === 3 && iterated.length === 3);
      await server.stop("SIGKILL");
      for (const call of raw) {
        const e = await call.status;
        expect(isGrpcError(e) ? e.code : e).toBe(Status.UNAVAILABLE);
      }
      await channel.close({ graceMs: 0 });
      await server.start();
      let published = false;
      await waitFor(async () => {
        if (!published) {
          try {
            for (let i = 0; i < 3; i++) await client.publish("kill", text(`b${i}`));
            published = true;
          } catch {
            // server still starting, or the old publish stream failing: retry
          }
        }
        return published && got.length === 6 && iterated.length === 6;
      }, 40_000);
      await loop;
      const want = ["0:a0", "1:a1", "2:a2", "3:b0", "4:b1", "5:b2"];
      expect(got).toEqual(want);
      expect(iterated).toEqual(want);
      await cbSub.close();
      expect(await cbSub.closed).toBeUndefined();
    } finally {
      await client.close();
    }
  });
});
