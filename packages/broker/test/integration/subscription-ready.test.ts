// Issue #7: CreateStream, a resume and startup must not answer before the partition leader's NATS
// subscription is registered at the NATS server, or a plain NATS publish from another connection that
// arrives right after the answer is dropped by NATS.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { AckPolicy, StartPosition } from "@liftbridge/api";
import { type NatsServer, startNatsServer } from "@liftbridge/nats-server";
import { type DelayProxy, freePort, startDelayProxy } from "@liftbridge/testkit";
import { type NatsConnection as NatsJs, connect as natsConnect } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Broker, type NatsConnection, startBroker } from "../../src/index.js";
import { type ApiClient, apiClient, startBrokerOnNats, subscribe, unary, waitFor } from "../helpers.js";

// Required: CI installs Debian's nats-server (in /usr/sbin); a missing binary fails, never skips.
const NATS_BIN = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";
/** Delay of the broker → NATS direction in the slow-link setups. */
const LINK_DELAY_MS = 30;

/** A NATS server, a way to (re)start a broker on it, and a plain publisher on its own connection. */
interface Setup {
  /** The publisher: a nats.js connection of its own, straight to the NATS server. */
  publisher: NatsJs;
  /** Starts a broker on `dir`; `close` stops it and its NATS connection. */
  start(dir: string): Promise<{ broker: Broker; close(): Promise<void> }>;
  close(): Promise<void>;
}

async function embeddedSetup(): Promise<Setup> {
  const nats: NatsServer = await startNatsServer({ port: 0 });
  const publisher = await natsConnect({ servers: `127.0.0.1:${nats.port}`, noAsyncTraces: true });
  return {
    publisher,
    async start(dir) {
      const inproc = nats.connect({ name: "broker" });
      const broker = await startBroker({
        dataDir: dir,
        serverId: "s1",
        nats: inproc as unknown as NatsConnection,
        raftBootstrapSeed: true,
        listenPort: 0,
        listenHost: "127.0.0.1",
      });
      return {
        broker,
        async close() {
          await broker.close({ graceMs: 0 });
          inproc.close();
        },
      };
    },
    async close() {
      await publisher.close();
      await nats.close();
    },
  };
}

async function debianSetup(delayMs: number): Promise<Setup> {
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const proc: ChildProcess = spawn(NATS_BIN, ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  let publisher: NatsJs | undefined;
  await waitFor(
    async () => {
      publisher = await natsConnect({ servers: url, noAsyncTraces: true }).catch(() => undefined);
      return publisher !== undefined;
    },
    20_000,
    "nats-server to accept connections",
  );
  const proxy: DelayProxy | undefined = delayMs > 0 ? await startDelayProxy(port, delayMs) : undefined;
  const brokerUrl = proxy === undefined ? url : `nats://127.0.0.1:${proxy.port}`;
  return {
    publisher: publisher!,
    async start(dir) {
      const { nc, broker } = await startBrokerOnNats(brokerUrl, dir);
      return {
        broker,
        async close() {
          await broker.close({ graceMs: 0 });
          await nc.close();
        },
      };
    },
    async close() {
      await publisher!.close();
      await proxy?.close();
      proc.kill("SIGTERM");
      await new Promise((r) => (proc.exitCode !== null ? r(undefined) : proc.once("exit", r)));
    },
  };
}

const SETUPS: [string, () => Promise<Setup>][] = [
  ["embedded NATS (in-process connection)", embeddedSetup],
  ["Debian's nats-server", () => debianSetup(0)],
  [`Debian's nats-server behind a ${LINK_DELAY_MS} ms broker link`, () => debianSetup(LINK_DELAY_MS)],
];

describe.each(SETUPS)("on %s", (_name, makeSetup) => {
  let setup: Setup;
  let dir: string;
  let running: { broker: Broker; close(): Promise<void> } | undefined;
  let client: ApiClient | undefined;
  beforeAll(async () => {
    setup = await makeSetup();
  });
  afterAll(async () => {
    await setup.close();
  });

  /** Fresh data dir and broker for one test; `done` stops both. */
  const open = async () => {
    dir = await mkdtemp(path.join(tmpdir(), "lb-subready-"));
    running = await setup.start(dir);
    client = apiClient(running.broker.port);
    return {
      done: async () => {
        client?.close();
        await running?.close();
        running = undefined;
        await rm(dir, { recursive: true, force: true });
      },
    };
  };
  const newest = (stream: string): number =>
    running?.broker.core.partition(stream, 0)?.log?.newestOffset ?? -2;
  /** Publishes one plain message on `subject` from the publisher's own connection, then confirms it. */
  const publishPlain = async (subject: string, value: string) => {
    setup.publisher.publish(subject, Buffer.from(value));
    await setup.publisher.flush();
  };

  it("a plain NATS publish right after CreateStream answered is stored (50x)", async () => {
    const { done } = await open();
    try {
      for (let i = 0; i < 50; i++) {
        await unary(client!, "CreateStream", { name: `c${i}`, subject: `cs.${i}` });
        await publishPlain(`cs.${i}`, `m${i}`);
        await waitFor(() => newest(`c${i}`) === 0, 10_000, `message ${i} stored after CreateStream`);
      }
    } finally {
      await done();
    }
  });

  it("a plain NATS publish right after an API Publish resumed a paused partition is stored (30x)", async () => {
    const { done } = await open();
    try {
      await unary(client!, "CreateStream", { name: "p", subject: "ps" });
      let expected = -1;
      for (let i = 0; i < 30; i++) {
        await unary(client!, "PauseStream", { name: "p", partitions: [0] });
        // NONE answers without waiting for an ack; LEADER answers after the resumed partition stored it.
        await unary(client!, "Publish", {
          stream: "p",
          value: Buffer.from(`api${i}`),
          ackPolicy: i % 2 === 0 ? AckPolicy.NONE : AckPolicy.LEADER,
        });
        await publishPlain("ps", `plain${i}`);
        expected += 2;
        await waitFor(() => newest("p") === expected, 10_000, `both messages of round ${i} stored`);
      }
    } finally {
      await done();
    }
  });

  it("a plain NATS publish right after Subscribe(resume) opened is stored (20x)", async () => {
    const { done } = await open();
    try {
      await unary(client!, "CreateStream", { name: "r", subject: "rs" });
      for (let i = 0; i < 20; i++) {
        await unary(client!, "PauseStream", { name: "r", partitions: [0] });
        const s = subscribe(client!, { stream: "r", resume: true, startPosition: StartPosition.NEW_ONLY });
        await waitFor(() => s.messages.length >= 1, 10_000, "the empty first frame");
        await publishPlain("rs", `plain${i}`);
        await waitFor(() => newest("r") === i, 10_000, `message ${i} stored after resume`);
        s.call.cancel();
        await s.status;
      }
    } finally {
      await done();
    }
  });

  it("the first plain NATS publish after the broker restarted is stored (20x)", async () => {
    const { done } = await open();
    try {
      await unary(client!, "CreateStream", { name: "rs", subject: "restart" });
      for (let i = 0; i < 20; i++) {
        client!.close();
        await running!.close();
        running = await setup.start(dir);
        client = apiClient(running.broker.port);
        await publishPlain("restart", `m${i}`);
        await waitFor(() => newest("rs") === i, 10_000, `message ${i} stored after restart`);
      }
      expect(newest("rs")).toBe(19);
    } finally {
      await done();
    }
  });

  it("plain NATS publishes routed to the broker before it closed are stored (10x)", async () => {
    const { done } = await open();
    try {
      await unary(client!, "CreateStream", { name: "sd", subject: "shutdown" });
      for (let i = 0; i < 10; i++) {
        for (let j = 0; j < 200; j++) setup.publisher.publish("shutdown", Buffer.from(`m${i}.${j}`));
        // Once the flush returns, NATS has routed all 200 to the broker's connection: none may be lost.
        await setup.publisher.flush();
        client!.close();
        await running!.close();
        running = await setup.start(dir);
        client = apiClient(running.broker.port);
        expect(newest("sd")).toBe(200 * (i + 1) - 1);
      }
    } finally {
      await done();
    }
  });
});
