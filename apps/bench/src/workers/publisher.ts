/**
 * Publisher worker: runs in its own thread so publishing and consuming do not share one event loop
 * (BENCHMARKS.md: one JS thread for both costs ~20 %).
 */
import { parentPort, workerData } from "node:worker_threads";
import { connect, type PubAck } from "nats";

export type PublishMode = "nats" | "jetstream-async" | "jetstream-sync";

export interface PublisherJob {
  readonly url: string;
  readonly subject: string;
  readonly count: number;
  readonly size: number;
  readonly mode: PublishMode;
  /** In-flight window for acked asynchronous publishes. */
  readonly window?: number;
}

export interface PublisherResult {
  readonly elapsedMs: number;
  readonly acked: number;
  /** Per-publish latency in microseconds (sync mode only). */
  readonly latenciesUs: number[];
}

async function run(job: PublisherJob): Promise<PublisherResult> {
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
