import { describe, expect, it } from "vitest";
import { ConfigError, parseCommandLine, parseDurationMs } from "../src/config.js";

describe("parseCommandLine", () => {
  it("maps the spec §4.2 flags onto config keys", () => {
    const cmd = parseCommandLine([
      "--id",
      "a",
      "--ns",
      "x",
      "-n",
      "nats://h:1,nats://h:2",
      "-d",
      "/tmp/d",
      "-p",
      "0",
      "-l",
      "debug",
      "--raft-bootstrap-seed",
    ]);
    expect(cmd.kind).toBe("run");
    if (cmd.kind !== "run") return;
    expect(Object.fromEntries(cmd.settings)).toEqual({
      "clustering.server.id": "a",
      "clustering.namespace": "x",
      "nats.servers": ["nats://h:1", "nats://h:2"],
      "data.dir": "/tmp/d",
      port: 0,
      "logging.level": "debug",
      "clustering.raft.bootstrap.seed": true,
    });
  });
  it("rejects unknown flags and bad values", () => {
    expect(() => parseCommandLine(["--bogus"])).toThrow(ConfigError);
    expect(() => parseCommandLine(["-p", "abc"])).toThrow(ConfigError);
  });
  it("parses Go durations", () => {
    expect(parseDurationMs("1h30m", "k")).toBe(5_400_000);
    expect(parseDurationMs("250ms", "k")).toBe(250);
    expect(parseDurationMs("0", "k")).toBe(0);
    expect(() => parseDurationMs("5x", "k")).toThrow(ConfigError);
  });
});
