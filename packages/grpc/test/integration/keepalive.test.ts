// Keepalive PINGs: the server's own pings, the client's pings, and the server's ping limit.

import { createServer as createH2Server, connect as h2connect } from "node:http2";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it, vi } from "vitest";
import { connect, createClient, isGrpcError, Status } from "../../src/index.js";
import { startFreezableProxy } from "../helpers/freezable-proxy.js";
import { startGrpcJsServer, stopGrpcJsServer } from "../helpers/grpc-js-service.js";
import { startTestServer, TestService } from "../helpers/test-service.js";

describe("keepalive", () => {
  it("the server pings its clients every pingIntervalMs and calls keep working", async () => {
    const { server, port } = await startTestServer({
      keepalive: { pingIntervalMs: 50, pingTimeoutMs: 5000 },
    });
    const session = h2connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    let pings = 0;
    session.on("ping", () => {
      pings++;
    });
    const channel = connect(`127.0.0.1:${port}`);
    try {
      await vi.waitFor(() => expect(pings).toBeGreaterThanOrEqual(3), { timeout: 5000 });
      expect((await createClient(TestService, channel).echo(Buffer.from("k"))).toString()).toBe("k");
    } finally {
      session.destroy();
      await channel.close();
      await server.close({ graceMs: 100 });
    }
  });

  it("the client pings every keepalive.timeMs (counted by a plain node:http2 server)", async () => {
    const raw = createH2Server();
    let pings = 0;
    raw.on("session", (session) => session.on("ping", () => pings++));
    raw.on("stream", (stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 0x6f, 0x6b]));
      stream.resume();
    });
    await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", () => resolve()));
    const port = (raw.address() as AddressInfo).port;
    const channel = connect(`127.0.0.1:${port}`, { keepalive: { timeMs: 50, timeoutMs: 2000 } });
    try {
      expect((await createClient(TestService, channel).echo(Buffer.from("x"))).toString()).toBe("ok");
      await vi.waitFor(() => expect(pings).toBeGreaterThanOrEqual(3), { timeout: 5000 });
    } finally {
      await channel.close();
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  });

  it("the client's keepalive pings are answered (grpc-js server) and calls keep working", async () => {
    const { server, port } = await startGrpcJsServer(grpc.ServerCredentials.createInsecure());
    const channel = connect(`127.0.0.1:${port}`, { keepalive: { timeMs: 100, timeoutMs: 2000 } });
    try {
      const client = createClient(TestService, channel);
      const reply = await client.sleep(Buffer.from(JSON.stringify({ ms: 600, id: "ka" })));
      expect(reply.toString()).toBe("slept");
      expect((await client.echo(Buffer.from("after"))).toString()).toBe("after");
    } finally {
      await channel.close();
      await stopGrpcJsServer(server);
    }
  });

  it("the server closes a connection whose peer stops answering PINGs; its calls are cancelled", async () => {
    const { server, port, stats } = await startTestServer({
      keepalive: { pingIntervalMs: 100, pingTimeoutMs: 1000 },
    });
    const proxy = await startFreezableProxy(port);
    const channel = connect(`127.0.0.1:${proxy.port}`);
    try {
      const call = createClient(TestService, channel).infinite(Buffer.from(JSON.stringify({ id: "frozen" })));
      const reading = (async () => {
        for await (const _ of call) {
          // read until frozen
        }
      })().catch((e) => e);
      await vi.waitFor(() => expect(stats.produced).toBeGreaterThan(0));
      proxy.freeze();
      await vi.waitFor(() => expect(stats.events).toContain(`infinite:frozen:returned:${Status.CANCELLED}`), {
        timeout: 10_000,
      });
      call.cancel();
      await reading;
    } finally {
      await proxy.close();
      await channel.close();
      await server.close({ graceMs: 100 });
    }
  });

  it("channel.close({ graceMs }) returns although the server froze with a call in flight", async () => {
    // After a graceful close, destroying a session only half-closes its socket and waits for the
    // peer's FIN: a frozen peer never sends it, so the channel destroys the socket itself.
    const { server, port } = await startTestServer();
    const proxy = await startFreezableProxy(port);
    const channel = connect(`127.0.0.1:${proxy.port}`);
    try {
      const client = createClient(TestService, channel);
      expect((await client.echo(Buffer.from("before"))).toString()).toBe("before");
      const pending = client
        .sleep(Buffer.from(JSON.stringify({ ms: 30_000, id: "frozen-close" })))
        .catch((e) => e);
      await new Promise((r) => setTimeout(r, 50));
      proxy.freeze();
      const closed = channel.close({ graceMs: 100 }).then(() => "closed");
      const hung = new Promise((r) => setTimeout(r, 15_000, "hung")).then((v) => v);
      expect(await Promise.race([closed, hung])).toBe("closed");
      expect(isGrpcError(await pending, Status.CANCELLED)).toBe(true);
    } finally {
      await proxy.close();
      await server.close({ graceMs: 100 });
    }
  }, 30_000);

  it("the client fails calls with UNAVAILABLE when its PINGs go unanswered", async () => {
    const { server, port } = await startTestServer();
    const proxy = await startFreezableProxy(port);
    const channel = connect(`127.0.0.1:${proxy.port}`, { keepalive: { timeMs: 200, timeoutMs: 1000 } });
    try {
      const client = createClient(TestService, channel);
      expect((await client.echo(Buffer.from("before"))).toString()).toBe("before");
      const pending = client
        .sleep(Buffer.from(JSON.stringify({ ms: 30_000, id: "frozen-client" })))
        .catch((e) => e);
      await new Promise((r) => setTimeout(r, 50));
      proxy.freeze();
      const err = await pending;
      expect(isGrpcError(err, Status.UNAVAILABLE)).toBe(true);
    } finally {
      await proxy.close();
      await channel.close();
      await server.close({ graceMs: 100 });
    }
  });
});
