// `pnpm bench`: re-measures the two tables of issue 6 (spec/grpc-transport.md §2a/§2b) in one run.
// Every case runs a fresh server process and a separate client process; reps are interleaved
// (rep 1 of every case, then rep 2, ...); each figure is the median of REPS runs with [min-max].
// Server CPU per message comes from /proc/<pid>/stat over the client's timed interval.
import { spawn } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const REPS = Number(process.env.BENCH_REPS ?? 5);
const SUB_COUNT = Number(process.env.BENCH_SUB_COUNT ?? 200_000);
const PUB_COUNT = Number(process.env.BENCH_PUB_COUNT ?? 100_000);
const UNARY_COUNT = Number(process.env.BENCH_UNARY_COUNT ?? 5_000);
const COUNTS = { sub: SUB_COUNT, pub: PUB_COUNT, unary: UNARY_COUNT };
const dir = fileURLToPath(new URL(".", import.meta.url));

// Cases compared by a target run back to back within each rep, so that a per-rep ratio compares runs
// that saw the same machine load.
const CASES = [
  { table: "sub", server: "grpc-js", client: "grpc-js", baseline: true },
  { table: "sub", server: "lean", client: "grpc-js" },
  { table: "sub", server: "grpc-js", client: "lean" },
  { table: "sub", server: "lean", client: "lean" },
  { table: "pub", server: "grpc-js", client: "grpc-js", baseline: true },
  { table: "pub", server: "lean", client: "grpc-js" },
  { table: "pub", server: "lean", client: "lean" },
  { table: "unary", server: "grpc-js", client: "grpc-js", baseline: true },
  { table: "unary", server: "lean", client: "lean" },
];

function startServer(impl) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${dir}server.mjs`, impl], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => resolve({ child, port: JSON.parse(line).port }));
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`server ${impl} exited with ${code}`)));
  });
}

function runClient(impl, workload, port, serverPid, count) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [`${dir}client.mjs`, impl, workload, String(port), String(serverPid), String(count)],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.once("exit", (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split("\n").pop()))
        : reject(new Error(`client exited with ${code}`)),
    );
  });
}

async function runCase(c) {
  const { child, port } = await startServer(c.server);
  try {
    return await runClient(c.client, c.table, port, child.pid, COUNTS[c.table]);
  } finally {
    child.removeAllListeners("exit");
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const fmt = (n) => Math.round(n).toLocaleString("en-US");

// The machine may be shared: say how busy it was, since every figure depends on it.
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
const loadBefore = load();
const results = CASES.map(() => []);
for (let rep = 1; rep <= REPS; rep++) {
  for (const [i, c] of CASES.entries()) {
    const r = await runCase(c);
    results[i].push(r);
    process.stderr.write(`rep ${rep} ${c.table} ${c.server} <- ${c.client}: ${fmt(r.msgsPerSec)} msgs/s\n`);
  }
}

console.log(
  `node ${process.version}, ${availableParallelism()} CPUs, load average before ${loadBefore}, after ${load()}; ` +
    `${REPS} reps; msgs/s are median [min-max]; CPU columns are medians (server from /proc/<pid>/stat, 10 ms ticks).`,
);
const summary = {};
const TITLES = {
  sub: `server-streaming, ${fmt(SUB_COUNT)} x 128 B (Subscribe-like)`,
  pub: `bidi publish, ${fmt(PUB_COUNT)} x 128 B, window ${1000}, one ack each (PublishAsync-like)`,
  unary: `sequential unary calls, ${fmt(UNARY_COUNT)} x 128 B, one in flight (Publish-like)`,
};
for (const table of ["sub", "pub", "unary"]) {
  const title = TITLES[table];
  const latency = table === "unary";
  console.log(`\n### ${title}; median of ${REPS} [min-max]\n`);
  console.log(
    `| server | client | msgs/s | vs grpc-js/grpc-js | server CPU us/msg | client CPU us/msg |${latency ? " p50 us | p99 us |" : ""}`,
  );
  console.log(`|---|---|---|---|---|---|${latency ? "---|---|" : ""}`);
  const base = median(
    results[CASES.findIndex((c) => c.table === table && c.baseline)].map((r) => r.msgsPerSec),
  );
  for (const [i, c] of CASES.entries()) {
    if (c.table !== table) continue;
    const rates = results[i].map((r) => r.msgsPerSec);
    const med = median(rates);
    summary[`${table}:${c.server}<-${c.client}`] = med;
    console.log(
      `| ${c.server} | ${c.client} | **${fmt(med)}** [${fmt(Math.min(...rates))}-${fmt(Math.max(...rates))}] | ${(med / base).toFixed(2)}x | ${median(results[i].map((r) => r.serverCpuUsPerMsg)).toFixed(2)} | ${median(results[i].map((r) => r.clientCpuUsPerMsg)).toFixed(2)} |${latency ? ` ${fmt(median(results[i].map((r) => r.p50Us)))} | ${fmt(median(results[i].map((r) => r.p99Us)))} |` : ""}`,
    );
  }
}

const indexOf = (table, server, client) =>
  CASES.findIndex((c) => c.table === table && c.server === server && c.client === client);
const subRatios = results[indexOf("sub", "lean", "grpc-js")].map(
  (r, rep) => r.msgsPerSec / results[indexOf("sub", "grpc-js", "grpc-js")][rep].msgsPerSec,
);
const cpuRatio =
  median(results[indexOf("sub", "grpc-js", "grpc-js")].map((r) => r.serverCpuUsPerMsg)) /
  median(results[indexOf("sub", "lean", "grpc-js")].map((r) => r.serverCpuUsPerMsg));
console.log(
  "\nlean server vs grpc-js server, both serving a grpc-js client: per-rep throughput ratios " +
    `${subRatios.map((x) => x.toFixed(2)).join(", ")} (median ${median(subRatios).toFixed(2)}x); ` +
    `server CPU per message ${cpuRatio.toFixed(1)}x lower.`,
);
const targets = [
  [
    "server-streaming to a grpc-js client >= 3x grpc-js's server (ratio of medians)",
    summary["sub:lean<-grpc-js"] / summary["sub:grpc-js<-grpc-js"],
    3,
    "x",
  ],
  [
    "server-streaming to a grpc-js client >= 3x grpc-js's server (median of per-rep ratios)",
    median(subRatios),
    3,
    "x",
  ],
  ["lean <-> lean server-streaming >= 400k msgs/s", summary["sub:lean<-lean"], 400_000, " msgs/s"],
  ["lean <-> lean bidi acked >= 250k msgs/s", summary["pub:lean<-lean"], 250_000, " msgs/s"],
];
console.log("\n### targets (issue 6)\n");
for (const [name, value, goal, unit] of targets) {
  const shown = unit === "x" ? `${value.toFixed(2)}x` : `${fmt(value)}${unit}`;
  console.log(`- ${value >= goal ? "MET" : "MISSED"}: ${name}: ${shown}`);
}
