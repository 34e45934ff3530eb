import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, type LiftbridgeError, type Message } from "../../src/index.js";
import { str, TestServer, text, waitFor } from "../helpers.js";

describe("subscribe against the real server", () => {
  let server: TestServer;
  let client: Client;
  beforeAll(async () => {
    server = await TestServer.create();
    client = await connect(server.addr);
    await client.createStream("sub", "sub", { partitions: 2 });
    for (let i = 0; i < 10; i++) await client.publish("sub", text(`m${i}`));
    await client.publish("sub", text("p1"), { partition: 1 });
  });
  afterAll(async () => {
    await client?.close();
    await server?.destroy();
  });

  const collect = async (options: Parameters<Client["subscribe"]>[1]): Promise<string[]> => {
    const out: string[] = [];
    for await (const m of await client.subscribe("sub", options)) out.push(str(m.value));
    return out;
  };
  const all = Array.from({ length: 10 }, (_, i) => `m${i}`);

  it.each([
    ["earliest", { startAt: "earliest", stopAt: "latest" }, all],
    ["offset", { startAt: { offset: 7 }, stopAt: "latest" }, ["m7", "m8", "m9"]],
    ["latest", { startAt: "latest", stopAt: "latest" }, ["m9"]],
    ["stop at offset", { startAt: "earliest", stopAt: { offset: 2 } }, ["m0", "m1", "m2"]],
    ["time", { startAt: { time: 0 }, stopAt: "latest" }, all],
    ["time delta", { startAt: { timeDeltaMs: 3_600_000 }, stopAt: "latest" }, all],
    ["partition 1", { partition: 1, startAt: "earliest", stopAt: "latest" }, ["p1"]],
    ["readIsrReplica", { readIsrReplica: true, startAt: "earliest", stopAt: { offset: 0 } }, ["m0"]],
  ] as const)("%s", async (_name, options, want) => {
    expect(await collect(options)).toEqual(want);
  });

  it("stop at time (now)", async () => {
    expect(await collect({ startAt: "earliest", stopAt: { time: new Date() } })).toEqual(all);
  });

  it("newOnly (default) delivers only later messages; close() ends iteration; closed resolves undefined", async () => {
    const sub = await client.subscribe("sub");
    const got: Message[] = [];
    const loop = (async () => {
      for await (const m of sub) {
        got.push(m);
        if (got.length === 2) await sub.close();
      }
    })();
    await client.publish("sub", text("new1"));
    await client.publish("sub", text("new2"));
    await loop;
    expect(got.map((m) => str(m.value))).toEqual(["new1", "new2"]);
    expect(got[0]).toMatchObject({ stream: "sub", partition: 0, subject: "sub", offset: 10 });
    expect(typeof got[0]?.timestamp).toBe("bigint");
    expect(await sub.closed).toBeUndefined();
    await sub.close(); // idempotent
  });

  it("callback mode, AbortSignal, Symbol.asyncDispose", async () => {
    const ac = new AbortController();
    const got: string[] = [];
    const sub = await client.subscribe("sub", {
      startAt: "earliest",
      signal: ac.signal,
      callback: (err, m) => {
        if (m !== undefined) got.push(str(m.value));
        if (err !== undefined) got.push(`error ${err.code}`);
      },
    });
    await waitFor(() => got.length >= 10);
    ac.abort();
    expect(await sub.closed).toBeUndefined();
    expect(got.slice(0, 10)).toEqual(all);
    {
      await using s2 = await client.subscribe("sub", { startAt: "earliest" });
      expect(s2.partition).toBe(0);
    }
    const ac2 = new AbortController();
    ac2.abort();
    await expect(client.subscribe("sub", { signal: ac2.signal })).rejects.toMatchObject({ code: "canceled" });
  });

  it("setup errors: unknown partition / stream; STOP_LATEST on an empty partition ends at once", async () => {
    await expect(client.subscribe("sub", { partition: 5 })).rejects.toMatchObject({
      code: "no_such_partition",
    });
    await expect(client.subscribe("nope")).rejects.toMatchObject({ code: "no_leader" });
    await client.createStream("empty", "empty");
    const out: Message[] = [];
    for await (const m of await client.subscribe("empty", { startAt: "earliest", stopAt: "latest" }))
      out.push(m);
    expect(out).toEqual([]);
  });

  it("resume option resumes a paused partition", async () => {
    await client.createStream("res", "res");
    await client.publish("res", text("a"));
    await client.pauseStream("res");
    expect((await client.fetchPartitionMetadata("res", 0)).paused).toBe(true);
    const sub = await client.subscribe("res", { resume: true, startAt: "earliest", stopAt: "latest" });
    const vals: string[] = [];
    for await (const m of sub) vals.push(str(m.value));
    expect(vals).toEqual(["a"]);
    expect((await client.fetchPartitionMetadata("res", 0)).paused).toBe(false);
  });

  it("a slow iterator over a large backlog gets every message once, in order (the subscription pauses its stream)", async () => {
    const n = 20_000;
    await client.createStream("backlog", "backlog");
    await new Promise<void>((resolve, reject) => {
      let acked = 0;
      for (let i = 0; i < n; i++) {
        client.publishAsync("backlog", text(`b${i}`), (err) => {
          if (err !== undefined) reject(err);
          else if (++acked === n) resolve();
        });
      }
    });
    const sub = await client.subscribe("backlog", { startAt: "earliest", stopAt: { offset: n - 1 } });
    let i = 0;
    for await (const m of sub) {
      expect(m.offset).toBe(i);
      expect(str(m.value)).toBe(`b${i}`);
      i++;
      // Lag behind now and then: the buffer fills past its bound and the stream is paused and resumed.
      if (i % 5000 === 1) await new Promise((r) => setTimeout(r, 100));
    }
    expect(i).toBe(n);
    expect(await sub.closed).toBeUndefined();
  });

  it("mid-stream ends: deleted -> stream_deleted, paused -> partition_paused, readonly -> readonly_partition", async () => {
    const cases = [
      ["del-mid", (n: string) => client.deleteStream(n), "stream_deleted"],
      ["pause-mid", (n: string) => client.pauseStream(n), "partition_paused"],
      ["ro-mid", (n: string) => client.setStreamReadonly(n), "readonly_partition"],
    ] as const;
    for (const [name, act, code] of cases) {
      await client.createStream(name, name);
      await client.publish(name, text("x"));
      const sub = await client.subscribe(name, { startAt: "earliest" });
      const it = sub[Symbol.asyncIterator]();
      expect(str((await it.next()).value.value)).toBe("x");
      await act(name);
      const err = await it.next().then(
        () => undefined,
        (e: LiftbridgeError) => e,
      );
      expect(err?.code).toBe(code);
      expect((await sub.closed)?.code).toBe(code);
    }
  });
});
