import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FakeCluster } from "./fake-server.js";
import { TestServer } from "./helpers.js";

/**
 * Runs every program of examples/ as written: each reads LIFTBRIDGE_ADDR (and NATS_URL), runs its
 * top-level code on import, and prints with console.log. Consumer groups run against the fake cluster,
 * since the single-node server does not implement them yet.
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
});

describe("examples against the fake cluster (features the server does not have yet)", () => {
  let cluster: FakeCluster;
  beforeAll(async () => {
    cluster = await FakeCluster.start(2);
    cluster.addStream("__cursors", 2);
    cluster.addStream("invoices", 2);
    for (let p = 0; p < 2; p++) cluster.append("invoices", p, `invoice ${p}`);
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("consumer-group.ts", async () => {
    expect(await run("consumer-group.ts", { LIFTBRIDGE_ADDR: cluster.addrs[0]! })).toEqual([
      'assigned: [["invoices",[0,1]]]',
      "received 2 messages",
    ]);
    expect(cluster.cursors.get("__group:billing,invoices,0")).toBe(0);
    expect(cluster.callsOf("LeaveConsumerGroup")).toHaveLength(1);
  });
});
