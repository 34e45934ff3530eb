/**
 * `pnpm bench`: committed proposals/s and p50/p99 commit latency of a 3-node cluster, (1) in one process
 * with the in-memory transport and storage, (2) over TCP on 127.0.0.1 with fsyncing FileStorage.
 * Prints the median of 3 reps per configuration and the ratio against the in-memory baseline.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  bootstrapMemoryStorage,
  createMemoryNetwork,
  createRaftNode,
  type DurableStorage,
  FileStorage,
  nodeRaftFs,
  openTcpTransport,
  type RaftNode,
  type RaftTransport,
} from "../src/index.js";

interface Result {
  opsPerSec: number;
  p50: number;
  p99: number;
}

const IDS = ["a", "b", "c"];
const PAYLOAD = new Uint8Array(100).fill(7);
const stateMachine = () => ({ apply: () => undefined, snapshot: () => new Uint8Array(0), restore: () => {} });

async function cluster(kind: "memory" | "tcp"): Promise<{ nodes: RaftNode[]; cleanup: () => Promise<void> }> {
  const dirs: string[] = [];
  const storages: DurableStorage[] = [];
  const transports: RaftTransport[] = [];
  if (kind === "memory") {
    const net = createMemoryNetwork();
    for (const id of IDS) {
      storages.push(bootstrapMemoryStorage(IDS));
      transports.push(net.transport(id));
    }
  } else {
    const tcp = await Promise.all(IDS.map((id) => openTcpTransport({ id })));
    for (let i = 0; i < IDS.length; i++) {
      for (let j = 0; j < IDS.length; j++) if (i !== j) tcp[i]!.setPeer(IDS[j]!, tcp[j]!.address);
      const dir = mkdtempSync(join(tmpdir(), "raft-bench-"));
      dirs.push(dir);
      storages.push(FileStorage.open(nodeRaftFs(), dir, { voters: IDS }));
      transports.push(tcp[i]!);
    }
  }
  const nodes = IDS.map((id, i) =>
    createRaftNode({
      id,
      storage: storages[i]!,
      transport: transports[i]!,
      stateMachine: stateMachine(),
      tickMs: 20,
      snapshotEvery: 0,
      raft: { maxInflightMsgs: 256 },
    }),
  );
  nodes[0]!.campaign();
  while (nodes[0]!.status().role !== "leader" || nodes[0]!.status().commit < 2)
    await new Promise((r) => setTimeout(r, 5));
  return {
    nodes,
    cleanup: async () => {
      await Promise.all(nodes.map((n) => n.close()));
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

async function run(kind: "memory" | "tcp", total: number, concurrency: number): Promise<Result> {
  const { nodes, cleanup } = await cluster(kind);
  const leader = nodes[0]!;
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < total) {
      next++;
      const s = performance.now();
      await leader.propose(PAYLOAD, { timeoutMs: 30_000 });
      lat.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const secs = (performance.now() - t0) / 1000;
  await cleanup();
  lat.sort((a, b) => a - b);
  return {
    opsPerSec: total / secs,
    p50: lat[Math.floor(lat.length * 0.5)]!,
    p99: lat[Math.floor(lat.length * 0.99)]!,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const reps = Number(process.env.BENCH_REPS ?? "3");
  const configs: { name: string; kind: "memory" | "tcp"; total: number; conc: number }[] = [
    { name: "memory c=64", kind: "memory", total: 20_000, conc: 64 },
    { name: "memory c=1", kind: "memory", total: 2_000, conc: 1 },
    { name: "tcp+fsync c=64", kind: "tcp", total: 5_000, conc: 64 },
    { name: "tcp+fsync c=1", kind: "tcp", total: 500, conc: 1 },
  ];
  const out = new Map<string, Result>();
  for (const c of configs) {
    const rs: Result[] = [];
    for (let i = 0; i < reps; i++) rs.push(await run(c.kind, c.total, c.conc));
    const m: Result = {
      opsPerSec: median(rs.map((r) => r.opsPerSec)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
    };
    out.set(c.name, m);
    console.log(
      `${c.name.padEnd(16)} reps=${reps} proposals/s=${m.opsPerSec.toFixed(0).padStart(7)} p50=${m.p50.toFixed(2)}ms p99=${m.p99.toFixed(2)}ms  (per rep: ${rs.map((r) => r.opsPerSec.toFixed(0)).join(", ")} ops/s)`,
    );
  }
  const base = out.get("memory c=64")!;
  const tcp = out.get("tcp+fsync c=64")!;
  console.log(
    `ratio tcp+fsync/memory (c=64): throughput ${(tcp.opsPerSec / base.opsPerSec).toFixed(3)}x, p50 latency ${(tcp.p50 / base.p50).toFixed(2)}x`,
  );
}

await main();
