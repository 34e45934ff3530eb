import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { AckPolicy, newMessage, StartPosition, StopPosition, unmarshalAck } from "@liftbridge/api";
import { freePort } from "@liftbridge/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiClient, startBrokerOnNats, subscribe, unary, waitFor } from "../helpers.js";

// Required: CI installs Debian's nats-server (in /usr/sbin); a missing binary fails, never skips.
const NATS_BIN = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";

describe("on Debian's nats-server", () => {
  let proc: ChildProcess;
  let url: string;
  let dir: string;
  beforeAll(async () => {
    const port = await freePort();
    url = `nats://127.0.0.1:${port}`;
    proc = spawn(NATS_BIN, ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
    dir = await mkdtemp(path.join(tmpdir(), "lb-ext-"));
    const { connect } = await import("nats");
    await waitFor(async () => {
      try {
        const nc = await connect({ servers: url });
        await nc.close();
        return true;
      } catch {
        return false;
      }
    });
  });
  afterAll(async () => {
    proc.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  });

  it("ingests plain and enveloped NATS publishes, acks a user inbox, serves the API", async () => {
    const { nc, broker } = await startBrokerOnNats(url, dir);
    const client = apiClient(broker.port);
    try {
      await unary(client, "CreateStream", { name: "ext", subject: "ext.*" });
      const acks: number[] = [];
      const sub = nc.subscribe("user.acks", { callback: (_e, m) => acks.push(unmarshalAck(m.data).offset) });
      nc.publish("ext.a", Buffer.from("plain"), { reply: "r" });
      nc.publish(
        "ext.b",
        newMessage(Buffer.from("env"), { ackInbox: "user.acks", ackPolicy: AckPolicy.LEADER }),
      );
      await waitFor(() => acks.length === 1);
      expect(acks).toEqual([1]);
      sub.unsubscribe();
      // A gRPC publish to a wildcard stream goes to the literal subject `ext.*` (as upstream).
      const r = await unary<{ ack: { offset: number } }>(client, "Publish", {
        stream: "ext",
        value: Buffer.from("grpc"),
      });
      expect(r.ack.offset).toBe(2);
      const s = subscribe(client, {
        stream: "ext",
        startPosition: StartPosition.EARLIEST,
        stopPosition: StopPosition.STOP_LATEST,
      });
      await s.status;
      expect(
        s.messages.slice(1).map((m) => [m.subject, Buffer.from(m.value as Uint8Array).toString()]),
      ).toEqual([
        ["ext.a", "plain"],
        ["ext.b", "env"],
        ["ext.*", "grpc"],
      ]);
    } finally {
      client.close();
      await broker.close({ graceMs: 0 });
      await nc.close();
    }
  });
});
