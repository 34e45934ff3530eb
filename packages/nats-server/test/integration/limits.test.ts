import { afterEach, describe, expect, it } from "vitest";
import { rawConnect } from "./raw.js";
import { launchers, type TestServer, type TestServerOptions } from "./servers.js";

describe.each(launchers)("limits and timers: $name", (launcher) => {
  const started: TestServer[] = [];
  afterEach(async () => {
    for (const s of started.splice(0)) await s.stop();
  });
  async function server(opts: TestServerOptions): Promise<TestServer> {
    const s = await launcher.start(opts);
    started.push(s);
    return s;
  }

  it("closes a client that does not answer PINGs as stale", async () => {
    const s = await server({ pingIntervalMs: 100, maxPingsOut: 2 });
    const c = await rawConnect(s.port);
    await c.send('CONNECT {"verbose":false}\r\n');
    await c.until(() => false, 10_000).catch(() => {});
    expect(c.closed).toBe(true);
    expect(c.afterInfo).toBe("PING\r\nPING\r\n-ERR 'Stale Connection'\r\n");
  });

  it("keeps a client that answers PINGs", async () => {
    const s = await server({ pingIntervalMs: 50, maxPingsOut: 1 });
    const c = await rawConnect(s.port);
    await c.send('CONNECT {"verbose":false}\r\n');
    let answered = 0;
    while (answered < 4) {
      await c.until((d) => d.split("PING\r\n").length - 1 > answered);
      answered++;
      await c.send("PONG\r\n");
    }
    expect(c.closed).toBe(false);
    c.close();
  });

  it("closes a client that does not authenticate in time", async () => {
    const s = await server({ authorization: { token: "t", timeoutMs: 200 } });
    const c = await rawConnect(s.port);
    expect(JSON.parse(c.data.slice(5, c.data.indexOf("\r\n")))).toMatchObject({ auth_required: true });
    await c.until(() => false, 10_000).catch(() => {});
    expect(c.closed).toBe(true);
    expect(c.afterInfo).toBe("-ERR 'Authentication Timeout'\r\n");
  });

  it("rejects operations before CONNECT when auth is required", async () => {
    const s = await server({ authorization: { user: "u", password: "p" } });
    const c = await rawConnect(s.port);
    await c.send("SUB foo 1\r\n");
    await c.until(() => false, 5000).catch(() => {});
    expect(c.afterInfo).toBe("-ERR 'Authorization Violation'\r\n");
    expect(c.closed).toBe(true);
  });

  it("refuses connections beyond max_connections", async () => {
    const s = await server({ maxConnections: 1 });
    // The launcher's readiness probe is a connection too; retry until the server has let go of it.
    let a = await rawConnect(s.port);
    for (let i = 0; i < 50; i++) {
      await a.send("PING\r\n");
      await a.until((d) => d.endsWith("PONG\r\n"));
      if (!a.closed) break;
      a = await rawConnect(s.port);
    }
    expect(a.closed).toBe(false);
    const b = await rawConnect(s.port);
    await b.until(() => false, 5000).catch(() => {});
    expect(b.closed).toBe(true);
    expect(b.afterInfo).toBe("-ERR 'maximum connections exceeded'\r\n");
    await a.send("PING\r\n");
    await a.until((d) => d.split("PONG\r\n").length === 3);
    expect(a.closed).toBe(false);
    a.close();
  });
});
