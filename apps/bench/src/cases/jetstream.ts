import { connect, type NatsConnection, StorageType } from "nats";
import { processCpuMicros } from "../proc.js";
import { runPublisher, runReader } from "../run-worker.js";
import { quantile } from "../stats.js";

/** One repetition's outcome: throughput, server CPU per message, and case-specific extras. */
export interface CaseResult {
  readonly msgsPerSec: number;
  readonly serverCpuUsPerMsg: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
}

export interface CaseParams {
  readonly url: string;
  readonly serverPid: number;
  readonly count: number;
  readonly size: number;
  /** Distinguishes repetitions: every repetition uses a fresh stream. */
  readonly rep: number;
}

const connectPeer = (url: string) => connect({ servers: url, noAsyncTraces: true });

async function withStream<T>(
  nc: NatsConnection,
  name: string,
  subject: string,
  fn: () => Promise<T>,
): Promise<T> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name, subjects: [subject], storage: StorageType.File, num_replicas: 1 });
  try {
    return await fn();
  } finally {
    await jsm.streams.delete(name);
  }
}

/** Polls the stream's message count until it holds `count` messages; fails after `timeoutMs`. */
async function waitForStored(nc: NatsConnection, name: string, count: number, timeoutMs = 180_000) {
  const jsm = await nc.jetstreamManager();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await jsm.streams.info(name);
    if (info.state.messages >= count) return info.state.messages;
    if (Date.now() > deadline) {
      throw new Error(`stream ${name} holds ${info.state.messages} of ${count} messages: loss or stall`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface StreamCase {
  readonly nc: NatsConnection;
  readonly name: string;
  readonly subject: string;
  /** Server CPU time per message since the case body started. */
  cpuPerMsg(): number;
}

/** Runs `body` against a fresh file-store stream `B<n>_<rep>` on `bench.b<n>.<rep>`, then deletes it. */
async function withFreshStream(
  p: CaseParams,
  id: string,
  body: (c: StreamCase) => Promise<CaseResult>,
): Promise<CaseResult> {
  const nc = await connectPeer(p.url);
  try {
    const name = `${id}_${p.rep}`;
    const subject = `bench.${id.toLowerCase()}.${p.rep}`;
    return await withStream(nc, name, subject, () => {
      const cpu0 = processCpuMicros(p.serverPid);
      const cpuPerMsg = () => (processCpuMicros(p.serverPid) - cpu0) / p.count;
      return body({ nc, name, subject, cpuPerMsg });
    });
  } finally {
    await nc.close();
  }
}

/** B1: plain NATS publishes into a subject with a JetStream stream attached, until stored. */
export function jetstreamIngest(p: CaseParams): Promise<CaseResult> {
  return withFreshStream(p, "B1", async ({ nc, name, subject, cpuPerMsg }) => {
    const t0 = performance.now();
    await runPublisher({ url: p.url, subject, count: p.count, size: p.size, mode: "nats" });
    const stored = await waitForStored(nc, name, p.count);
    const elapsed = performance.now() - t0;
    if (stored !== p.count) throw new Error(`stream holds ${stored}, expected ${p.count}`);
    return { msgsPerSec: (p.count * 1000) / elapsed, serverCpuUsPerMsg: cpuPerMsg() };
  });
}

/** B2: acknowledged asynchronous publishes, at most 1000 unacknowledged. */
export function jetstreamPublishAcked(p: CaseParams): Promise<CaseResult> {
  return withFreshStream(p, "B2", async ({ nc, name, subject, cpuPerMsg }) => {
    const job = { url: p.url, subject, count: p.count, size: p.size, window: 1000 };
    const r = await runPublisher({ ...job, mode: "jetstream-async" });
    if (r.acked !== p.count) throw new Error(`acked ${r.acked} of ${p.count}`);
    await waitForStored(nc, name, p.count);
    return { msgsPerSec: (p.count * 1000) / r.elapsedMs, serverCpuUsPerMsg: cpuPerMsg() };
  });
}

/** B3: publishes one at a time, each awaited; reports latency quantiles. */
export function jetstreamPublishLatency(p: CaseParams): Promise<CaseResult> {
  return withFreshStream(p, "B3", async ({ subject, cpuPerMsg }) => {
    const r = await runPublisher({
      url: p.url,
      subject,
      count: p.count,
      size: p.size,
      mode: "jetstream-sync",
    });
    return {
      msgsPerSec: (p.count * 1000) / r.elapsedMs,
      serverCpuUsPerMsg: cpuPerMsg(),
      p50Ms: quantile(r.latenciesUs, 0.5) / 1000,
      p99Ms: quantile(r.latenciesUs, 0.99) / 1000,
    };
  });
}

/** B4: an ordered consumer reads `count` stored messages from the start. */
export async function jetstreamConsume(p: CaseParams): Promise<CaseResult> {
  const nc = await connectPeer(p.url);
  try {
    const name = `B4_${p.rep}`;
    const subject = `bench.b4.${p.rep}`;
    return await withStream(nc, name, subject, async () => {
      await runPublisher({ url: p.url, subject, count: p.count, size: p.size, mode: "nats" });
      await waitForStored(nc, name, p.count);
      const cpu0 = processCpuMicros(p.serverPid);
      const r = await runReader({
        mode: "jetstream-ordered",
        url: p.url,
        subject,
        count: p.count,
        size: p.size,
      });
      const elapsed = r.elapsedMs;
      return {
        msgsPerSec: (p.count * 1000) / elapsed,
        serverCpuUsPerMsg: (processCpuMicros(p.serverPid) - cpu0) / r.messagesRead,
      };
    });
  } finally {
    await nc.close();
  }
}

/** Upper bound for B1/B4: core NATS publish -> Node subscriber, no persistence. */
export async function coreNatsBound(p: CaseParams): Promise<CaseResult> {
  const nc = await connectPeer(p.url);
  try {
    const subject = `bench.bound.${p.rep}`;
    let received = 0;
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const sub = nc.subscribe(subject, {
      callback: () => {
        if (++received === p.count) done();
      },
    });
    await nc.flush();
    const cpu0 = processCpuMicros(p.serverPid);
    const t0 = performance.now();
    await runPublisher({ url: p.url, subject, count: p.count, size: p.size, mode: "nats" });
    const timeout = setTimeout(() => done(), 60_000);
    await all;
    clearTimeout(timeout);
    const elapsed = performance.now() - t0;
    sub.unsubscribe();
    if (received < p.count) throw new Error(`core NATS subscriber got ${received} of ${p.count}`);
    return {
      msgsPerSec: (p.count * 1000) / elapsed,
      serverCpuUsPerMsg: (processCpuMicros(p.serverPid) - cpu0) / p.count,
    };
  } finally {
    await nc.close();
  }
}
