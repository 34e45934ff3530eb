// Benchmark for @liftbridge/commitlog (run by `pnpm bench` after `pnpm build`). Prints medians of
// REPS repetitions and ratios against baselines measured in the same run: raw `fs` appends of the
// same bytes, and better-sqlite3 (WAL mode) storing the same records. Never a CI gate.
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as fsp from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openCommitLog } from "../dist/index.js";

const REPS = Number(process.env.REPS ?? 3);
const SCALE = Number(process.env.SCALE ?? 1); // e.g. SCALE=0.1 for a quick run
const BATCH = 1000;
const ENTRY_OVERHEAD = 28 + 16; // set header + message fixed part (null key, no headers)

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(1);
const tmp = () => mkdtempSync(join(tmpdir(), "commitlog-bench-"));
// Process CPU time (main thread + libuv threadpool, user + system) of the last timed section: far
// less sensitive to other jobs on a shared machine than wall time.
let lastCpu = 0;
const cpuStart = () => process.cpuUsage();
const cpuEnd = (c0) => {
  const c = process.cpuUsage(c0);
  lastCpu = (c.user + c.system) / 1e6;
};

function makeBatch(valueSize) {
  const value = Buffer.alloc(valueSize, 0x61);
  return Array.from({ length: BATCH }, () => ({ key: null, value }));
}

async function commitlogAppend(n, valueSize, sync) {
  const dir = tmp();
  const log = await openCommitLog(dir, { sync, cleanerIntervalMs: 0 });
  const batch = makeBatch(valueSize);
  const c0 = cpuStart();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += BATCH) await log.append(batch);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  cpuEnd(c0);
  await log.close();
  return { secs, dir };
}

async function commitlogAppendPipelined(n, valueSize, sync, window = 8) {
  // Like a broker fed by a socket: a new batch arrives every event-loop turn (setImmediate),
  // without waiting for earlier appends, at most `window` batches outstanding. Batches that
  // arrive while a write (and fsync) is in flight are group-committed into the next write.
  const dir = tmp();
  const log = await openCommitLog(dir, { sync, cleanerIntervalMs: 0 });
  const batch = makeBatch(valueSize);
  const t0 = process.hrtime.bigint();
  const outstanding = [];
  for (let i = 0; i < n; i += BATCH) {
    outstanding.push(log.append(batch));
    if (outstanding.length >= window) await outstanding.shift();
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(outstanding);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await log.close();
  rmSync(dir, { recursive: true, force: true });
  return secs;
}

async function commitlogRead(dir, n, mode) {
  const log = await openCommitLog(dir, { cleanerIntervalMs: 0 });
  log.setHighWatermark(log.newestOffset);
  let count = 0;
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  if (mode === "records") {
    for await (const r of log.read({ offset: 0, committed: true, wait: false })) {
      count++;
      bytes += r.value.length;
    }
  } else if (mode === "batches") {
    for await (const b of log.readBatches({ offset: 0, committed: true, wait: false })) {
      count += b.length;
      for (const r of b) bytes += r.value.length;
    }
  } else {
    for await (const b of log.readRaw({ offset: 0, committed: true, wait: false })) {
      count += b.count;
      bytes += b.bytes.length;
    }
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await log.close();
  if (count !== n || bytes === 0) throw new Error(`read ${count} records, expected ${n}`);
  return secs;
}

async function rawAppend(n, valueSize, sync) {
  const dir = tmp();
  const chunk = Buffer.alloc(BATCH * (ENTRY_OVERHEAD + valueSize), 0x61);
  const h = await fsp.open(join(dir, "raw.log"), "a");
  const c0 = cpuStart();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += BATCH) {
    await h.write(chunk, 0, chunk.length);
    if (sync === "always") await h.datasync();
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  cpuEnd(c0);
  await h.close();
  rmSync(dir, { recursive: true, force: true });
  return secs;
}

let Database = null;
try {
  Database = (await import("better-sqlite3")).default;
} catch {
  console.log("better-sqlite3 not available: sqlite baseline skipped");
}

function sqliteAppend(n, valueSize, sync) {
  const dir = tmp();
  const db = new Database(join(dir, "db.sqlite"));
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${sync === "always" ? "FULL" : "OFF"}`);
  db.exec("CREATE TABLE log (offset INTEGER PRIMARY KEY, ts INTEGER, epoch INTEGER, key BLOB, value BLOB)");
  const ins = db.prepare("INSERT INTO log VALUES (?, ?, ?, ?, ?)");
  const value = Buffer.alloc(valueSize, 0x61);
  let off = 0;
  const insertBatch = db.transaction(() => {
    const ts = BigInt(Date.now()) * 1000000n;
    for (let i = 0; i < BATCH; i++) ins.run(off++, ts, 0, null, value);
  });
  const c0 = cpuStart();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += BATCH) insertBatch();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  cpuEnd(c0);
  let rsecs = 0;
  if (valueSize === 100 && sync === "none") {
    const t1 = process.hrtime.bigint();
    let count = 0;
    for (const _ of db.prepare("SELECT * FROM log ORDER BY offset").iterate()) count++;
    rsecs = Number(process.hrtime.bigint() - t1) / 1e9;
    if (count !== n) throw new Error("sqlite read count");
  }
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { secs, rsecs };
}

const rows = [];
function report(name, n, valueSize, secsList, cpuList = []) {
  const secs = median(secsList);
  const recs = n / secs;
  const mbs = (n * (ENTRY_OVERHEAD + valueSize)) / secs / 1e6;
  const cpu = cpuList.length > 0 ? (median(cpuList) * 1e6) / n : 0;
  rows.push({ name, recs, mbs, cpu });
  const cpuText = cpu > 0 ? `, CPU ${cpu.toFixed(2)} us/rec` : "";
  console.log(
    `${name.padEnd(52)} ${fmt(recs).padStart(8)} rec/s ${mbs.toFixed(1).padStart(8)} MB/s   (median of ${secsList.length}: ${secsList.map((s) => s.toFixed(3)).join(" ")} s${cpuText})`,
  );
  return { recs, mbs, cpu };
}

console.log(
  `@liftbridge/commitlog bench: ${REPS} reps, batches of ${BATCH}, MB/s counts stored entry bytes (28+16+value)`,
);
console.log(
  `node ${process.version}, load average at start: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
// Warm up the JIT on every path before timing.
{
  const { dir } = await commitlogAppend(20_000, 100, "none");
  await commitlogRead(dir, 20_000, "records");
  await commitlogRead(dir, 20_000, "batches");
  await commitlogRead(dir, 20_000, "raw");
  rmSync(dir, { recursive: true, force: true });
  rmSync((await commitlogAppend(5_000, 1024, "always")).dir, { recursive: true, force: true });
  await rawAppend(20_000, 100, "none");
}
const cases = [
  { n: Math.round(1_000_000 * SCALE), size: 100 },
  { n: Math.round(200_000 * SCALE), size: 1024 },
];
const summary = {};
for (const { n, size } of cases) {
  for (const sync of ["none", "always"]) {
    const label = `${n / 1000}k x ${size} B, sync ${sync}`;
    const cl = [];
    const raw = [];
    const sq = [];
    const cpu = { cl: [], raw: [], sq: [] };
    const reads = { records: [], batches: [], raw: [] };
    const sqReads = [];
    for (let r = 0; r < REPS; r++) {
      const { secs, dir } = await commitlogAppend(n, size, sync);
      cl.push(secs);
      cpu.cl.push(lastCpu);
      if (sync === "none" && size === 100) {
        for (const mode of ["records", "batches", "raw"]) reads[mode].push(await commitlogRead(dir, n, mode));
      }
      rmSync(dir, { recursive: true, force: true });
      raw.push(await rawAppend(n, size, sync));
      cpu.raw.push(lastCpu);
      if (Database !== null) {
        const s = sqliteAppend(n, size, sync);
        sq.push(s.secs);
        cpu.sq.push(lastCpu);
        if (s.rsecs > 0) sqReads.push(s.rsecs);
      }
    }
    console.log(`--- ${label}`);
    const a = report("commitlog append", n, size, cl, cpu.cl);
    const b = report("raw fs append (same bytes, same batches)", n, size, raw, cpu.raw);
    const c =
      Database !== null
        ? report(`better-sqlite3 WAL, synchronous=${sync === "always" ? "FULL" : "OFF"}`, n, size, sq, cpu.sq)
        : null;
    const pipe = [];
    for (let r = 0; r < REPS; r++) pipe.push(await commitlogAppendPipelined(n, size, sync));
    report("commitlog append, a batch per turn, <= 8 in flight", n, size, pipe);
    console.log(
      `ratio commitlog/raw MB/s: ${(a.mbs / b.mbs).toFixed(2)}x (CPU per record: ${(a.cpu / b.cpu).toFixed(2)}x raw)`,
    );
    if (c) console.log(`ratio commitlog/better-sqlite3 rec/s: ${(a.recs / c.recs).toFixed(2)}x`);
    summary[label] = { append: a, raw: b, sqlite: c };
    if (reads.records.length > 0) {
      console.log(`--- committed read-back of ${n / 1000}k x ${size} B`);
      const rr = report("read() records iterator", n, size, reads.records);
      report("readBatches() arrays", n, size, reads.batches);
      report("readRaw() raw bytes (CRC-checked)", n, size, reads.raw);
      if (sqReads.length > 0) {
        const sr = report("better-sqlite3 SELECT iterate", n, size, sqReads);
        console.log(`ratio read() / better-sqlite3 rec/s: ${(rr.recs / sr.recs).toFixed(2)}x`);
      }
    }
  }
}

console.log(
  `load average after throughput runs: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
// RSS: write 10M x 100 B in one child, reopen in a fresh child, report both.
const RSS_N = Math.round(Number(process.env.RSS_RECORDS ?? 10_000_000) * SCALE);
if (RSS_N > 0) {
  const dir = tmp();
  const child = fileURLToPath(new URL("./rss-child.mjs", import.meta.url));
  const runChild = (mode) =>
    new Promise((resolve, reject) => {
      const c = fork(child, [mode, dir, String(RSS_N)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
      c.on("message", resolve);
      c.on("error", reject);
      c.on("exit", (code) => code !== 0 && reject(new Error(`rss child ${mode} exited ${code}`)));
    });
  const w = await runChild("write");
  const o = await runChild("reopen");
  console.log(`--- memory: ${RSS_N / 1e6}M x 100 B (${(w.bytes / 1e9).toFixed(2)} GB on disk)`);
  console.log(`writer child: ${fmt(w.recs)} rec/s, RSS after writing ${(w.rss / 1048576).toFixed(1)} MB`);
  console.log(
    `reopen child: open took ${o.openMs.toFixed(0)} ms, RSS after reopen + reads at both ends ${(o.rss / 1048576).toFixed(1)} MB (target < 150 MB)`,
  );
  rmSync(dir, { recursive: true, force: true });
}
