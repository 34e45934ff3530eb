// `pnpm bench`: publish -> subscribe through sockets with the nats client (publisher, subscriber and
// server each in their own process), embedded server vs Debian's nats-server in the same run,
// interleaved repetitions, medians. Then the in-process path of the embedded server.
import { execFileSync, fork, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "nats";
import { startNatsServer } from "../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const REPS = Number(process.env.BENCH_REPS ?? 5);
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const WORKLOADS = [
  { name: "1M x 128 B", count: Math.round(1_000_000 * SCALE), size: 128 },
  { name: "200k x 1 KiB", count: Math.round(200_000 * SCALE), size: 1024 },
];
const NATS_SERVER_BIN =
  process.env.NATS_SERVER_BIN ??
  ["/usr/sbin/nats-server", "/usr/bin/nats-server"].find((p) => existsSync(p)) ??
  "nats-server";

// BENCH_PIN=1 confines each server (all its threads) to CPU 0 and the clients to CPU 1, the same for
// both servers: a single-core comparison that takes the scheduler's share per thread out of the result.
const PIN = process.env.BENCH_PIN === "1";
function pin(pid, cpu) {
  if (PIN) execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(pid)], { stdio: "ignore" });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n) => Math.round(n).toLocaleString("en-US");

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port) {
  for (let i = 0; i < 500; i++) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        r(true);
      });
      s.once("error", () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`port ${port} not listening`);
}

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
} catch {}

/** CPU time (user + system) of a process, from /proc, in microseconds. */
function procCpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) / clockTicks) * 1e6;
}

const servers = {
  async embedded() {
    const child = fork(join(here, "embedded-server.mjs"), [], { stdio: "inherit" });
    const { port } = await new Promise((r) => child.once("message", r));
    pin(child.pid, 0);
    return {
      url: `nats://127.0.0.1:${port}`,
      cpuMicros: () =>
        new Promise((r) => {
          child.once("message", (m) => r(m.cpuMicros));
          child.send("cpu");
        }),
      stop: () =>
        new Promise((r) => {
          child.once("exit", r);
          child.send("stop");
        }),
    };
  },
  async "nats-server"() {
    const port = await freePort();
    const child = spawn(NATS_SERVER_BIN, ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
    await waitForPort(port);
    pin(child.pid, 0);
    return {
      url: `nats://127.0.0.1:${port}`,
      cpuMicros: async () => procCpuMicros(child.pid),
      stop: () =>
        new Promise((r) => {
          child.once("exit", r);
          child.kill("SIGTERM");
        }),
    };
  },
};

function run(file, args) {
  const child = fork(join(here, file), args, { stdio: "inherit" });
  pin(child.pid, 1);
  const messages = [];
  const waiters = [];
  child.on("message", (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else messages.push(m);
  });
  const exited = new Promise((resolve, reject) =>
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${file} exited ${code}`)))),
  );
  return {
    next: () => (messages.length ? Promise.resolve(messages.shift()) : new Promise((r) => waiters.push(r))),
    exited,
  };
}

async function pubSub(server, { count, size }) {
  const url = server.url;
  const cpu0 = await server.cpuMicros();
  const subject = `bench.${Math.random().toString(36).slice(2)}`;
  const sub = run("sub.mjs", [url, subject, String(count)]);
  await sub.next(); // ready
  const pub = run("pub.mjs", [url, subject, String(count), String(size)]);
  const [pubRes, subRes] = await Promise.all([pub.next(), sub.next()]);
  await Promise.all([pub.exited, sub.exited]);
  if (subRes.received !== count) throw new Error(`lost messages: ${subRes.received}/${count}`);
  const cpuPerMsg = ((await server.cpuMicros()) - cpu0) / count;
  return { pubRate: count / (pubRes.ms / 1000), subRate: count / (subRes.ms / 1000), cpuPerMsg };
}

async function socketBench() {
  const results = {};
  const cpu = {};
  for (let rep = 1; rep <= REPS; rep++) {
    // ABBA order: alternate which server goes first so neither always follows the other's teardown.
    const order = rep % 2 === 1 ? Object.keys(servers) : Object.keys(servers).reverse();
    for (const name of order) {
      const server = await servers[name]();
      try {
        // Same untimed warm-up for both servers (lets V8 optimise the embedded server's hot paths).
        await pubSub(server, { count: Math.round(200_000 * SCALE), size: 128 });
        for (const w of WORKLOADS) {
          const r = await pubSub(server, w);
          const key = `${w.name}|${name}`;
          results[key] = [...(results[key] ?? []), r.subRate];
          cpu[key] = [...(cpu[key] ?? []), r.cpuPerMsg];
          console.log(
            `rep ${rep} ${name.padEnd(11)} ${w.name.padEnd(13)} sub ${fmt(r.subRate)} msgs/s (pub ${fmt(r.pubRate)} msgs/s), server CPU ${r.cpuPerMsg.toFixed(2)} us/msg`,
          );
        }
      } finally {
        await server.stop();
      }
    }
  }
  console.log("\nmedians (subscriber msgs/s, publisher and subscriber in separate processes):");
  for (const w of WORKLOADS) {
    const ours = median(results[`${w.name}|embedded`]);
    const theirs = median(results[`${w.name}|nats-server`]);
    console.log(
      `  ${w.name.padEnd(13)} embedded ${fmt(ours)}  nats-server ${fmt(theirs)}  ratio ${(ours / theirs).toFixed(2)} (target >= 0.70)`,
    );
  }
  console.log("medians (server CPU time per message, user + system; lower is better):");
  for (const w of WORKLOADS) {
    const ours = median(cpu[`${w.name}|embedded`]);
    const theirs = median(cpu[`${w.name}|nats-server`]);
    console.log(
      `  ${w.name.padEnd(13)} embedded ${ours.toFixed(2)} us  nats-server ${theirs.toFixed(2)} us  ratio ${(theirs / ours).toFixed(2)} (nats-server / embedded)`,
    );
  }
}

async function inProcessBench() {
  const server = await startNatsServer({ port: 0 });
  const rates = { "in-process -> in-process": [], "nats client (socket) -> in-process": [] };
  try {
    for (let rep = 1; rep <= REPS; rep++) {
      const { count, size } = WORKLOADS[0];
      const payload = Buffer.alloc(size, 97);
      // 1. Both ends in process.
      {
        const conn = server.connect();
        let n = 0;
        const done = new Promise((resolve) =>
          conn.subscribe("inproc", { callback: () => ++n === count && resolve() }),
        );
        const t0 = performance.now();
        for (let i = 0; i < count; i++) {
          conn.publish("inproc", payload);
          if (i % 10_000 === 0) await conn.flush();
        }
        await done;
        const rate = count / ((performance.now() - t0) / 1000);
        rates["in-process -> in-process"].push(rate);
        console.log(`rep ${rep} in-process -> in-process ${fmt(rate)} msgs/s`);
        conn.close();
      }
      // 2. The broker's ingest path: a socket publisher (other process) into an in-process subscriber.
      {
        const conn = server.connect();
        let n = 0;
        let first = 0;
        const done = new Promise((resolve) =>
          conn.subscribe("ingest", {
            callback: () => {
              if (n === 0) first = performance.now();
              if (++n === count) resolve(performance.now());
            },
          }),
        );
        const pub = run("pub.mjs", [server.url, "ingest", String(count), String(size)]);
        const last = await done;
        await pub.next();
        await pub.exited;
        const rate = count / ((last - first) / 1000);
        rates["nats client (socket) -> in-process"].push(rate);
        console.log(`rep ${rep} nats client (socket) -> in-process ${fmt(rate)} msgs/s`);
        conn.close();
      }
    }
  } finally {
    await server.close();
  }
  console.log(`\nin-process medians (${WORKLOADS[0].name}):`);
  for (const [k, v] of Object.entries(rates)) console.log(`  ${k.padEnd(36)} ${fmt(median(v))} msgs/s`);
}

// Sanity check that the nats client can reach both servers before timing anything.
{
  const s = await servers.embedded();
  const nc = await connect({ servers: s.url, noAsyncTraces: true });
  await nc.flush();
  await nc.close();
  await s.stop();
}
console.log(
  `nats-server bench: ${REPS} interleaved reps, scale ${SCALE}${PIN ? ", servers pinned to CPU 0, clients to CPU 1" : ""}\n`,
);
await socketBench();
console.log("");
await inProcessBench();
