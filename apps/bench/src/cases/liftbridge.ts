/**
 * The Liftbridge contender: the same cases against `liftbridge --raft-bootstrap-seed` (apps/server,
 * embedded NATS, sync policy `none` as JetStream 2.9 acks from the page cache).
 */
import { APIService } from "@liftbridge/api";
import { createClient, connect as grpcConnect } from "@liftbridge/grpc";
import type { LiftbridgeServer } from "../liftbridge-server.js";
import { processCpuMicros } from "../proc.js";
import { runPublisher, runReader } from "../run-worker.js";
import { quantile } from "../stats.js";
import type { CaseParams, CaseResult } from "./jetstream.js";

/** The server under test; set by main before the cases run. */
export let server: LiftbridgeServer | undefined;
export function setServer(s: LiftbridgeServer | undefined): void {
  server = s;
}

// biome-ignore lint/suspicious/noExplicitAny: the definitions' streaming flags are plain booleans.
type LeanApi = any;

function lean(port: number): { channel: ReturnType<typeof grpcConnect>; api: LeanApi } {
  const channel = grpcConnect(`http://127.0.0.1:${port}`);
  return { channel, api: createClient(APIService, channel) as LeanApi };
}

async function withStream<T>(name: string, subject: string, fn: (api: LeanApi) => Promise<T>): Promise<T> {
  const s = server!;
  const { channel, api } = lean(s.grpcPort);
  try {
    await api.CreateStream({ name, subject }, { timeoutMs: 10_000 });
    try {
      return await fn(api);
    } finally {
      await api.DeleteStream({ name }, { timeoutMs: 30_000 });
    }
  } finally {
    await channel.close();
  }
}

/** Polls FetchPartitionMetadata until the partition holds `count` messages. */
async function waitForStored(
  api: LeanApi,
  name: string,
  count: number,
  timeoutMs = 180_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const md = await api.FetchPartitionMetadata({ stream: name, partition: 0 }, { timeoutMs: 10_000 });
    const stored = md.metadata.newestOffset + 1;
    if (stored >= count) return stored;
    if (Date.now() > deadline) throw new Error(`stream ${name} holds ${stored} of ${count}: loss or stall`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const cpu = () => processCpuMicros(server!.pid);

/** B1: plain NATS publishes into the stream's subject (embedded NATS), until stored. */
export async function liftbridgeIngest(p: CaseParams): Promise<CaseResult> {
  const name = `B1_${p.rep}`;
  const subject = `bench.b1.${p.rep}`;
  return withStream(name, subject, async (api) => {
    const cpu0 = cpu();
    const t0 = performance.now();
    await runPublisher({ url: server!.natsUrl, subject, count: p.count, size: p.size, mode: "nats" });
    const stored = await waitForStored(api, name, p.count);
    const elapsed = performance.now() - t0;
    if (stored !== p.count) throw new Error(`stream holds ${stored}, expected ${p.count}`);
    return { msgsPerSec: (p.count * 1000) / elapsed, serverCpuUsPerMsg: (cpu() - cpu0) / p.count };
  });
}

function ackedCase(mode: "lb-nats-acked" | "lb-grpc-async") {
  return async (p: CaseParams): Promise<CaseResult> => {
    const name = `B2${mode === "lb-nats-acked" ? "n" : "g"}_${p.rep}`;
    const subject = `bench.b2.${mode}.${p.rep}`;
    return withStream(name, subject, async (api) => {
      const cpu0 = cpu();
      const r = await runPublisher({
        url: server!.natsUrl,
        subject,
        count: p.count,
        size: p.size,
        mode,
        window: 1000,
        grpcPort: server!.grpcPort,
        stream: name,
      });
      if (r.acked !== p.count) throw new Error(`acked ${r.acked} of ${p.count}`);
      await waitForStored(api, name, p.count);
      return { msgsPerSec: (p.count * 1000) / r.elapsedMs, serverCpuUsPerMsg: (cpu() - cpu0) / p.count };
    });
  };
}

/** B2 (b): NATS publishes with the Liftbridge envelope and an ack inbox, window 1000. */
export const liftbridgePublishAckedNats = ackedCase("lb-nats-acked");
/** B2 (a): gRPC PublishAsync with the lean client, ack LEADER, window 1000. */
export const liftbridgePublishAckedGrpc = ackedCase("lb-grpc-async");

/** B3: unary Publish (lean client), one at a time. */
export async function liftbridgePublishLatency(p: CaseParams): Promise<CaseResult> {
  const name = `B3_${p.rep}`;
  const subject = `bench.b3.${p.rep}`;
  return withStream(name, subject, async () => {
    const cpu0 = cpu();
    const r = await runPublisher({
      url: server!.natsUrl,
      subject,
      count: p.count,
      size: p.size,
      mode: "lb-grpc-sync",
      grpcPort: server!.grpcPort,
      stream: name,
    });
    return {
      msgsPerSec: (p.count * 1000) / r.elapsedMs,
      serverCpuUsPerMsg: (cpu() - cpu0) / p.count,
      p50Ms: quantile(r.latenciesUs, 0.5) / 1000,
      p99Ms: quantile(r.latenciesUs, 0.99) / 1000,
    };
  });
}

function consumeCase(reader: "lean" | "grpc-js" | "grpc-js-1mib") {
  return async (p: CaseParams): Promise<CaseResult> => {
    const name = `B4${reader === "lean" ? "l" : reader === "grpc-js" ? "g" : "w"}_${p.rep}`;
    const subject = `bench.b4.${reader}.${p.rep}`;
    return withStream(name, subject, async (api) => {
      await runPublisher({ url: server!.natsUrl, subject, count: p.count, size: p.size, mode: "nats" });
      await waitForStored(api, name, p.count);
      const cpu0 = cpu();
      const mode = reader === "lean" ? "lb-lean" : reader === "grpc-js" ? "lb-grpc-js" : "lb-grpc-js-1mib";
      const r = await runReader({
        mode,
        grpcPort: server!.grpcPort,
        stream: name,
        count: p.count,
        size: p.size,
      });
      const elapsed = r.elapsedMs;
      return { msgsPerSec: (p.count * 1000) / elapsed, serverCpuUsPerMsg: (cpu() - cpu0) / r.messagesRead };
    });
  };
}

/** B4 with the lean @liftbridge/grpc reader. */
export const liftbridgeConsumeLean = consumeCase("lean");
/** B4 with a grpc-js reader (default options). */
export const liftbridgeConsumeGrpcJs = consumeCase("grpc-js");
/** B4 with a grpc-js reader whose HTTP/2 windows are 1 MiB (`grpc-node.flow_control_window`). */
export const liftbridgeConsumeGrpcJsWindow = consumeCase("grpc-js-1mib");
