import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  extractNatsServerConfig,
  isConfError,
  loadNatsServerConfig,
  parseConf,
  printConf,
} from "../../src/index.js";

/** Debian's nats-server (v2.9.10, in /usr/sbin), installed by CI (scripts/lib.sh); NATS_SERVER_BIN overrides. */
const NATS_SERVER =
  process.env.NATS_SERVER_BIN ??
  ["/usr/sbin/nats-server", "/usr/bin/nats-server"].find((p) => existsSync(p)) ??
  "nats-server";
const dir = mkdtempSync(join(tmpdir(), "liftbridge-conf-nats-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Does nats-server accept this configuration (`nats-server -t`)? */
function natsAccepts(file: string, env: Record<string, string>): boolean {
  const r = spawnSync(NATS_SERVER, ["-t", "-c", file], { env: { ...process.env, ...env }, timeout: 20_000 });
  if (r.error !== undefined) throw r.error;
  return r.status === 0;
}

/** Do we accept it (parse, including includes and variables, then extract the server settings)? */
function weAccept(file: string, env: Record<string, string>): boolean {
  try {
    loadNatsServerConfig(file, { env });
    return true;
  } catch (e) {
    if (isConfError(e)) return false;
    throw e;
  }
}

describe("differential: nats-server -t agrees with us on accept/reject", () => {
  writeFileSync(join(dir, "inc.conf"), "max_pending: 16MB\n");
  /** [name, config, documented difference (we accept and nats-server 2.9.10 rejects, or the reverse)]. */
  const rows: Array<[string, string, string?]> = [
    ["plain", "port: 4222\n"],
    ["JSON with trailing comma", '{ "port": 4222, "max_payload": 1048576, }\n'],
    ["semicolons and commas", "port = 1 , server_name=x; max_payload: 1MB;\n"],
    ["comments everywhere", "# c\nport: 4222 # c\n// c\nserver_tags: [\n  a # c\n  b\n]\n"],
    ["trailing comma in array", 'server_tags: ["a", "b",]\n'],
    [
      "maps in an array, one per line",
      "authorization {\n  users [\n    {user: a, password: b}\n    {user: c, password: d}\n  ]\n}\n",
    ],
    [
      "maps in an array on one line without commas",
      "authorization { users [ {user: a, password: b} {user: c, password: d} ] }\n",
    ],
    ["two values on a line", "port: 4222 b\n"],
    ["words in an array without commas", "server_tags: [a b]\n"],
    ["embedded single quote", "server_name: x'y\n"],
    ["unterminated string", 'server_name: "abc\n'],
    ["unterminated map", "authorization { user: a\n"],
    ["variable from the file", "P = 2MB\nmax_payload: $P\n"],
    ["variable from the environment", "server_name: $LB_TEST_NAME\n"],
    ["missing variable", "server_name: $LB_TEST_MISSING\n"],
    ["include", "port: 4222\ninclude inc.conf\n"],
    ["missing include", "include nope.conf\n"],
    ["int64 overflow", "max_payload: 9223372036854775808\n"],
    ["underscored number is a string (wrong type for port)", "port: 4_222\n"],
    ["quoted durations", 'ping_interval: "2m"\nwrite_deadline: "10s"\n'],
    [
      "integer durations (seconds)",
      "ping_interval: 120\nwrite_deadline: 10\n",
      "nats-server takes integer seconds with a deprecation warning, which -t reports as an error",
    ],
    ["number right before ]", "P = [1]\nserver_name: x\n", "the upstream ']' quirk, fixed here (spec §7.3)"],
    ["bad duration", 'ping_interval: "soon"\n'],
    [
      "bare key",
      "port\n",
      "nats-server 2.9.10 ignores it; current nats-server (spec §7.2) rejects it, as we do",
    ],
  ];
  it.each(rows)("%s", (name, text, differs) => {
    const file = join(dir, `${name.replace(/\W+/g, "-")}.conf`);
    writeFileSync(file, text);
    const env = { LB_TEST_NAME: "abc" };
    const nats = natsAccepts(file, env);
    // A documented difference must still be a difference (so the table stays true).
    expect(weAccept(file, env), differs ?? "should agree").toBe(differs === undefined ? nats : !nats);
  });
});

describe("printConf output is valid for nats-server", () => {
  it("a printed nats-server configuration passes nats-server -t and reads back equal", () => {
    const value = {
      server_name: "conf-printer",
      port: 4222,
      max_payload: 2097152,
      ping_interval: "30s",
      server_tags: ["a", "b c", 'quote"d'],
      debug: false,
      authorization: {
        users: [
          { user: "u1", password: "p\\1" },
          { user: "u2", password: "$2a$11$abc" },
        ],
      },
      cluster: { name: "c1", listen: "127.0.0.1:-1" },
    };
    const file = join(dir, "printed.conf");
    const text = printConf(value);
    writeFileSync(file, text);
    expect(natsAccepts(file, {}), text).toBe(true);
    expect(parseConf(text, { env: {} }).value).toEqual(value);
  });
});

describe("extractNatsServerConfig matches what nats-server runs with (/varz)", () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill("SIGKILL");
  });

  /** Starts nats-server on `file`, waits (with a deadline) until it is ready, returns /varz, stops it. */
  async function runAndFetchVarz(file: string): Promise<Record<string, unknown>> {
    const proc = spawn(NATS_SERVER, ["-c", file], { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    try {
      const monitorPort = await new Promise<number>((resolve, reject) => {
        let log = "";
        const timer = setTimeout(() => reject(new Error(`nats-server did not start:\n${log}`)), 20_000);
        proc.on("error", (err) => {
          clearTimeout(timer);
          reject(err);
        });
        proc.stderr?.on("data", (b: Buffer) => {
          log += b.toString();
          const m = /http monitor on 127\.0\.0\.1:(\d+)/.exec(log);
          if (m !== null && log.includes("Server is ready")) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
        proc.on("exit", (code) => {
          clearTimeout(timer);
          reject(new Error(`nats-server exited with ${code}:\n${log}`));
        });
      });
      return (await (await fetch(`http://127.0.0.1:${monitorPort}/varz`)).json()) as Record<string, unknown>;
    } finally {
      proc.kill("SIGKILL");
    }
  }

  it("host, limits, ping, write deadline and auth timeout", async () => {
    writeFileSync(join(dir, "auth.conf"), "authorization { user: u, password: p, timeout: 1.5 }\n");
    const main = join(dir, "main.conf");
    writeFileSync(
      main,
      [
        "# variables, sizes, durations, include",
        "PAYLOAD = 2MB",
        "listen: 127.0.0.1:-1",
        'http: "127.0.0.1:-1"',
        "max_payload: $PAYLOAD",
        "max_control_line: 8KB",
        "max_connections: 100",
        "max_pending: 32MB",
        'ping_interval: "30s"',
        "ping_max: 5",
        'write_deadline: "3s"',
        "include auth.conf",
        "",
      ].join("\n"),
    );
    const ours = loadNatsServerConfig(main, { env: {} });
    expect(ours.ignoredKeys).toEqual(["payload", "http"]);

    const varz = await runAndFetchVarz(main);
    expect({
      host: ours.host,
      maxPayload: ours.maxPayload,
      maxControlLine: ours.maxControlLine,
      maxConnections: ours.maxConnections,
      maxPending: ours.maxPending,
      pingIntervalMs: ours.pingIntervalMs,
      maxPingsOut: ours.maxPingsOut,
      writeDeadlineMs: ours.writeDeadlineMs,
      authTimeoutMs: ours.authorization?.timeoutMs,
    }).toEqual({
      host: varz.host,
      maxPayload: varz.max_payload,
      maxControlLine: varz.max_control_line,
      maxConnections: varz.max_connections,
      maxPending: varz.max_pending,
      pingIntervalMs: (varz.ping_interval as number) / 1e6,
      maxPingsOut: varz.ping_max,
      writeDeadlineMs: (varz.write_deadline as number) / 1e6,
      authTimeoutMs: (varz.auth_timeout as number) * 1000,
    });
  });

  it("the defaults we document are nats-server's", async () => {
    const file = join(dir, "defaults.conf");
    writeFileSync(file, 'listen: 127.0.0.1:-1\nhttp: "127.0.0.1:-1"\n');
    const ours = extractNatsServerConfig(parseConf("", { env: {} }));
    const varz = await runAndFetchVarz(file);
    expect({
      maxPayload: ours.maxPayload,
      maxControlLine: ours.maxControlLine,
      maxConnections: ours.maxConnections,
      maxPending: ours.maxPending,
      pingIntervalMs: ours.pingIntervalMs,
      maxPingsOut: ours.maxPingsOut,
      writeDeadlineMs: ours.writeDeadlineMs,
    }).toEqual({
      maxPayload: varz.max_payload,
      maxControlLine: varz.max_control_line,
      maxConnections: varz.max_connections,
      maxPending: varz.max_pending,
      pingIntervalMs: (varz.ping_interval as number) / 1e6,
      maxPingsOut: varz.ping_max,
      writeDeadlineMs: (varz.write_deadline as number) / 1e6,
    });
  });
});
