import { describe, expect, it } from "vitest";
import {
  type ConfError,
  extractNatsServerConfig,
  isConfError,
  loadNatsServerConfig,
  NATS_SERVER_DEFAULTS,
  parseConf,
} from "../src/index.js";

const extract = (text: string) => extractNatsServerConfig(parseConf(text, { file: "nats.conf", env: {} }));

describe("extractNatsServerConfig", () => {
  it("uses nats-server defaults for an empty file", () => {
    expect(extract("")).toEqual({
      host: "0.0.0.0",
      port: 4222,
      maxPayload: 1048576,
      maxControlLine: 4096,
      maxConnections: 65536,
      maxPending: 67108864,
      pingIntervalMs: 120_000,
      maxPingsOut: 2,
      writeDeadlineMs: 10_000,
      authorization: undefined,
      tls: undefined,
      ignoredKeys: [],
    });
    expect(NATS_SERVER_DEFAULTS.port).toBe(4222);
  });

  it("reads every supported setting, with sizes, durations and aliases", () => {
    const c = extract(`
      # a typical nats-server.conf
      host: 127.0.0.1
      port: 4333
      max_payload: 2MB
      max_control_line: 8KB
      max_conn: 100
      max_pending: 32MB
      ping_interval: "30s"
      max_pings_out: 5
      write_deadline: 3          # integer = seconds
      jetstream { store_dir: /tmp/js }
      authorization {
        user: admin
        password: $2a$11$abcdefghijklmnopqrstuv
        timeout: 0.5
        users [
          { user: alice, password: a1 }
          { user: bob }
        ]
      }
      tls {
        cert_file: "./server-cert.pem"
        key_file: "./server-key.pem"
        ca_file: "./ca.pem"
        verify: true
      }
    `);
    expect(c).toEqual({
      host: "127.0.0.1",
      port: 4333,
      maxPayload: 2 * 1024 * 1024,
      maxControlLine: 8192,
      maxConnections: 100,
      maxPending: 32 * 1024 * 1024,
      pingIntervalMs: 30_000,
      maxPingsOut: 5,
      writeDeadlineMs: 3000,
      authorization: {
        token: undefined,
        user: "admin",
        password: "$2a$11$abcdefghijklmnopqrstuv",
        users: [
          { user: "alice", password: "a1" },
          { user: "bob", password: undefined },
        ],
        timeoutMs: 500,
      },
      tls: { certFile: "./server-cert.pem", keyFile: "./server-key.pem", caFile: "./ca.pem", verify: true },
      ignoredKeys: ["jetstream"],
    });
  });

  it("listen gives host and port; keys are case-insensitive; token auth", () => {
    const c = extract('LISTEN: "10.0.0.1:5222"\nPing_Max: 3\nauthorization { token: "s3cr3t" }');
    expect(c.host).toBe("10.0.0.1");
    expect(c.port).toBe(5222);
    expect(c.maxPingsOut).toBe(3);
    expect(c.authorization?.token).toBe("s3cr3t");
    expect(extract("listen: 6222").port).toBe(6222);
    expect(extract("port: -1").port).toBe(-1);
  });

  it("collects every problem with key and position", () => {
    let err: ConfError | undefined;
    try {
      extract(
        'port: "x"\nping_interval: "soon"\nmax_payload: -5\ntls { verify: maybe }\nauthorization { users: [1] }',
      );
    } catch (e) {
      if (isConfError(e, "validation")) err = e;
    }
    expect(err?.issues.map((i) => i.message)).toEqual([
      'nats.conf:1:1: wrong type for "port": expected an integer, got a string ("x")',
      'nats.conf:5:25: wrong type for "authorization.users[0]": expected a map with user and password, got an integer (1)',
      'nats.conf:4:7: wrong type for "tls.verify": expected a boolean, got a string ("maybe")',
      'nats.conf:3:1: "max_payload" is out of range: -5 is not between 1 and 9007199254740991',
      'nats.conf:2:1: bad duration for "ping_interval": "soon" is not a duration (use a Go duration such as "20s", "1m30s" or "100ms")',
    ]);
  });

  it("loads a file with includes through an injected fs", () => {
    const files: Record<string, string> = {
      "/etc/nats/server.conf": "port: 4999\ninclude auth.conf\n",
      "/etc/nats/auth.conf": "authorization { user: u, password: p }\n",
    };
    const c = loadNatsServerConfig("/etc/nats/server.conf", {
      env: {},
      fs: {
        readFile: (p) => {
          const v = files[p];
          if (v === undefined) throw new Error(`ENOENT ${p}`);
          return v;
        },
      },
    });
    expect(c.port).toBe(4999);
    expect(c.authorization).toMatchObject({ user: "u", password: "p" });
  });
});
