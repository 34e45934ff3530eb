/**
 * `pnpm bench` in apps/bench: runs the cases of BENCHMARKS.md side by side, interleaving
 * repetitions of each contender, and prints median [min-max] with ratios ours/peer.
 *
 * Flags: --quick (small counts, for a smoke run), --reps N (default 3), --cases B1,B2,B3,B4,
 * --peer (JetStream only).
 */
import { execSync } from "node:child_process";
import { parseArgs } from "node:util";
import { grpcJsReaderBound } from "./cases/grpc-js-bound.js";
import {
  type CaseParams,
  type CaseResult,
  coreNatsBound,
  jetstreamConsume,
  jetstreamIngest,
  jetstreamPublishAcked,
  jetstreamPublishLatency,
} from "./cases/jetstream.js";
import {
  liftbridgeConsumeGrpcJs,
  liftbridgeConsumeGrpcJsWindow,
  liftbridgeConsumeLean,
  liftbridgeIngest,
  liftbridgePublishAckedGrpc,
  liftbridgePublishAckedNats,
  liftbridgePublishLatency,
  setServer,
} from "./cases/liftbridge.js";
import { rawDiskAppend } from "./cases/raw-disk.js";
import { startLiftbridge } from "./liftbridge-server.js";
import { startNatsPeer } from "./nats-peer.js";
import { formatCount, formatSummary, summarize } from "./stats.js";

type CaseFn = (p: CaseParams) => Promise<CaseResult>;

interface Contender {
  readonly name: string;
  readonly client: string;
  readonly cases: Partial<Record<CaseId, CaseFn>>;
}

type CaseId = "B1" | "B2" | "B3" | "B4";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    reps: { type: "string", default: "3" },
    cases: { type: "string", default: "B1,B2,B3,B4" },
    peer: { type: "boolean", default: false },
  },
});
const reps = Number(values.reps);
const selected = new Set(values.cases.split(",") as CaseId[]);
const scale = values.quick ? 0.01 : 1;

const sized = (count: number, size: number) => ({ count, size, label: `${formatCount(count)} x ${size} B` });
const sizes = [sized(Math.round(1_000_000 * scale), 128), sized(Math.round(200_000 * scale), 1024)];
const latencyCount = Math.round(10_000 * scale);

const peer: Contender = {
  name: "JetStream 2.9 (file, R1)",
  client: "nats.js, noAsyncTraces",
  cases: {
    B1: jetstreamIngest,
    B2: jetstreamPublishAcked,
    B3: jetstreamPublishLatency,
    B4: jetstreamConsume,
  },
};
// The Liftbridge contenders: `liftbridge --raft-bootstrap-seed` (embedded NATS, sync none), same cases
// and sizes. Two client setups, because the client bounds the figures (BENCHMARKS.md).
const oursLean: Contender = {
  name: "Liftbridge-TS (lean gRPC client)",
  client: "@liftbridge/grpc client; B1 nats.js",
  cases: {
    B1: liftbridgeIngest,
    B2: liftbridgePublishAckedGrpc,
    B3: liftbridgePublishLatency,
    B4: liftbridgeConsumeLean,
  },
};
const oursNats: Contender = {
  name: "Liftbridge-TS (NATS envelope + ack inbox / grpc-js reader)",
  client: "nats.js publisher; grpc-js Subscribe",
  cases: { B2: liftbridgePublishAckedNats, B4: liftbridgeConsumeGrpcJs },
};
// grpc-js keeps HTTP/2's 64 KiB receive windows unless told otherwise: the server can then have only
// 64 KiB in flight and waits for each window update, so a grpc-js reader is bound by round trips. This
// contender shows the same reader with grpc-js's own window option (a client setting, not a server one).
const oursGrpcJsWindow: Contender = {
  name: "Liftbridge-TS (grpc-js reader, flow_control_window 1 MiB)",
  client: "grpc-js Subscribe with grpc-node.flow_control_window = 1 MiB",
  cases: { B4: liftbridgeConsumeGrpcJsWindow },
};
const contenders: Contender[] = values.peer ? [peer] : [peer, oursLean, oursNats, oursGrpcJsWindow];

function dropCaches() {
  try {
    execSync("sync");
  } catch {
    // sync is best effort: a missing binary must not stop the benchmark.
  }
}

async function main() {
  const server = await startNatsPeer({ jetstream: true });
  const ours = values.peer ? undefined : await startLiftbridge({ sync: "none" });
  setServer(ours);
  const perMsg = (v: number) => `${v.toFixed(2)} us`;
  try {
    console.log(`reps=${reps}${values.quick ? " (quick)" : ""}; peer: ${peer.name} via ${peer.client}`);
    for (const { count, size, label } of sizes) {
      const raw = rawDiskAppend(count, size, { fsyncEachBatch: false });
      console.log(
        `bound raw disk ${label}: ${formatCount(raw.msgsPerSec)} msgs/s, ${raw.mbPerSec.toFixed(0)} MB/s`,
      );
      const bound: number[] = [];
      for (let rep = 0; rep < reps; rep++) {
        dropCaches();
        bound.push(
          (await coreNatsBound({ url: server.url, serverPid: server.pid, count, size, rep })).msgsPerSec,
        );
      }
      console.log(`bound core NATS pub->sub ${label}: ${formatSummary(summarize(bound))} msgs/s`);
      if (selected.has("B4") && !values.peer) {
        for (const window of ["default", "1mib"] as const) {
          const rates: number[] = [];
          for (let rep = 0; rep < reps; rep++) {
            const r = await grpcJsReaderBound(window)({
              url: server.url,
              serverPid: server.pid,
              count,
              size,
              rep,
            });
            rates.push(r.msgsPerSec);
          }
          const what = window === "default" ? "default options" : "flow_control_window 1 MiB";
          console.log(
            `bound B4 grpc-js reader (${what}) from an in-memory server ${label}: ${formatSummary(summarize(rates))} msgs/s`,
          );
        }
      }
    }
    for (const id of ["B1", "B2", "B3", "B4"] as const) {
      if (!selected.has(id)) continue;
      const cases =
        id === "B3" ? [{ count: latencyCount, size: 128, label: `${latencyCount} x 128 B` }] : sizes;
      for (const { count, size, label } of cases) {
        const results = new Map<string, CaseResult[]>();
        for (let rep = 0; rep < reps; rep++) {
          for (const c of contenders) {
            const fn = c.cases[id];
            if (!fn) continue;
            dropCaches();
            const r = await fn({ url: server.url, serverPid: server.pid, count, size, rep });
            results.set(c.name, [...(results.get(c.name) ?? []), r]);
          }
        }
        const medians: number[] = [];
        for (const c of contenders) {
          const rs = results.get(c.name);
          if (!rs) continue;
          const rate = summarize(rs.map((r) => r.msgsPerSec));
          const cpu = summarize(rs.map((r) => r.serverCpuUsPerMsg));
          medians.push(rate.median);
          let line = `${id} ${label} ${c.name}: ${formatSummary(rate)} msgs/s, server CPU ${formatSummary(cpu, perMsg)}/msg`;
          if (id === "B3") {
            const p50 = summarize(rs.map((r) => r.p50Ms ?? Number.NaN));
            const p99 = summarize(rs.map((r) => r.p99Ms ?? Number.NaN));
            line += `, p50 ${p50.median.toFixed(3)} ms, p99 ${p99.median.toFixed(3)} ms`;
          }
          console.log(line);
        }
        const peerMedian = medians[0];
        for (const c of contenders.slice(1)) {
          const rs = results.get(c.name);
          if (!rs || peerMedian === undefined) continue;
          const m = summarize(rs.map((r) => r.msgsPerSec)).median;
          console.log(`${id} ${label} ratio ${c.name}/peer: ${(m / peerMedian).toFixed(2)}x`);
        }
      }
    }
  } finally {
    await ours?.stop();
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
