import { describe, expect, it } from "vitest";
import {
  isNatsServerError,
  NatsServerErrorCode,
  natsServerOptionsFromConfig,
  parseConfigDurationMs,
  parseConfigSize,
  resolveNatsServerOptions,
} from "../src/index.js";

describe("natsServerOptionsFromConfig", () => {
  it("maps nats-server config keys", () => {
    const files: Record<string, string> = { "/c.pem": "CERT", "/k.pem": "KEY", "/ca.pem": "CA" };
    const opts = natsServerOptionsFromConfig(
      {
        listen: "0.0.0.0:4333",
        max_payload: "2MB",
        max_control_line: 2048,
        max_connections: 10,
        max_pending: "64MB",
        ping_interval: "30s",
        ping_max: 3,
        write_deadline: "2s",
        server_name: "lb",
        authorization: { user: "a", password: "b", timeout: 1.5 },
        tls: { cert_file: "/c.pem", key_file: "/k.pem", ca_file: "/ca.pem", verify: true },
        jetstream: { enabled: true },
      },
      { readFile: (p) => Buffer.from(files[p] ?? "") },
    );
    expect(opts).toEqual({
      host: "0.0.0.0",
      port: 4333,
      maxPayload: 2 * 1024 * 1024,
      maxControlLine: 2048,
      maxConnections: 10,
      maxPendingBytes: 64 * 1024 * 1024,
      pingIntervalMs: 30_000,
      maxPingsOut: 3,
      writeDeadlineMs: 2000,
      serverName: "lb",
      authorization: { user: "a", password: "b", timeoutMs: 1500 },
      tls: { cert: Buffer.from("CERT"), key: Buffer.from("KEY"), ca: Buffer.from("CA"), verify: true },
    });
  });

  it("maps host/port, tokens and user lists", () => {
    expect(
      natsServerOptionsFromConfig({ host: "127.0.0.1", port: 4222, authorization: { token: "t" } }),
    ).toEqual({
      host: "127.0.0.1",
      port: 4222,
      authorization: { token: "t" },
    });
    expect(
      natsServerOptionsFromConfig({ listen: 5222, authorization: { users: [{ user: "u", password: "p" }] } }),
    ).toEqual({
      port: 5222,
      authorization: { users: [{ user: "u", password: "p" }] },
    });
    expect(natsServerOptionsFromConfig({ ping_interval: 120 })).toEqual({ pingIntervalMs: 120_000 });
  });

  it.each([
    [{ port: "x" }],
    [{ max_payload: "lots" }],
    [{ ping_interval: "soon" }],
    [{ authorization: [] }],
    [{ authorization: { users: {} } }],
    [{ tls: { cert_file: "/nope", key_file: "/nope" } }],
    [{ listen: "host:port" }],
    [[]],
  ])("rejects %j with invalid_options", (config) => {
    let err: unknown;
    try {
      natsServerOptionsFromConfig(config, {
        readFile: () => {
          throw new Error("ENOENT");
        },
      });
    } catch (e) {
      err = e;
    }
    expect(isNatsServerError(err, NatsServerErrorCode.InvalidOptions)).toBe(true);
  });

  it.each([
    [1024, 1024],
    ["1k", 1000],
    ["1KB", 1024],
    ["2mb", 2 * 1024 * 1024],
    ["1G", 1e9],
  ])("parses size %j", (v, want) => {
    expect(parseConfigSize("k", v)).toBe(want);
  });

  it.each([
    [2, 2000],
    [0.5, 500],
    ["300ms", 300],
    ["1m30s", 90_000],
    ["2h", 7_200_000],
  ])("parses duration %j", (v, want) => {
    expect(parseConfigDurationMs("k", v)).toBe(want);
  });
});

describe("resolveNatsServerOptions", () => {
  it("fills nats-server defaults", () => {
    const o = resolveNatsServerOptions();
    expect(o).toMatchObject({
      host: "127.0.0.1",
      port: 4222,
      maxPayload: 1048576,
      maxControlLine: 4096,
      maxPendingBytes: 64 * 1024 * 1024,
      pingIntervalMs: 120_000,
      maxPingsOut: 2,
      authTimeoutMs: 2000,
      writeDeadlineMs: 10_000,
    });
  });

  it.each([
    [{ port: -1 }],
    [{ port: 70000 }],
    [{ maxPayload: 1.5 }],
    [{ maxPayload: 2048, maxPendingBytes: 1024 }],
    [{ authorization: { token: "t", user: "u", password: "p" } }],
    [{ authorization: { user: "u" } }],
  ])("rejects %j", (o) => {
    expect(() => resolveNatsServerOptions(o)).toThrow(expect.objectContaining({ code: "invalid_options" }));
  });
});
