import { readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../src/index.js";
import { TestServer, text } from "../helpers.js";

const TLS = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "tls");

describe("client options against the real server", () => {
  describe("TLS", () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await TestServer.create([
        "--tls-cert",
        path.join(TLS, "server.crt"),
        "--tls-key",
        path.join(TLS, "server.key"),
      ]);
    });
    afterAll(async () => {
      await server?.destroy();
    });

    it("tlsCert (CA PEM) and tls (TLSConfig) connect; plaintext and an untrusted CA do not", async () => {
      const ca = readFileSync(path.join(TLS, "ca.crt"));
      for (const options of [{ tlsCert: ca.toString() }, { tls: { ca } }]) {
        const client = await connect(server.addr, options);
        await client.createStream(
          `tls${client.metadata.brokers.length}-${Math.random()}`,
          `t-${Math.random()}`,
        );
        await client.close();
      }
      await expect(connect(server.addr, { connectTimeoutMs: 2000 })).rejects.toMatchObject({
        code: "unavailable",
      });
      await expect(connect(server.addr, { tls: true, connectTimeoutMs: 2000 })).rejects.toMatchObject({
        code: "unavailable",
      });
    });
  });

  describe("transport options", () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await TestServer.create();
    });
    afterAll(async () => {
      await server?.destroy();
    });

    it("keepAliveTimeMs, readBufferSize, maxConnsPerBroker and connectTimeoutMs are accepted and work", async () => {
      const client = await connect(server.addr, {
        keepAliveTimeMs: 200,
        readBufferSize: 64 * 1024,
        maxConnsPerBroker: 1,
        connectTimeoutMs: 5000,
      });
      await client.createStream("ka", "ka");
      const big = new Uint8Array(200 * 1024).fill(7);
      await client.publish("ka", big);
      const sub = await client.subscribe("ka", { startAt: "earliest", stopAt: "latest" });
      for await (const m of sub) expect(m.value.length).toBe(big.length);
      await new Promise((r) => setTimeout(r, 500)); // a few keepalive PINGs pass without harm
      expect((await client.fetchMetadata()).getStream("ka")?.name).toBe("ka");
      await client.close();
    });

    it("writeBufferSize is accepted (no effect on the lean transport): large and small publishes pass", async () => {
      const client = await connect(server.addr, { writeBufferSize: 1024 });
      await client.createStream("wb", "wb");
      expect((await client.publish("wb", text("small")))?.offset).toBe(0);
      expect((await client.publish("wb", new Uint8Array(4096)))?.offset).toBe(1);
      await client.close();
    });
  });
});
