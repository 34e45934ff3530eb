import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, freePorts } from "@liftbridge/testkit";

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../apps/server/dist/cli.js");

export { freePort, freePorts };

/** A `liftbridge` server child process on 127.0.0.1 with embedded NATS and a temp data dir. */
export class TestServer {
  proc: ChildProcess | undefined;
  natsUrl = "";
  output: string[] = [];
  readonly dir: string;
  readonly port: number;
  readonly natsPort: number;
  private constructor(dir: string, port: number, natsPort: number) {
    this.dir = dir;
    this.port = port;
    this.natsPort = natsPort;
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  extraArgs: string[] = [];
  /**
   * How the server finds its cluster. Default (undefined): a cluster of one, `--raft-bootstrap-seed` with
   * embedded NATS on `natsPort`. Set by {@link TestCluster}: `--server-id` and `-n` of a shared NATS.
   */
  clusterArgs: string[] | undefined;
  /** Extra environment variables of the server process (e.g. LIFTBRIDGE_ENCRYPTION_KEY); `undefined` unsets one. */
  env: Record<string, string | undefined> = {};

  /**
   * `conf`: extra lines for the server's config file (e.g. `cursors.stream.partitions: 3`); `env`: extra
   * environment variables of the server process (e.g. LIFTBRIDGE_ENCRYPTION_KEY).
   */
  static async create(
    extraArgs: string[] = [],
    conf = "",
    env: Record<string, string | undefined> = {},
    clusterArgs?: string[],
  ): Promise<TestServer> {
    const dir = await mkdtemp(path.join(tmpdir(), "lb-client-"));
    // Advertise 127.0.0.1 and a fixed port, so clients reconnect to the advertised address after a restart.
    await writeFile(path.join(dir, "liftbridge.conf"), `host: 127.0.0.1\n${conf}`);
    // A released port can be taken by another process before the server binds it: then pick new ones.
    for (let attempt = 1; ; attempt++) {
      const [port, natsPort] = (await freePorts(2)) as [number, number];
      const s = new TestServer(dir, port, natsPort);
      s.extraArgs = extraArgs;
      s.env = env;
      s.clusterArgs = clusterArgs;
      try {
        await s.start();
        return s;
      } catch (e) {
        if (attempt === 3 || !String(e).includes("EADDRINUSE")) {
          await s.destroy();
          throw e;
        }
        await s.stop();
      }
    }
  }

  /** Starts (or restarts) the server on the same ports and data dir. */
  start(): Promise<void> {
    const args = [
      CLI,
      ...(this.clusterArgs ?? ["--raft-bootstrap-seed", "--embedded-nats-port", String(this.natsPort)]),
      "-c",
      path.join(this.dir, "liftbridge.conf"),
      "-d",
      path.join(this.dir, "data"),
      "-p",
      String(this.port),
      ...this.extraArgs,
    ];
    const env = { ...process.env, ...this.env };
    for (const [k, v] of Object.entries(this.env)) if (v === undefined) delete env[k];
    const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env });
    this.proc = proc;
    return new Promise((resolve, reject) => {
      let buf = "";
      const timer = setTimeout(
        () => reject(new Error(`server did not start:\n${this.output.join("\n")}`)),
        30_000,
      );
      proc.stderr?.on("data", (d: Buffer) => this.output.push(d.toString()));
      proc.stdout?.on("data", (d: Buffer) => {
        buf += d.toString();
        for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          this.output.push(line);
          try {
            const j = JSON.parse(line) as { msg?: string; nats?: string };
            if (j.msg === "liftbridge server listening") {
              clearTimeout(timer);
              this.natsUrl = j.nats ?? "";
              resolve();
            }
          } catch {
            // not JSON
          }
        }
      });
      proc.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}:\n${this.output.join("\n")}`));
      });
    });
  }

  /** Stops the server (SIGKILL by default: a crash; SIGTERM for a clean stop). */
  async stop(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill(signal);
    await exited;
    this.proc = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * A metadata cluster of `liftbridge` processes sharing one Debian `nats-server` (so any server can be
 * killed without taking NATS down): server ids `s0`, `s1`, …; `s0` is the Raft seed, the others join.
 * Each partition lives on one server (replication factor 1).
 */
export class TestCluster {
  readonly nats: ChildProcess;
  readonly natsUrl: string;
  readonly servers: TestServer[] = [];
  private constructor(nats: ChildProcess, natsUrl: string) {
    this.nats = nats;
    this.natsUrl = natsUrl;
  }

  /** `conf`: extra config-file lines for every server (e.g. `cursors.stream.partitions: 1`). */
  static async create(size: number, conf = ""): Promise<TestCluster> {
    const natsPort = await freePort();
    const nats = spawn(NATS_SERVER, ["-a", "127.0.0.1", "-p", String(natsPort)], { stdio: "ignore" });
    const natsUrl = `nats://127.0.0.1:${natsPort}`;
    const c = new TestCluster(nats, natsUrl);
    try {
      await waitFor(() => portOpen(natsPort), 10_000);
      for (let i = 0; i < size; i++) {
        const args = ["--server-id", `s${i}`, "-n", natsUrl, ...(i === 0 ? ["--raft-bootstrap-seed"] : [])];
        c.servers.push(await TestServer.create([], conf, {}, args));
      }
    } catch (e) {
      await c.destroy();
      throw e;
    }
    return c;
  }

  /** The server with id `id` (`s0`, `s1`, …). */
  server(id: string): TestServer {
    const s = this.servers[Number(id.slice(1))];
    if (s === undefined) throw new Error(`no server ${id}`);
    return s;
  }

  get addrs(): string[] {
    return this.servers.map((s) => s.addr);
  }

  /** Restarts every stopped server (after a test that killed one). */
  async startStopped(): Promise<void> {
    for (const s of this.servers) {
      const p = s.proc;
      if (p !== undefined && p.exitCode === null && p.signalCode === null) p.kill("SIGCONT");
      else await s.start();
    }
  }

  async destroy(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.destroy()));
    if (this.nats.exitCode === null && this.nats.signalCode === null) {
      const exited = new Promise((r) => this.nats.once("exit", r));
      this.nats.kill("SIGTERM");
      await exited;
    }
  }
}

const NATS_SERVER = "/usr/sbin/nats-server";

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = netConnect(port, "127.0.0.1");
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

/** Polls `fn` until it returns true or `timeoutMs` passes. */
export async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);
