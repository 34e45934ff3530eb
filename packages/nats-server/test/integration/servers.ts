import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsServerOptions } from "../../src/index.js";
import { startNatsServer } from "../../src/index.js";

/** Path of Debian's nats-server (installed in /usr/sbin), the reference implementation in these tests. */
export const NATS_SERVER_BIN =
  process.env.NATS_SERVER_BIN ??
  ["/usr/sbin/nats-server", "/usr/bin/nats-server"].find((p) => existsSync(p)) ??
  "nats-server";

/** A server under test, started on a fixed port so it can be restarted on it. */
export interface TestServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

/** Options shared by both implementations (the subset the conformance suite uses). */
export type TestServerOptions = Pick<
  NatsServerOptions,
  | "maxPayload"
  | "maxPendingBytes"
  | "authorization"
  | "pingIntervalMs"
  | "maxPingsOut"
  | "writeDeadlineMs"
  | "maxConnections"
>;

export interface Launcher {
  readonly name: string;
  start(opts?: TestServerOptions): Promise<TestServer>;
}

/** Finds a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`port ${port} not listening`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const q = (s: string) => JSON.stringify(s);

/** Renders options as a nats-server config file. */
export function toNatsConf(port: number, o: TestServerOptions): string {
  const lines = [`listen: "127.0.0.1:${port}"`];
  if (o.maxPayload !== undefined) lines.push(`max_payload: ${o.maxPayload}`);
  if (o.maxPendingBytes !== undefined) lines.push(`max_pending: ${o.maxPendingBytes}`);
  if (o.maxConnections !== undefined) lines.push(`max_connections: ${o.maxConnections}`);
  if (o.pingIntervalMs !== undefined) lines.push(`ping_interval: "${o.pingIntervalMs}ms"`);
  if (o.maxPingsOut !== undefined) lines.push(`ping_max: ${o.maxPingsOut}`);
  if (o.writeDeadlineMs !== undefined) lines.push(`write_deadline: "${o.writeDeadlineMs}ms"`);
  const a = o.authorization;
  if (a !== undefined) {
    const parts: string[] = [];
    if (a.token !== undefined) parts.push(`token: ${q(a.token)}`);
    if (a.user !== undefined) parts.push(`user: ${q(a.user)}`, `password: ${q(a.password ?? "")}`);
    if (a.users !== undefined) {
      parts.push(
        `users: [${a.users.map((u) => `{user: ${q(u.user)}, password: ${q(u.password)}}`).join(", ")}]`,
      );
    }
    if (a.timeoutMs !== undefined) parts.push(`timeout: ${a.timeoutMs / 1000}`);
    lines.push(`authorization {\n  ${parts.join("\n  ")}\n}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Debian's nats-server in a child process, with a generated config file in a temp dir. */
export const debianNatsServer: Launcher = {
  name: "nats-server",
  async start(opts = {}) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "nats-conf-"));
    const conf = join(dir, "nats.conf");
    writeFileSync(conf, toNatsConf(port, opts));
    let child: ChildProcess | undefined;
    const launch = async () => {
      const c = spawn(NATS_SERVER_BIN, ["-c", conf], { stdio: "ignore" });
      child = c;
      const failed = new Promise<never>((_, reject) => c.once("error", reject));
      failed.catch(() => {});
      await Promise.race([waitForPort(port, 10_000), failed]);
    };
    const stopChild = async () => {
      const c = child;
      child = undefined;
      if (c === undefined || c.exitCode !== null) return;
      const exited = new Promise<void>((r) => c.once("exit", () => r()));
      c.kill("SIGKILL");
      await exited;
    };
    await launch();
    return {
      url: `nats://127.0.0.1:${port}`,
      port,
      async stop() {
        await stopChild();
        rmSync(dir, { recursive: true, force: true });
      },
      async restart() {
        await stopChild();
        await launch();
      },
    };
  },
};

/** Our embedded server, in this process. */
export const embeddedNatsServer: Launcher = {
  name: "embedded",
  async start(opts = {}) {
    let srv = await startNatsServer({ ...opts, port: 0 });
    const port = srv.port;
    return {
      url: `nats://127.0.0.1:${port}`,
      port,
      stop: () => srv.close(),
      async restart() {
        await srv.close();
        srv = await startNatsServer({ ...opts, port });
      },
    };
  },
};

export const launchers: readonly Launcher[] = [embeddedNatsServer, debianNatsServer];
