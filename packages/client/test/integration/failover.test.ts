import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Client, connect, type LiftbridgeError } from "../../src/index.js";
import { str, TestServer, text, waitFor } from "../helpers.js";

describe("failover against a restarted server", () => {
  let server: TestServer;
  let client: Client | undefined;
  beforeEach(async () => {
    server = await TestServer.create();
  });
  afterEach(async () => {
    if (server?.proc?.signalCode === null) server.proc.kill("SIGCONT");
    await client?.close();
    await server?.destroy();
  });

  it("a subscription resubscribes from the last offset + 1 after the server restarts (iterator mode)", async () => {
    client = await connect(server.addr, { resubscribeWaitTimeMs: 30_000 });
    await client.createStream("fo", "fo");
    for (let i = 0; i < 3; i++) await client.publish("fo", text(`a${i}`));
    const sub = await client.subscribe("fo", { startAt: "earliest" });
    const got: string[] = [];
    const loop = (async () => {
      for await (const m of sub) {
        got.push(`${m.offset}:${str(m.value)}`);
        if (got.length === 6) break;
      }
    })();
    await waitFor(() => got.length === 3);
    await server.stop("SIGKILL");
    await server.start();
    // The publish stream died with the server: a new one is opened on the reconnected channel.
    let published = false;
    await waitFor(async () => {
      if (!published) {
        try {
          for (let i = 0; i < 3; i++) await client!.publish("fo", text(`b${i}`));
          published = true;
        } catch {
          // server still starting, or the old stream failing: retry
        }
      }
      return published;
    }, 30_000);
    await loop;
    expect(got.slice(0, 3)).toEqual(["0:a0", "1:a1", "2:a2"]);
    // No duplicates, no gaps: offsets continue from 3 (b messages may follow retried duplicates of a failed batch).
    const offsets = got.map((g) => Number(g.split(":")[0]));
    expect(offsets).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await sub.closed).toBeUndefined();
  });

  it("callback mode resubscribes too; gives up with unavailable after resubscribeWaitTimeMs", async () => {
    client = await connect(server.addr, { resubscribeWaitTimeMs: 1500 });
    await client.createStream("fo2", "fo2");
    await client.publish("fo2", text("x"));
    const events: string[] = [];
    const sub = await client.subscribe("fo2", {
      startAt: "earliest",
      callback: (err, m) => events.push(err !== undefined ? `error:${err.code}` : `msg:${m!.offset}`),
    });
    await waitFor(() => events.length === 1);
    await server.stop("SIGKILL");
    const err = await sub.closed;
    expect(err?.code).toBe("unavailable");
    expect(events).toEqual(["msg:0", "error:unavailable"]);
  });

  it("ack timeout: a frozen server never acks; the handler gets ack_timeout after timeoutMs", async () => {
    client = await connect(server.addr, { ackWaitTimeMs: 400 });
    await client.createStream("to", "to");
    await client.publish("to", text("warm"));
    server.proc!.kill("SIGSTOP");
    const errors: (LiftbridgeError | undefined)[] = [];
    for (let i = 0; i < 5; i++) client.publishAsync("to", text(`m${i}`), (err) => errors.push(err));
    const p = client.publish("to", text("sync"), { timeoutMs: 200 }).then(
      () => undefined,
      (e: LiftbridgeError) => e,
    );
    expect((await p)?.code).toBe("ack_timeout");
    await waitFor(() => errors.length === 5);
    expect(errors.map((e) => e?.code)).toEqual(Array(5).fill("ack_timeout"));
    server.proc!.kill("SIGCONT");
  });

  it("pending acks time out when the server dies; publishing works again after it restarts", async () => {
    client = await connect(server.addr, { ackWaitTimeMs: 1000 });
    await client.createStream("dead", "dead");
    await client.publish("dead", text("warm"));
    await server.stop("SIGKILL");
    const err = await client.publish("dead", text("lost")).then(
      () => undefined,
      (e: LiftbridgeError) => e,
    );
    expect(err?.code).toBe("ack_timeout");
    await server.start();
    let ack: Awaited<ReturnType<Client["publish"]>>;
    await waitFor(async () => {
      ack = await client!.publish("dead", text("back")).catch(() => undefined);
      return ack !== undefined;
    }, 30_000);
    expect(ack!.offset).toBeGreaterThanOrEqual(1);
    // Any-broker RPCs retry through the outage too.
    expect((await client.fetchMetadata()).getStream("dead")).toBeDefined();
  });

  it("connect rejects with unavailable when no address answers", async () => {
    await server.stop("SIGKILL");
    await expect(connect(server.addr, { connectTimeoutMs: 1000 })).rejects.toMatchObject({
      code: "unavailable",
    });
  });
});
