/**
 * Simulation CLI: `pnpm sim:soak --minutes N [--workers W]` and `pnpm sim:replay --seed S [--until E] [--trace] [--soak]`.
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatSeed, parseSeed, TraceRecorder } from "@liftbridge/testkit";
import { runSeed } from "./swarm.js";

const here = dirname(fileURLToPath(import.meta.url));
const seedsDir = join(here, "..", "..", "seeds");

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

async function soakWorker(deadline: number, worker: number): Promise<void> {
  mkdirSync(seedsDir, { recursive: true });
  let seeds = 0;
  let events = 0;
  let fails = 0;
  let lastReport = Date.now();
  let stop = false;
  process.on("SIGTERM", () => {
    stop = true;
  });
  process.on("SIGINT", () => {
    stop = true;
  });
  while (Date.now() < deadline && !stop) {
    await new Promise((r) => setImmediate(r)); // let signals in between seeds
    const seed = parseSeed(`0x${randomBytes(8).toString("hex")}`);
    const trace = new TraceRecorder(200, false);
    const soak = arg("profile") !== "sweep";
    let r: ReturnType<typeof runSeed>;
    try {
      r = runSeed(seed, { soak, trace, commit: process.env.GIT_COMMIT ?? "dev" });
    } catch (err) {
      // A harness crash outside the run's own error handling still counts as a failure.
      const report = `SIM FAIL pkg=raft seed=${formatSeed(seed)} invariant=HarnessCrash ${String(err).replace(/\s+/g, " ")}\nreplay: pnpm sim:replay --seed ${formatSeed(seed)}${soak ? " --soak" : ""}`;
      fails++;
      seeds++;
      console.log(report);
      writeFileSync(join(seedsDir, `${formatSeed(seed)}.txt`), `${report}\n${(err as Error).stack ?? ""}\n`);
      continue;
    }
    seeds++;
    events += r.events;
    if (!r.ok) {
      fails++;
      console.log(r.report);
      writeFileSync(join(seedsDir, `${r.seed}.txt`), `${r.report}\n\n${trace.tail().join("\n")}\n`);
    }
    if (Date.now() - lastReport > 30_000) {
      console.log(`soak[w${worker}] seeds=${seeds} events=${events} fails=${fails}`);
      lastReport = Date.now();
    }
  }
  appendFileSync(
    join(seedsDir, "soak-totals.ndjson"),
    `${JSON.stringify({ at: new Date().toISOString(), worker, seeds, events, fails })}\n`,
  );
  console.log(`soak[w${worker}] done seeds=${seeds} events=${events} fails=${fails}`);
}

async function main(): Promise<void> {
  const cmd = process.argv[2];
  if (cmd === "soak-worker") {
    await soakWorker(Number(arg("deadline")), Number(arg("worker")));
    return;
  }
  if (cmd === "soak") {
    const minutes = Number(arg("minutes") ?? "1");
    const workers = Number(arg("workers") ?? "1");
    const deadline = Date.now() + minutes * 60_000;
    if (workers <= 1) {
      await soakWorker(deadline, 0);
      return;
    }
    for (let w = 0; w < workers; w++) {
      const extra = arg("profile") ? ["--profile", arg("profile")!] : [];
      fork(
        fileURLToPath(import.meta.url),
        ["soak-worker", "--deadline", String(deadline), "--worker", String(w), ...extra],
        {
          execArgv: process.execArgv,
          stdio: "inherit",
        },
      );
    }
    return;
  }
  if (cmd === "replay") {
    const s = arg("seed");
    if (!s) throw new Error("--seed is required");
    const seed = parseSeed(s);
    const until = arg("until") !== undefined ? Number(arg("until")) : Number.POSITIVE_INFINITY;
    const trace = new TraceRecorder(200, true);
    const r = runSeed(seed, { soak: flag("soak"), trace });
    const lines = trace.all ?? [];
    const upTo = lines.filter((l) => {
      const ev = Number(l.split(" ", 1)[0]);
      return !Number.isFinite(ev) || ev <= until;
    });
    for (const l of flag("trace") ? upTo : upTo.slice(-200)) console.log(l);
    mkdirSync(join(seedsDir, "out"), { recursive: true });
    const file = join(seedsDir, "out", `${formatSeed(seed)}.ndjson`);
    writeFileSync(file, `${lines.map((l) => JSON.stringify({ line: l })).join("\n")}\n`);
    console.log(r.ok ? `OK seed=${r.seed} events=${r.events} trace=${r.traceHash}` : r.report);
    console.log(`trace file: ${file}`);
    process.exitCode = r.ok ? 0 : 1;
    return;
  }
  console.error(
    "usage: cli.ts soak --minutes N [--workers W] [--profile sweep|soak] | replay --seed S [--until E] [--trace] [--soak]",
  );
  process.exitCode = 2;
}

await main();
