/**
 * Publisher worker: runs in its own thread so publishing and consuming do not share one event loop
 * (BENCHMARKS.md: one JS thread for both costs ~20 %).
 */
import { parentPort, workerData } from "node:worker_threads";
import { AckPolicy, APIService, newMessage } from "@liftbridge/api";
import { createClient, connect as grpcConnect } from "@liftbridge/grpc";
import { connect, type PubAck } from "nats";

export type PublishMode =
  | "nats"
  | "jetstream-async"
  | "jetstream-sync"
  | "lb-nats-acked"
  | "lb-grpc-async"
  | "lb-grpc-sync";

export interface PublisherJob {
  readonly url: string;
  readonly subject: string;
  readonly count: number;
  readonly size: number;
  readonly mode: PublishMode;
  /** In-flight window for acked asynchronous publishes. */
  readonly window?: number;
  /** Liftbridge modes: the gRPC port and the stream name. */
  readonly grpcPort?: number;
  readonly stream?: string;
}

export interface PublisherResult {
  readonly elapsedMs: number;
  readonly acked: number;
  /** Per-publish latency in microseconds (sync mode only). */
  readonly latenciesUs: number[];
}

async function runLiftbridge(job: PublisherJob): Promise<PublisherResult> {
  const payload = Buffer.alloc(job.size, 0x61);
  const window = job.window ?? 1000;
  const latenciesUs: number[] = [];
  let acked = 0;
  if (job.mode === "lb-nats-acked") {
    const nc = await connect({ servers: job.url, noAsyncTraces: true });
    const inbox = `bench.acks.${job.subject}`;
    let inflight = 0;
    let wake: (() => void) | undefined;
    nc.subscribe(inbox, {
      callback: () => {
        acked++;
        inflight--;
        if (wake !== undefined && (inflight < window / 2 || acked === job.count)) {
          const w = wake;
          wake = undefined;
          w();
        }
      },
    });
    await nc.flush();
    const msg = newMessage(payload, { ackInbox: inbox, ackPolicy: AckPolicy.LEADER });
    const started = performance.now();
    for (let i = 0; i < job.count; i++) {
      if (inflight >= window) await new Promise<void>((r) => (wake = r));
      nc.publish(job.subject, msg);
      inflight++;
    }
    while (acked < job.count) await new Promise<void>((r) => (wake = r));
    const elapsedMs = performance.now() - started;
    await nc.close();
    return { elapsedMs, acked, latenciesUs };
  }
  const channel = grpcConnect(`http://127.0.0.1:${job.grpcPort}`);
  // biome-ignore lint/suspicious/noExplicitAny: the definitions' streaming flags are plain booleans.
  const api = createClient(APIService, channel) as any;
  const started = performance.now();
  if (job.mode === "lb-grpc-sync") {
    for (let i = 0; i < job.count; i++) {
      const t0 = performance.now();
      await api.Publish({ stream: job.stream, value: payload }, { timeoutMs: 10_000 });
      latenciesUs.push((performance.now() - t0) * 1000);
      acked++;
    }
  } else {
    const call = api.PublishAsync();
    let inflight = 0;
    let wake: (() => void) | undefined;
    call.onMessage((r: { asyncError?: unknown }) => {
      if (r.asyncError) throw new Error(`publish failed: ${JSON.stringify(r.asyncError)}`);
      acked++;
      inflight--;
      if (wake !== undefined && (inflight < window / 2 || acked === job.count)) {
        const w = wake;
        wake = undefined;
        w();
      }
    });
    for (let i = 0; i < job.count; i++) {
      if (inflight >= window) await new Promise<void>((r) => (wake = r));
      if (!call.send({ stream: job.stream, value: payload, correlationId: String(i) })) await call.drain();
      inflight++;
    }
    while (acked < job.count) await new Promise<void>((r) => (wake = r));
    call.end();
  }
  const elapsedMs = performance.now() - started;
  await channel.close();
  return { elapsedMs, acked, latenciesUs };
}

async function run(job: PublisherJob): Promise<PublisherResult> {
  if (job.mode.startsWith("lb-")) return runLiftbridge(job);
  const nc = await connect({ servers: job.url, noAsyncTraces: true });
  const payload = Buffer.alloc(job.size, 0x61);
  const latenciesUs: number[] = [];
  let acked = 0;
  const started = performance.now();
  if (job.mode === "nats") {
    for (let i = 0; i < job.count; i++) {
      nc.publish(job.subject, payload);
      // Yield now and then so the socket drains instead of buffering the whole run in memory.
      if ((i & 0x3fff) === 0x3fff) await nc.flush();
    }
    await nc.flush();
  } else if (job.mode === "jetstream-async") {
    const js = nc.jetstream();
    const window = job.window ?? 1000;
    const inflight: Promise<PubAck>[] = [];
    let head = 0;
    for (let i = 0; i < job.count; i++) {
      inflight.push(js.publish(job.subject, payload));
      if (inflight.length - head >= window) {
        await inflight[head++];
        acked++;
      }
      if (head > 65536) {
        inflight.splice(0, head);
        head = 0;
      }
    }
    for (; head < inflight.length; head++) {
      await inflight[head];
      acked++;
    }
  } else {
    const js = nc.jetstream();
    for (let i = 0; i < job.count; i++) {
      const t0 = performance.now();
      await js.publish(job.subject, payload);
      latenciesUs.push((performance.now() - t0) * 1000);
      acked++;
    }
  }
  const elapsedMs = performance.now() - started;
  await nc.close();
  return { elapsedMs, acked, latenciesUs };
}

if (parentPort) {
  const port = parentPort;
  run(workerData as PublisherJob).then(
    (result) => port.postMessage({ ok: true, result }),
    (err: unknown) => port.postMessage({ ok: false, error: String((err as Error)?.stack ?? err) }),
  );
}
