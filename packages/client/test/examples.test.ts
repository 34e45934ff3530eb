import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TestServer } from "./helpers.js";

/**
 * Runs every program of examples/ as written, against the real server (with cursors enabled): each
 * reads LIFTBRIDGE_ADDR (and NATS_URL), runs its top-level code on import, and prints with console.log.
 */
const PROGRAMS: Record<string, () => Promise<unknown>> = {
  "publish.ts": () => import("../examples/publish.js"),
  "subscribe.ts": () => import("../examples/subscribe.js"),
  "partitions.ts": () => import("../examples/partitions.js"),
  "nats-envelope.ts": () => import("../examples/nats-envelope.js"),
  "cursors.ts": () => import("../examples/cursors.js"),
  "consumer-group.ts": () => import("../examples/consumer-group.js"),
};

async function run(file: string, env: Record<string, string>): Promise<string[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  });
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    await PROGRAMS[file]!();
  } finally {
    spy.mockRestore();
    process.env = saved;
  }
  return lines;
}

describe("examples against the real server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.create([], "cursors.stream.partitions: 2\n");
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it("publish.ts", async () => {
    expect(await run("publish.ts", { LIFTBRIDGE_ADDR: server.addr })).toEqual([
      "acked offset 0",
      "9 more acked",
    ]);
  });

  it("subscribe.ts", async () => {
    expect(await run("subscribe.ts", { LIFTBRIDGE_ADDR: server.addr })).toEqual([
      "0: event 0",
      "1: event 1",
      "2: event 2",
      "live: event 3",
    ]);
  });

  it("partitions.ts", async () => {
    expect(await run("partitions.ts", { LIFTBRIDGE_ADDR: server.addr })).toEqual([
      "web-1 -> metrics.1",
      "web-2 -> metrics",
      "db-1 -> metrics.2",
      "web-1 -> metrics.1",
      "partitions: 3",
      "partition 2 newest offset: 1",
    ]);
  });

  it("nats-envelope.ts", async () => {
    expect(await run("nats-envelope.ts", { LIFTBRIDGE_ADDR: server.addr, NATS_URL: server.natsUrl })).toEqual(
      ["ack for reading-1: offset 0 on sensors-stream"],
    );
  });

  it("cursors.ts", async () => {
    expect(await run("cursors.ts", { LIFTBRIDGE_ADDR: server.addr })).toEqual([
      "cursor before: -1",
      "cursor after: 41; resume at 42",
    ]);
  });

  it("consumer-group.ts: a member started later resumes after the group's committed offsets", async () => {
    expect(await run("consumer-group.ts", { LIFTBRIDGE_ADDR: server.addr })).toEqual([
      'worker-1 assigned: [["invoices",[0,1]]]',
      "worker-1 handled: invoice 0.1, invoice 0.2, invoice 1.1, invoice 1.2",
      'worker-2 assigned: [["invoices",[0,1]]]',
      "worker-2 handled: invoice 0.3, invoice 1.3",
      "committed offsets: 2, 2",
    ]);
  });
});
