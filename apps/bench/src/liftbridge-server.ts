import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A running `liftbridge` server process (apps/server) with embedded NATS. */
export interface LiftbridgeServer {
  readonly grpcPort: number;
  readonly natsUrl: string;
  readonly pid: number;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);
const CLI = join(dirname(require.resolve("@liftbridge/server/package.json")), "dist", "cli.js");

/** Starts `liftbridge --raft-bootstrap-seed` in a fresh data dir on free ports. */
export async function startLiftbridge(
  options: { sync?: "none" | "interval" | "always" } = {},
): Promise<LiftbridgeServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "lb-bench-lb-"));
  // LB_BENCH_SERVER_NODE_ARGS (space-separated) goes to the server's node, e.g. "--cpu-prof
  // --cpu-prof-dir=/tmp/prof" to profile the server while a case runs.
  const nodeArgs = (process.env.LB_BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
  const args = [
    ...nodeArgs,
    CLI,
    "--raft-bootstrap-seed",
    "-d",
    dataDir,
    "-p",
    "0",
    "--embedded-nats-port",
    "0",
    "--sync",
    options.sync ?? "none",
  ];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const ready = await new Promise<{ port: number; nats: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`liftbridge did not start: ${out}`)), 30_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      for (const line of out.split("\n")) {
        if (!line.includes("liftbridge server listening")) continue;
        const j = JSON.parse(line) as { port: number; nats: string };
        clearTimeout(timer);
        resolve(j);
        return;
      }
    });
    child.stderr!.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.once("exit", (code) => reject(new Error(`liftbridge exited ${code}: ${out}`)));
  });
  // Keep draining stdout so the child never blocks on a full pipe.
  child.stdout!.removeAllListeners("data");
  child.stdout!.resume();
  return {
    grpcPort: ready.port,
    natsUrl: ready.nats,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
