// pnpm bench (after pnpm build): acked publishAsync (window 1000) and subscribe throughput of
// @liftbridge/client against the local liftbridge server, side by side with JetStream (Debian
// nats-server, file store) driven by the `nats` client, in the same run. Reps are interleaved; medians
// of BENCH_REPS (default 3) with [min-max], and Liftbridge / JetStream ratios.
// BENCH_SCALE (default 1) scales the message counts (e.g. 0.1 for a quick run).
// Each contender's reader runs in a fresh worker thread (its own V8 heap), as a consumer runs in its own
// process: it does not inherit the garbage of the 200k-1M publishes made just before (that cost the
// first read of our client ~40 % at 1 KiB, in garbage collection). Publishing stays on the main thread.
// Each reader first reads the first 50k messages untimed (its code warms up, as on a long-running
// consumer), then all of them; the time counted is that second read's, from `subscribe` to the last message.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { consumerOpts, connect as natsConnect, StorageType } from "nats";
import { connect } from "../dist/index.js";

/** Messages each reader reads untimed first, so that no contender is timed while its code warms up. */
const WARMUP = 50_000;

/** Reader roles, run in a worker thread: `read(n)` reads the stream's first n messages, returns bytes. */
const readers = {
  async liftbridge({ addr, stream }) {
    const client = await connect(addr);
    return {
      async read(n) {
        let bytes = 0;
        const sub = await client.subscribe(stream, { startAt: "earliest", stopAt: { offset: n - 1 } });
        for await (const m of sub) bytes += m.value.length;
        return bytes;
      },
      close: () => client.close(),
    };
  },
  async jetstream({ url, subject }) {
    const nc = await natsConnect({ servers: url, noAsyncTraces: true });
    const js = nc.jetstream();
    return {
      async read(n) {
        const opts = consumerOpts();
        opts.orderedConsumer();
        opts.deliverAll();
        const sub = await js.subscribe(subject, opts);
        let received = 0;
        let bytes = 0;
        for await (const m of sub) {
          bytes += m.data.length;
          if (++received === n) break;
        }
        return bytes;
      },
      close: () => nc.close(),
    };
  },
};

/** Opens the role's reader, warms it up, then times one read of every message. */
async function timedRead(data) {
  const reader = await readers[data.role](data);
  try {
    await reader.read(Math.min(WARMUP, data.count));
    const t1 = performance.now();
    const bytes = await reader.read(data.count);
    const rate = (data.count * 1000) / (performance.now() - t1);
    if (bytes !== data.count * data.size) throw new Error(`${data.role}: received ${bytes} bytes`);
    return rate;
  } finally {
    await reader.close();
  }
}

if (!isMainThread) {
  timedRead(workerData).then(
    (msgsPerSec) => parentPort.postMessage({ msgsPerSec }),
    (e) => parentPort.postMessage({ error: String(e?.stack ?? e) }),
  );
}

/** Runs one reader role in a fresh worker thread and resolves with its msgs/s. */
function readInWorker(data) {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: data });
    w.once("message", (m) => (m.error ? reject(new Error(m.error)) : resolve(m.msgsPerSec)));
    w.once("error", reject);
    w.once("exit", (code) => code !== 0 && reject(new Error(`reader worker exited ${code}`)));
  });
}

const here = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(here, "../../../apps/server/dist/cli.js");
const REPS = Number(process.env.BENCH_REPS ?? 3);
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const WINDOW = 1000;
const SHAPES = [
  { count: Math.round(1_000_000 * SCALE), size: 128 },
  { count: Math.round(200_000 * SCALE), size: 1024 },
];

const freePort = () =>
  new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

async function startLiftbridge() {
  const dir = mkdtempSync(join(tmpdir(), "lb-client-bench-"));
  writeFileSync(join(dir, "lb.conf"), "host: 127.0.0.1\n");
  const port = await freePort();
  const natsPort = await freePort();
  const args = [CLI, "--raft-bootstrap-seed", "-c", join(dir, "lb.conf"), "-d", join(dir, "data")];
  args.push("-p", String(port), "--embedded-nats-port", String(natsPort), "-l", "warn");
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"] });
  const addr = `127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const c = await connect(addr, { connectTimeoutMs: 500 });
      await c.close();
      break;
    } catch (e) {
      if (i > 100 || proc.exitCode !== null) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    addr,
    async stop() {
      proc.kill("SIGKILL");
      await new Promise((r) => proc.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startJetStream() {
  const dir = mkdtempSync(join(tmpdir(), "lb-client-bench-js-"));
  const port = await freePort();
  const bin = existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server";
  const proc = spawn(bin, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir], { stdio: "ignore" });
  const url = `nats://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const nc = await natsConnect({ servers: url, reconnect: false, timeout: 500 });
      await nc.close();
      break;
    } catch (e) {
      if (i > 100 || proc.exitCode !== null) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    async stop() {
      proc.kill("SIGKILL");
      await new Promise((r) => proc.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Liftbridge: acked publishAsync with at most WINDOW unacked, then a subscription reading them all. */
async function liftbridgeRep(addr, { count, size }, rep) {
  const client = await connect(addr, { ackWaitTimeMs: 60_000 });
  const stream = `bench-${size}-${rep}`;
  await client.createStream(stream, stream);
  const payload = Buffer.alloc(size, 0x61);
  let sent = 0;
  let acked = 0;
  let inflight = 0;
  const t0 = performance.now();
  await new Promise((resolve, reject) => {
    const onAck = (err) => {
      if (err !== undefined) return reject(err);
      acked++;
      inflight--;
      if (acked === count) resolve();
      else pump();
    };
    function pump() {
      while (inflight < WINDOW && sent < count) {
        inflight++;
        sent++;
        client.publishAsync(stream, payload, onAck);
      }
    }
    pump();
  });
  const publish = (count * 1000) / (performance.now() - t0);
  const subscribe = await readInWorker({ role: "liftbridge", addr, stream, count, size });
  await client.deleteStream(stream);
  await client.close();
  return { publish, subscribe };
}

/** JetStream: js.publish with at most WINDOW unacked, then a push ordered consumer from the start. */
async function jetstreamRep(url, { count, size }, rep) {
  const nc = await natsConnect({ servers: url, noAsyncTraces: true });
  const name = `B_${size}_${rep}`;
  const subject = `bench.${size}.${rep}`;
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name, subjects: [subject], storage: StorageType.File, num_replicas: 1 });
  const js = nc.jetstream();
  const payload = Buffer.alloc(size, 0x61);
  const inflight = [];
  let head = 0;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    inflight.push(js.publish(subject, payload));
    if (inflight.length - head >= WINDOW) await inflight[head++];
    if (head > 65536) {
      inflight.splice(0, head);
      head = 0;
    }
  }
  for (; head < inflight.length; head++) await inflight[head];
  const publish = (count * 1000) / (performance.now() - t0);
  const subscribe = await readInWorker({ role: "jetstream", url, subject, count, size });
  await jsm.streams.delete(name);
  await nc.close();
  return { publish, subscribe };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) =>
  `${Math.round(median(xs)).toLocaleString("en-US").padStart(9)} [${Math.round(Math.min(...xs)).toLocaleString("en-US")}-${Math.round(Math.max(...xs)).toLocaleString("en-US")}]`;

if (isMainThread) {
  const lb = await startLiftbridge();
  const jsPeer = await startJetStream();
  try {
    console.log(`@liftbridge/client bench: ${REPS} reps, window ${WINDOW}, node ${process.version}`);
    for (const shape of SHAPES) {
      const r = { lbPub: [], lbSub: [], jsPub: [], jsSub: [] };
      for (let rep = 0; rep < REPS; rep++) {
        const a = await liftbridgeRep(lb.addr, shape, rep);
        r.lbPub.push(a.publish);
        r.lbSub.push(a.subscribe);
        const b = await jetstreamRep(jsPeer.url, shape, rep);
        r.jsPub.push(b.publish);
        r.jsSub.push(b.subscribe);
        console.log(
          `  rep ${rep} ${shape.count} x ${shape.size} B: lb pub ${Math.round(a.publish)} sub ${Math.round(a.subscribe)} | js pub ${Math.round(b.publish)} sub ${Math.round(b.subscribe)} msgs/s`,
        );
      }
      const pubRatio = median(r.lbPub) / median(r.jsPub);
      const subRatio = median(r.lbSub) / median(r.jsSub);
      console.log(`\n${shape.count.toLocaleString("en-US")} x ${shape.size} B (msgs/s, median [min-max])`);
      console.log(
        `  acked publish   liftbridge publishAsync ${fmt(r.lbPub)}   jetstream async ${fmt(r.jsPub)}   ratio ${pubRatio.toFixed(2)}x (target >= 3x)`,
      );
      console.log(
        `  subscribe       liftbridge subscribe    ${fmt(r.lbSub)}   jetstream ordered ${fmt(r.jsSub)} ratio ${subRatio.toFixed(2)}x (target >= 3x)\n`,
      );
    }
  } finally {
    await lb.stop();
    await jsPeer.stop();
  }
}
