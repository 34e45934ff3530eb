import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { APIService } from "@liftbridge/api";

export const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "dist", "cli.js");

export interface ServerProcess {
  proc: ChildProcess;
  port: number;
  natsUrl: string;
  serverId: string;
  exited: Promise<number | null>;
  output: string[];
}

/** Starts `liftbridge` as a child process and waits for its "listening" log line. */
export function startServer(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<ServerProcess> {
  const proc = spawn(process.execPath, [CLI, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    ...(options.env !== undefined ? { env: options.env } : {}),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output.join("\n")}`)), 30_000);
    proc.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
    proc.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      let i = buf.indexOf("\n");
      while (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        output.push(line);
        try {
          const j = JSON.parse(line) as { msg?: string; port?: number; nats?: string; nodeId?: string };
          if (j.msg === "liftbridge server listening") {
            clearTimeout(timer);
            resolve({ proc, port: j.port!, natsUrl: j.nats!, serverId: j.nodeId!, exited, output });
          }
        } catch {
          // not JSON
        }
        i = buf.indexOf("\n");
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output.join("\n")}`));
    });
  });
}

// biome-ignore lint/suspicious/noExplicitAny: grpc-js generic client methods are untyped.
export type ApiClient = grpc.Client & Record<string, any>;
const Ctor = grpc.makeGenericClientConstructor(
  APIService as unknown as grpc.ServiceDefinition,
  "API",
) as unknown as new (
  a: string,
  c: grpc.ChannelCredentials,
) => ApiClient;

export const apiClient = (port: number): ApiClient =>
  new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());

export function unary<Res>(client: ApiClient, method: string, req: object): Promise<Res> {
  return new Promise((resolve, reject) => {
    client[method](req, { deadline: Date.now() + 10_000 }, (err: Error | null, res: Res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

/** Reads a whole partition (EARLIEST..STOP_LATEST); returns the values, or [] for an empty partition. */
export function readAll(client: ApiClient, stream: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const values: string[] = [];
    let first = true;
    const call = client.Subscribe({ stream, startPosition: 2, stopPosition: 2 });
    call.on("data", (m: { value: Uint8Array }) => {
      if (first) first = false;
      else values.push(Buffer.from(m.value).toString());
    });
    call.on("error", () => {});
    call.on("status", (s: grpc.StatusObject) => {
      if (s.code === grpc.status.RESOURCE_EXHAUSTED) resolve(values);
      else reject(new Error(`subscribe ended with ${s.code} ${s.details}`));
    });
  });
}

/** The JSON log lines of a server's stdout with the given `msg`. */
export function logLines(output: readonly string[], msg: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of output) {
    try {
      const j = JSON.parse(line) as Record<string, unknown>;
      if (j.msg === msg) out.push(j);
    } catch {
      // not JSON
    }
  }
  return out;
}
