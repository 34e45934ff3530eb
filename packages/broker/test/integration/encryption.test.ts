import { readdir, readFile } from "node:fs/promises";
import * as path from "node:path";
import { status as Code } from "@grpc/grpc-js";
import { PublishAsyncErrorCode, StartPosition, StopPosition } from "@liftbridge/api";
import { afterEach, describe, expect, it } from "vitest";
import type { Logger } from "../../src/index.js";
import { type ApiClient, codeOf, type Env, startEnv, subscribe, unary } from "../helpers.js";

const KEY_A = "0123456789abcdef0123456789abcdef";
const KEY_B = "fedcba9876543210fedcba9876543210";
const SECRET = "top-secret-payload";

interface Line {
  level: string;
  msg: string;
  bindings: Record<string, unknown>;
  obj: object;
}

/** A logger that records every line with its bindings. */
function captureLogger(lines: Line[], bindings: Record<string, unknown> = {}): Logger {
  const at =
    (level: string) =>
    (obj: object, msg = ""): void => {
      lines.push({ level, msg, bindings, obj });
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (b) => captureLogger(lines, { ...bindings, ...b }),
  };
}

/** Every `.log` byte of a stream, concatenated. */
async function logBytes(env: Env, stream: string): Promise<Buffer> {
  const dir = path.join(env.dir, "streams", stream, "0");
  const files = (await readdir(dir)).filter((f) => f.endsWith(".log")).sort();
  return Buffer.concat(await Promise.all(files.map((f) => readFile(path.join(dir, f)))));
}

const values = (ms: Record<string, unknown>[]): string[] =>
  ms.slice(1).map((m) => Buffer.from(m.value as Uint8Array).toString());

async function readAll(client: ApiClient, stream: string) {
  const s = subscribe(client, {
    stream,
    startPosition: StartPosition.EARLIEST,
    stopPosition: StopPosition.STOP_LATEST,
  });
  const status = await s.status;
  return { status, messages: s.messages };
}

describe("encryption at rest", () => {
  let env: Env | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  it("stores sealed values, serves plain ones, survives a restart with the same key", async () => {
    env = await startEnv({ encryptionKey: KEY_A });
    await unary(env.client, "CreateStream", { name: "enc", subject: "enc", encryption: { value: true } });
    expect(env.broker.core.stream("enc")!.config).toEqual({ encryption: true });
    for (let i = 0; i < 3; i++) {
      await unary(env.client, "Publish", {
        stream: "enc",
        key: Buffer.from(`key-${i}`),
        value: Buffer.from(`${SECRET}-${i}`),
        headers: { hdr: Buffer.from("header-value") },
      });
    }
    // A plain NATS publish (no envelope) is sealed too.
    env.natsClient.publish("enc", Buffer.from(`${SECRET}-nats`));
    await env.natsClient.flush();
    const deadline = Date.now() + 20_000;
    while (env.broker.core.partition("enc", 0)!.log!.newestOffset < 3) {
      if (Date.now() > deadline) throw new Error("plain publish not stored");
      await new Promise((r) => setTimeout(r, 10));
    }
    const stored = await logBytes(env, "enc");
    expect(stored.includes(Buffer.from(SECRET))).toBe(false);
    // Keys and headers stay plain (spec internals §1.2.1).
    expect(stored.includes(Buffer.from("key-1"))).toBe(true);
    expect(stored.includes(Buffer.from("header-value"))).toBe(true);

    const want = [0, 1, 2].map((i) => `${SECRET}-${i}`).concat(`${SECRET}-nats`);
    const r = await readAll(env.client, "enc");
    expect(r.status.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(values(r.messages)).toEqual(want);
    expect(Buffer.from(r.messages[1]!.key as Uint8Array).toString()).toBe("key-0");
    const headers = r.messages[1]!.headers as Map<string, Uint8Array>;
    expect(Buffer.from(headers.get("hdr")!).toString()).toBe("header-value");
    expect(r.messages[1]!.subject).toBe("enc");

    await env.restart();
    await unary(env.client, "Publish", { stream: "enc", value: Buffer.from(`${SECRET}-after`) });
    const r2 = await readAll(env.client, "enc");
    expect(values(r2.messages)).toEqual([...want, `${SECRET}-after`]);
    expect((await logBytes(env, "enc")).includes(Buffer.from(SECRET))).toBe(false);
  });

  it("a server restarted with a different key says so in its log and to subscribers", async () => {
    env = await startEnv({ encryptionKey: KEY_A });
    await unary(env.client, "CreateStream", { name: "enc", subject: "enc", encryption: { value: true } });
    await unary(env.client, "Publish", { stream: "enc", value: Buffer.from(SECRET) });
    const lines: Line[] = [];
    await env.restart({ encryptionKey: KEY_B, logger: captureLogger(lines) });
    const startup = lines.find((l) => l.level === "error" && /cannot be decrypted/u.test(l.msg));
    expect(startup?.bindings).toMatchObject({ stream: "enc", partition: 0 });

    const r = await readAll(env.client, "enc");
    expect(r.status.code).toBe(Code.INTERNAL);
    expect(r.status.details).toMatch(/^Failed to decrypt message: stream "enc" partition 0 offset 0/u);
    expect(r.status.details).toMatch(/LIFTBRIDGE_ENCRYPTION_KEY/u);
    expect(r.messages).toHaveLength(1); // only the "subscription established" message, no garbage
    expect(lines.some((l) => l.msg === "cannot decrypt stored message")).toBe(true);

    // New messages are sealed under the new key; they read, the old one still fails first.
    await unary(env.client, "Publish", { stream: "enc", value: Buffer.from("new") });
    const s = subscribe(env.client, {
      stream: "enc",
      startPosition: StartPosition.OFFSET,
      startOffset: 1,
      stopPosition: StopPosition.STOP_LATEST,
    });
    expect((await s.status).code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(values(s.messages)).toEqual(["new"]);
    // Back to the first key: the first message reads again, the second does not.
    await env.restart({ encryptionKey: KEY_A });
    const r3 = await readAll(env.client, "enc");
    expect(r3.status.code).toBe(Code.INTERNAL);
    expect(r3.status.details).toMatch(/offset 1/u);
    expect(values(r3.messages)).toEqual([SECRET]);
  });

  it.each([
    ["missing", undefined, /LIFTBRIDGE_ENCRYPTION_KEY is not set/u],
    ["too short", "short-key", /must be 16 or 32 bytes long \(got 9\)/u],
    ["24 bytes", "x".repeat(24), /got 24/u],
  ])("creating an encrypted stream with a %s key is FailedPrecondition", async (_n, key, re) => {
    const lines: Line[] = [];
    env = await startEnv({ encryptionKey: key, logger: captureLogger(lines) });
    // A key that was given but is unusable is reported at start.
    const warned = lines.some((l) => l.msg === "encryption at rest unavailable: the master key is unusable");
    expect(warned).toBe(key !== undefined);
    const r = await codeOf(
      unary(env.client, "CreateStream", { name: "enc", subject: "enc", encryption: { value: true } }),
    );
    expect(r.code).toBe(Code.FAILED_PRECONDITION);
    expect(r.details).toMatch(/^Failed on preconditions for stream's encryption handler: /u);
    expect(r.details).toMatch(re);
    expect(r.details).not.toContain("short-key");
    expect(env.broker.core.stream("enc")).toBeUndefined();
    // Unencrypted streams are unaffected.
    await unary(env.client, "CreateStream", { name: "plain", subject: "plain" });
  });

  it("streams.encryption makes streams encrypted unless they opt out", async () => {
    env = await startEnv({ encryptionKey: KEY_A, streams: { encryption: true } });
    await unary(env.client, "CreateStream", { name: "dflt", subject: "dflt" });
    await unary(env.client, "CreateStream", { name: "out", subject: "out", encryption: { value: false } });
    await unary(env.client, "Publish", { stream: "dflt", value: Buffer.from(SECRET) });
    await unary(env.client, "Publish", { stream: "out", value: Buffer.from(SECRET) });
    expect((await logBytes(env, "dflt")).includes(Buffer.from(SECRET))).toBe(false);
    expect((await logBytes(env, "out")).includes(Buffer.from(SECRET))).toBe(true);
    expect(values((await readAll(env.client, "dflt")).messages)).toEqual([SECRET]);
    // The flag was fixed at creation: turning the default off later does not change the stream.
    await env.restart({ streams: { encryption: false } });
    await unary(env.client, "Publish", { stream: "dflt", value: Buffer.from(`${SECRET}2`) });
    expect((await logBytes(env, "dflt")).includes(Buffer.from(SECRET))).toBe(false);
    expect(values((await readAll(env.client, "dflt")).messages)).toEqual([SECRET, `${SECRET}2`]);
  });

  it("without a key after a restart: publish fails with ENCRYPTION, subscribe with a clear status", async () => {
    env = await startEnv({ encryptionKey: KEY_A });
    await unary(env.client, "CreateStream", { name: "enc", subject: "enc", encryption: { value: true } });
    await unary(env.client, "Publish", { stream: "enc", value: Buffer.from(SECRET) });
    const lines: Line[] = [];
    await env.restart({ encryptionKey: undefined, logger: captureLogger(lines) });
    expect(
      lines.find((l) => l.level === "error" && /LIFTBRIDGE_ENCRYPTION_KEY is missing/u.test(l.msg))?.bindings,
    ).toMatchObject({ stream: "enc" });
    const p = await codeOf(unary(env.client, "Publish", { stream: "enc", value: Buffer.from("x") }));
    expect(p).toEqual({ code: Code.INTERNAL, details: "encryption failed on partition" });

    const call = env.client.PublishAsync();
    const responses: { correlationId: string; asyncError: { code: number } | null }[] = [];
    call.on("data", (r: (typeof responses)[number]) => responses.push(r));
    const done = new Promise<number>((resolve) =>
      call.on("status", (s: { code: number }) => resolve(s.code)),
    );
    call.on("error", () => {});
    call.write({ stream: "enc", value: Buffer.from("y"), correlationId: "c1", expectedOffset: -1 });
    call.end();
    expect(await done).toBe(Code.OK);
    expect(responses).toHaveLength(1);
    expect(responses[0]!.asyncError!.code).toBe(PublishAsyncErrorCode.ENCRYPTION_FAILED);
    expect(env.broker.core.partition("enc", 0)!.log!.newestOffset).toBe(0);
    expect(lines.some((l) => l.msg === "encrypted stream without a usable key: messages dropped")).toBe(true);

    const r = await readAll(env.client, "enc");
    expect(r.status.code).toBe(Code.INTERNAL);
    expect(r.status.details).toMatch(/stream "enc" partition 0 is encrypted and this server has no usable/u);
    expect(r.messages).toHaveLength(1);
  });
});
