import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "nats";
import { afterEach, describe, expect, it } from "vitest";
import { type NatsServer, startNatsServer } from "../../src/index.js";

const dir = join(import.meta.dirname, "..", "testdata", "tls");
const pem = (f: string) => readFileSync(join(dir, f));

describe("TLS", () => {
  let server: NatsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("serves clients over TLS", async () => {
    server = await startNatsServer({ port: 0, tls: { cert: pem("server.pem"), key: pem("server-key.pem") } });
    expect(server.url.startsWith("tls://")).toBe(true);
    const nc = await connect({
      servers: server.url,
      noAsyncTraces: true,
      tls: { caFile: join(dir, "ca.pem") },
    });
    const sub = nc.subscribe("t", { max: 1 });
    nc.publish("t", new TextEncoder().encode("secure"));
    for await (const m of sub) expect(new TextDecoder().decode(m.data)).toBe("secure");
    expect(nc.info?.tls_required).toBe(true);
    await nc.close();
  });

  it("requires a valid client certificate with verify", async () => {
    server = await startNatsServer({
      port: 0,
      tls: { cert: pem("server.pem"), key: pem("server-key.pem"), ca: pem("ca.pem"), verify: true },
    });
    const nc = await connect({
      servers: server.url,
      noAsyncTraces: true,
      tls: {
        caFile: join(dir, "ca.pem"),
        certFile: join(dir, "client.pem"),
        keyFile: join(dir, "client-key.pem"),
      },
    });
    await nc.flush();
    await nc.close();
    await expect(
      connect({
        servers: server.url,
        noAsyncTraces: true,
        reconnect: false,
        timeout: 2000,
        tls: { caFile: join(dir, "ca.pem") },
      }).then((c) => c.flush()),
    ).rejects.toBeDefined();
  });
});
