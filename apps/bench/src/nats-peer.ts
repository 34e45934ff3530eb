import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "nats";

/** A running Debian nats-server used as the benchmark peer (JetStream, file store). */
export interface NatsPeer {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

/** Path of the nats-server binary: NATS_SERVER_BIN or the Debian package's. */
export function natsServerBinary(): string {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  // Debian installs it in /usr/sbin, which a non-root PATH may not include.
  return existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server";
}

/**
 * Starts `nats-server` on 127.0.0.1 with JetStream and its file store in a fresh temp dir, and
 * resolves once a client can connect. `stop()` kills it and removes the store.
 */
export async function startNatsPeer(options: { jetstream?: boolean } = {}): Promise<NatsPeer> {
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), "lb-bench-js-"));
  const args = ["-a", "127.0.0.1", "-p", String(port)];
  if (options.jetstream ?? true) args.push("-js", "-sd", storeDir);
  const child: ChildProcess = spawn(natsServerBinary(), args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  let spawnError: Error | undefined;
  child.once("error", (err) => {
    spawnError = err;
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = `nats://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (spawnError) throw new Error(`cannot start ${natsServerBinary()}`, { cause: spawnError });
    if (child.exitCode !== null) throw new Error(`nats-server exited: ${stderr}`);
    try {
      const nc = await connect({ servers: url, reconnect: false, timeout: 500 });
      await nc.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`nats-server did not start on ${url}: ${stderr}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
