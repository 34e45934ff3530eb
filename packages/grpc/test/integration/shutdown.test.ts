// Graceful shutdown: GOAWAY, drain in-flight calls, then cancel what is left at the deadline.
import { connect as h2connect } from "node:http2";
import { describe, expect, it, vi } from "vitest";
import { connect, createClient, isGrpcError, Status } from "../../src/index.js";
import { startTestServer, TestService } from "../helpers/test-service.js";

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

describe("graceful shutdown", () => {
  it("sends GOAWAY, lets in-flight calls finish, refuses new connections", async () => {
    const { server, port, stats } = await startTestServer();
    const channel = connect(`127.0.0.1:${port}`);
    const client = createClient(TestService, channel);
    const watcher = h2connect(`http://127.0.0.1:${port}`);
    watcher.on("error", () => {});
    const goaway = new Promise<number>((resolve) => watcher.once("goaway", (code) => resolve(code)));
    await new Promise<void>((resolve) => watcher.once("connect", () => resolve()));
    try {
      const inFlight = client.sleep(json({ ms: 300, id: "drain" }));
      await vi.waitFor(() => expect(server.activeCalls).toBe(1));
      const closing = server.close({ graceMs: 10_000 });
      expect(await goaway).toBe(0);
      expect((await inFlight).toString()).toBe("slept");
      expect(stats.events).toContain("sleep:drain:done");
      await closing;
      const after = await client.echo(Buffer.from("x")).catch((e) => e);
      expect(isGrpcError(after, Status.UNAVAILABLE)).toBe(true);
    } finally {
      watcher.destroy();
      await channel.close();
    }
  });

  it("cancels the calls still running when the grace period ends", async () => {
    const { server, port, stats } = await startTestServer();
    const channel = connect(`127.0.0.1:${port}`);
    const client = createClient(TestService, channel);
    try {
      const call = client.infinite(json({ id: "forever" }));
      const drained = (async () => {
        for await (const _ of call) {
          // keep reading
        }
      })().catch((e) => e);
      await vi.waitFor(() => expect(stats.produced).toBeGreaterThan(0));
      const t0 = Date.now();
      await server.close({ graceMs: 200 });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
      expect(server.activeCalls).toBe(0);
      await vi.waitFor(() => expect(stats.events).toContain(`infinite:forever:returned:${Status.CANCELLED}`));
      const err = await drained;
      expect(isGrpcError(err)).toBe(true);
      expect([Status.CANCELLED, Status.UNAVAILABLE]).toContain(err.code);
      expect(await server.closed).toBeUndefined();
    } finally {
      await channel.close();
    }
  });

  it("channel.close() waits for open calls; close({ graceMs }) cancels them after the grace period", async () => {
    const { server, port, stats } = await startTestServer();
    const channel = connect(`127.0.0.1:${port}`);
    const client = createClient(TestService, channel);
    try {
      const call = client.infinite(json({ id: "client-close" }));
      const drained = (async () => {
        for await (const _ of call) {
          // keep reading
        }
      })().catch((e) => e);
      await vi.waitFor(() => expect(stats.produced).toBeGreaterThan(0));
      let closed = false;
      const closing = channel.close().then(() => {
        closed = true;
      });
      // Without a limit the open stream keeps the channel open (and still streaming).
      const producedBefore = stats.produced;
      await vi.waitFor(() => expect(stats.produced).toBeGreaterThan(producedBefore + 10));
      expect(closed).toBe(false);
      const t0 = Date.now();
      await channel.close({ graceMs: 200 });
      await closing;
      expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
      const err = await drained;
      expect(isGrpcError(err, Status.CANCELLED)).toBe(true);
      expect(err.details).toBe("channel closed");
      await vi.waitFor(() =>
        expect(stats.events.some((e) => e.startsWith("infinite:client-close:returned"))).toBe(true),
      );
      await vi.waitFor(() => expect(server.activeCalls).toBe(0));
      expect(await channel.closed).toBeUndefined();
    } finally {
      await channel.close({ graceMs: 0 });
      await server.close({ graceMs: 1000 });
    }
  });
});
