import { readdir, readFile } from "node:fs/promises";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, connect, isLiftbridgeError, type Logger, type Message } from "../../src/index.js";
import { str, TestServer, text, waitFor } from "../helpers.js";

const KEY_A = "0123456789abcdef0123456789abcdef";
const KEY_B = "fedcba9876543210";
const SECRET = "client-side-secret";

/** A client logger that records the message of every line. */
function recorder(lines: string[]): Logger {
  const at = (_obj: object, msg: string): void => {
    lines.push(msg);
  };
  return { debug: at, info: at, warn: at, error: at };
}

describe("encryption at rest and reverse subscriptions through @liftbridge/client", () => {
  let server: TestServer;
  let client: Client | undefined;
  const lines: string[] = [];

  const reconnect = async (): Promise<Client> => {
    await client?.close();
    client = await connect(server.addr, { resubscribeWaitTimeMs: 30_000, logger: recorder(lines) });
    return client;
  };
  const restartWith = async (key: string | undefined): Promise<Client> => {
    await client?.close();
    client = undefined;
    await server.stop("SIGTERM");
    server.env = { LIFTBRIDGE_ENCRYPTION_KEY: key };
    await server.start();
    return reconnect();
  };
  const collect = async (
    stream: string,
    options: Parameters<Client["subscribe"]>[1],
  ): Promise<{ values: string[]; offsets: number[] }> => {
    const values: string[] = [];
    const offsets: number[] = [];
    const sub = await client!.subscribe(stream, options);
    for await (const m of sub) {
      values.push(str(m.value));
      offsets.push(m.offset);
    }
    expect(await sub.closed).toBeUndefined();
    return { values, offsets };
  };

  beforeAll(async () => {
    server = await TestServer.create([], "", { LIFTBRIDGE_ENCRYPTION_KEY: KEY_A });
    const c = await reconnect();
    await c.createStream("enc", "enc", { encryption: true });
    await c.createStream("plain", "plain");
    for (let i = 0; i < 10; i++) {
      await c.publish("enc", text(`${SECRET}-${i}`), { key: text(`key-${i}`) });
      await c.publish("plain", text(`p${i}`));
    }
  });
  afterAll(async () => {
    await client?.close();
    await server?.destroy();
  });

  it("subscribers get plain values; the stored .log bytes never contain them", async () => {
    const r = await collect("enc", { startAt: "earliest", stopAt: "latest" });
    expect(r.values).toEqual(Array.from({ length: 10 }, (_, i) => `${SECRET}-${i}`));
    const dir = path.join(server.dir, "data", "streams", "enc", "0");
    const logs = (await readdir(dir)).filter((f) => f.endsWith(".log"));
    const bytes = Buffer.concat(await Promise.all(logs.map((f) => readFile(path.join(dir, f)))));
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes.includes(Buffer.from(SECRET))).toBe(false);
    expect(bytes.includes(Buffer.from("key-3"))).toBe(true);
  });

  it.each([
    ["newOnly (default): newest to oldest", {}, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]],
    ["from an offset", { startAt: { offset: 4 } }, [4, 3, 2, 1, 0]],
    ["down to a stop offset", { startAt: "latest", stopAt: { offset: 7 } }, [9, 8, 7]],
    ["earliest", { startAt: "earliest" }, [0]],
  ] as const)("reverse %s ends the iteration normally", async (_name, options, want) => {
    const r = await collect("plain", { reverse: true, ...options });
    expect(r.offsets).toEqual(want);
    expect(r.values).toEqual(want.map((i) => `p${i}`));
  });

  it("reverse on an encrypted stream is plain text; on an empty stream it is empty", async () => {
    expect((await collect("enc", { reverse: true, stopAt: { offset: 8 } })).values).toEqual([
      `${SECRET}-9`,
      `${SECRET}-8`,
    ]);
    await client!.createStream("none", "none");
    expect((await collect("none", { reverse: true })).offsets).toEqual([]);
  });

  it("a reverse subscription resubscribes from the last offset − 1 when the server restarts", async () => {
    const c = client!;
    await c.createStream("big", "big");
    const n = 3000;
    const value = new Uint8Array(2048).fill(7);
    await Promise.all(Array.from({ length: n }, () => c.publish("big", value)));
    const sub = await c.subscribe("big", { reverse: true });
    const got: Message[] = [];
    let restarted = false;
    for await (const m of sub) {
      got.push(m);
      if (!restarted) {
        restarted = true;
        await server.stop("SIGKILL");
        await server.start();
      }
    }
    expect(await sub.closed).toBeUndefined();
    expect(lines).toContain("subscription lost, resubscribing");
    expect(got.map((m) => m.offset)).toEqual(Array.from({ length: n }, (_, i) => n - 1 - i));
  });

  it("after a restart with the same key the encrypted stream reads in plain text", async () => {
    await restartWith(KEY_A);
    const r = await collect("enc", { startAt: "earliest", stopAt: "latest" });
    expect(r.values).toEqual(Array.from({ length: 10 }, (_, i) => `${SECRET}-${i}`));
  });

  it("a server restarted with a different key fails the subscription clearly and logs the stream", async () => {
    await restartWith(KEY_B);
    const sub = await client!.subscribe("enc", { startAt: "earliest", stopAt: "latest" });
    const values: string[] = [];
    const err = await (async () => {
      for await (const m of sub) values.push(str(m.value));
    })().catch((e: unknown) => e);
    expect(values).toEqual([]);
    expect(isLiftbridgeError(err, "internal")).toBe(true);
    expect((err as Error).message).toMatch(/Failed to decrypt message: stream "enc" partition 0 offset 0/u);
    expect((err as Error).message).toMatch(/LIFTBRIDGE_ENCRYPTION_KEY/u);
    await waitFor(() =>
      server.output.some((l) => l.includes("stream cannot be decrypted") && l.includes('"enc"')),
    );
  });

  it("without a key: encrypted creates are FailedPrecondition and publishes fail", async () => {
    await restartWith(undefined);
    const err = await client!.createStream("enc2", "enc2", { encryption: true }).catch((e: unknown) => e);
    expect(isLiftbridgeError(err, "failed_precondition")).toBe(true);
    expect((err as Error).message).toMatch(/encryption handler: LIFTBRIDGE_ENCRYPTION_KEY is not set/u);
    const perr = await client!.publish("enc", text("x")).catch((e: unknown) => e);
    expect(isLiftbridgeError(perr, "publish_failed")).toBe(true);
    // The plain stream is unaffected.
    expect((await collect("plain", { reverse: true, stopAt: { offset: 9 } })).values).toEqual(["p9"]);
  });
});
