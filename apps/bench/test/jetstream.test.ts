import { afterAll, beforeAll, describe, expect, it } from "vitest";
// The cases run publishers in worker threads from the built files, so the test uses dist/.
import {
  coreNatsBound,
  jetstreamConsume,
  jetstreamIngest,
  jetstreamPublishAcked,
  jetstreamPublishLatency,
} from "../dist/cases/jetstream.js";
import { type NatsPeer, startNatsPeer } from "../dist/nats-peer.js";

describe("JetStream peer cases (small counts, verifying delivery)", () => {
  let peer: NatsPeer;
  beforeAll(async () => {
    peer = await startNatsPeer({ jetstream: true });
  });
  afterAll(async () => {
    await peer?.stop();
  });
  const params = () => ({ url: peer.url, serverPid: peer.pid, count: 2000, size: 128, rep: 0 });

  it("B1 ingest stores every plain publish", async () => {
    const r = await jetstreamIngest(params());
    expect(r.msgsPerSec).toBeGreaterThan(0);
  });
  it("B2 acked publish gets every ack", async () => {
    const r = await jetstreamPublishAcked(params());
    expect(r.msgsPerSec).toBeGreaterThan(0);
  });
  it("B3 reports latency quantiles", async () => {
    const r = await jetstreamPublishLatency({ ...params(), count: 200 });
    expect(r.p50Ms).toBeGreaterThan(0);
    expect(r.p99Ms!).toBeGreaterThanOrEqual(r.p50Ms!);
  });
  it("B4 ordered consumer reads every stored byte", async () => {
    const r = await jetstreamConsume(params());
    expect(r.serverCpuUsPerMsg).toBeGreaterThanOrEqual(0);
  });
  it("core NATS bound delivers every message", async () => {
    const r = await coreNatsBound(params());
    expect(r.msgsPerSec).toBeGreaterThan(0);
  });
});
