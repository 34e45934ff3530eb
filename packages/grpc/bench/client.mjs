// Benchmark client process: `node client.mjs lean|grpc-js sub|pub PORT SERVER_PID COUNT`.
// Warms up on the same connection, then times one run and prints msgs/s and CPU of both processes.
import { BenchService, decodeOffset, encodeCount, encodePubReq, procCpuSeconds } from "./codec.mjs";

const [impl, workload, port, serverPid, countArg] = process.argv.slice(2);
const COUNT = Number(countArg);
const WARMUP = 10_000;
const WINDOW = 1000;
const REFILL_BELOW = 500;
const VALUE = Buffer.alloc(128, 0x62);
const target = `127.0.0.1:${port}`;

let lean;
let gjs;
if (impl === "lean") {
  const { connect, createClient } = await import("../dist/index.js");
  const channel = connect(target);
  lean = { channel, client: createClient(BenchService, channel) };
} else {
  const grpc = await import("@grpc/grpc-js");
  const Ctor = grpc.makeGenericClientConstructor(BenchService, "Bench");
  gjs = { grpc, client: new Ctor(target, grpc.credentials.createInsecure()) };
}

function subLean(count) {
  return new Promise((resolve, reject) => {
    const call = lean.client.sub(encodeCount(count));
    let expected = 0;
    call.onMessage((m) => {
      const off = decodeOffset(m);
      if (off !== expected) reject(new Error(`out of order: ${off} != ${expected}`));
      expected++;
    });
    call.status.then((err) =>
      err ? reject(err) : expected === count ? resolve() : reject(new Error(`got ${expected}`)),
    );
  });
}

function subGrpcJs(count) {
  return new Promise((resolve, reject) => {
    const call = gjs.client.sub(encodeCount(count));
    let expected = 0;
    call.on("data", (m) => {
      const off = decodeOffset(m);
      if (off !== expected) reject(new Error(`out of order: ${off} != ${expected}`));
      expected++;
    });
    call.on("error", reject);
    call.on("end", () => (expected === count ? resolve() : reject(new Error(`got ${expected}`))));
  });
}

function pubLean(count) {
  return new Promise((resolve, reject) => {
    const call = lean.client.pub();
    let sent = 0;
    let acked = 0;
    const req = encodePubReq(VALUE);
    const fill = () => {
      while (sent < count && sent - acked < WINDOW) {
        call.send(req);
        sent++;
      }
      if (sent === count) call.end();
    };
    call.onMessage((m) => {
      const off = decodeOffset(m);
      if (off !== acked) reject(new Error(`ack out of order: ${off} != ${acked}`));
      acked++;
      if (sent - acked < REFILL_BELOW && sent < count) fill();
    });
    call.status.then((err) =>
      err ? reject(err) : acked === count ? resolve() : reject(new Error(`acked ${acked}`)),
    );
    fill();
  });
}

function pubGrpcJs(count) {
  return new Promise((resolve, reject) => {
    const call = gjs.client.pub();
    let sent = 0;
    let acked = 0;
    const req = encodePubReq(VALUE);
    const fill = () => {
      while (sent < count && sent - acked < WINDOW) {
        call.write(req);
        sent++;
      }
      if (sent === count) call.end();
    };
    call.on("data", (m) => {
      const off = decodeOffset(m);
      if (off !== acked) reject(new Error(`ack out of order: ${off} != ${acked}`));
      acked++;
      if (sent - acked < REFILL_BELOW && sent < count) fill();
    });
    call.on("error", reject);
    call.on("end", () => (acked === count ? resolve() : reject(new Error(`acked ${acked}`))));
    fill();
  });
}

// Sequential unary calls (Publish-like): one call in flight at a time; per-call latencies recorded.
const latenciesUs = [];
async function unaryLean(count) {
  const req = encodePubReq(VALUE);
  latenciesUs.length = 0;
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    await lean.client.unary(req);
    latenciesUs.push(Number(process.hrtime.bigint() - t) / 1e3);
  }
}

async function unaryGrpcJs(count) {
  const req = encodePubReq(VALUE);
  latenciesUs.length = 0;
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    await new Promise((resolve, reject) => gjs.client.unary(req, (e, r) => (e ? reject(e) : resolve(r))));
    latenciesUs.push(Number(process.hrtime.bigint() - t) / 1e3);
  }
}

const run = {
  "lean:sub": subLean,
  "grpc-js:sub": subGrpcJs,
  "lean:pub": pubLean,
  "grpc-js:pub": pubGrpcJs,
  "lean:unary": unaryLean,
  "grpc-js:unary": unaryGrpcJs,
}[`${impl}:${workload}`];
await run(workload === "unary" ? Math.min(WARMUP, 2000) : WARMUP);
const serverCpu0 = procCpuSeconds(serverPid);
const clientCpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
await run(COUNT);
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const clientCpu = process.cpuUsage(clientCpu0);
const serverCpu = procCpuSeconds(serverPid) - serverCpu0;
console.log(
  JSON.stringify({
    msgsPerSec: COUNT / secs,
    secs,
    serverCpuUsPerMsg: (serverCpu * 1e6) / COUNT,
    clientCpuUsPerMsg: (clientCpu.user + clientCpu.system) / COUNT,
    ...(latenciesUs.length > 0 ? latencyPercentiles() : {}),
  }),
);
function latencyPercentiles() {
  const s = [...latenciesUs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50Us: at(0.5), p99Us: at(0.99) };
}

if (lean) await lean.channel.close();
else gjs.client.close();
