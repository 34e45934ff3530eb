// Subscribe-only microbenchmark (after pnpm build): publishes N messages once to the local liftbridge
// server, then reads them from the start REPS times with one subscription each, printing msgs/s and
// client / server CPU per message (process.cpuUsage and /proc/<pid>/stat). For profiling the receive
// path (`node --cpu-prof bench/subscribe-cpu.mjs`). Env: SUB_COUNT (default 1000000), SUB_SIZE (128),
// BENCH_REPS (3), SUB_MODE (iterate | callback), SUB_PROFILE (a file: CPU profile of the reads only).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(here, "../../../apps/server/dist/cli.js");
const COUNT = Number(process.env.SUB_COUNT ?? 1_000_000);
const SIZE = Number(process.env.SUB_SIZE ?? 128);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const MODE = process.env.SUB_MODE ?? "iterate";

const freePort = () =>
  new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
const ticks = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return Number(f[11]) + Number(f[12]);
};

const dir = mkdtempSync(join(tmpdir(), "lb-sub-cpu-"));
writeFileSync(join(dir, "lb.conf"), "host: 127.0.0.1\n");
const port = await freePort();
const natsPort = await freePort();
const addr = `127.0.0.1:${port}`;
// SUB_SERVER_PROFILE (a directory): the server runs with --cpu-prof and is stopped with SIGTERM so that
// it writes the profile; SUB_RESTART=1 restarts it on the same data after publishing (reads from disk).
// Each rep prints its CLOCK_MONOTONIC window (us), the clock of the profile's timestamps.
const serverProf = process.env.SUB_SERVER_PROFILE;
let proc;
let client;
async function startServer(profile) {
  const args = [CLI, "--raft-bootstrap-seed", "-c", join(dir, "lb.conf"), "-d", join(dir, "data")];
  args.push("-p", String(port), "--embedded-nats-port", String(natsPort), "-l", "warn");
  if (profile) args.unshift("--cpu-prof", "--cpu-prof-dir", serverProf);
  proc = spawn(
    process.execPath,
    [...(process.env.SUB_SERVER_NODE_FLAGS?.split(" ").filter(Boolean) ?? []), ...args],
    {
      stdio: ["ignore", process.env.SUB_SERVER_NODE_FLAGS ? "inherit" : "ignore", "inherit"],
    },
  );
  for (let i = 0; ; i++) {
    try {
      client = await connect(addr, {
        connectTimeoutMs: 500,
        ackWaitTimeMs: 60_000,
        ...(process.env.SUB_WINDOW ? { readBufferSize: Number(process.env.SUB_WINDOW) } : {}),
      });
      return;
    } catch (e) {
      if (i > 100 || proc.exitCode !== null) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
async function stopServer(signal) {
  await client.close();
  proc.kill(signal);
  await new Promise((r) => proc.once("exit", r));
}
await startServer(Boolean(serverProf));
try {
  const stream = "sub-cpu";
  await client.createStream(stream, stream);
  const payload = Buffer.alloc(SIZE, 0x61);
  await new Promise((res, rej) => {
    let sent = 0;
    let acked = 0;
    const onAck = (err) => {
      if (err !== undefined) return rej(err);
      if (++acked === COUNT) res();
      else pump();
    };
    function pump() {
      while (sent - acked < 1000 && sent < COUNT) {
        sent++;
        client.publishAsync(stream, payload, onAck);
      }
    }
    pump();
  });
  if (process.env.SUB_RESTART === "1") {
    await stopServer(serverProf ? "SIGTERM" : "SIGKILL");
    await startServer(Boolean(serverProf));
  }
  const profiler = process.env.SUB_PROFILE ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.start");
  }
  console.log(`subscribe ${COUNT} x ${SIZE} B, ${MODE}, node ${process.version}`);
  for (let rep = 0; rep < REPS; rep++) {
    const c0 = process.cpuUsage();
    const s0 = ticks(proc.pid);
    const t0 = performance.now();
    const m0 = process.hrtime.bigint() / 1000n;
    let received = 0;
    let bytes = 0;
    const opts = { startAt: "earliest", stopAt: { offset: COUNT - 1 } };
    if (MODE === "callback") {
      await new Promise((res, rej) => {
        void client.subscribe(stream, {
          ...opts,
          callback: (err, m) => {
            if (err) return rej(err);
            received++;
            bytes += m.value.length;
            if (received === COUNT) res();
          },
        });
      });
    } else {
      for await (const m of await client.subscribe(stream, opts)) {
        received++;
        bytes += m.value.length;
      }
    }
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const s = (ticks(proc.pid) - s0) * 10_000; // us at 100 Hz
    if (received !== COUNT || bytes !== COUNT * SIZE) throw new Error(`received ${received} of ${COUNT}`);
    console.log(
      `  rep ${rep} [${m0}-${process.hrtime.bigint() / 1000n}]: ${Math.round((COUNT * 1000) / ms)} msgs/s, client CPU ${((c.user + c.system) / COUNT).toFixed(2)} us/msg, server CPU ${(s / COUNT).toFixed(2)} us/msg`,
    );
  }
  if (profiler) {
    const { profile } = await profiler.post("Profiler.stop");
    writeFileSync(process.env.SUB_PROFILE, JSON.stringify(profile));
  }
} finally {
  await stopServer(serverProf ? "SIGTERM" : "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
