import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseCommandLine } from "../src/config.js";

describe("parseCommandLine", () => {
  it("maps the spec §4.2 flags onto the config (through @liftbridge/conf)", () => {
    const cmd = parseCommandLine(
      [
        "--id",
        "a",
        "--ns",
        "x",
        "-n",
        "nats://h:1,nats://h:2",
        "-d",
        "/tmp/d",
        "-p",
        "7000",
        "-l",
        "debug",
        "--raft-bootstrap-seed",
        "--sync",
        "always",
        "--embedded-nats-port=0",
      ],
      {},
    );
    expect(cmd.kind).toBe("run");
    if (cmd.kind !== "run") return;
    const c = cmd.settings.config;
    expect(c.clustering.serverId).toBe("a");
    expect(c.clustering.namespace).toBe("x");
    expect(c.nats.servers).toEqual(["nats://h:1", "nats://h:2"]);
    expect(c.dataDir).toBe("/tmp/d");
    expect(c.port).toBe(7000);
    expect(c.logging.level).toBe("debug");
    expect(c.clustering.raftBootstrapSeed).toBe(true);
    expect(c.streams.sync).toBe("always");
    expect(c.nats.embeddedPort).toBe(0);
  });

  it("reads a YAML config file; flags win over it; unknown keys are errors", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lb-conf-"));
    try {
      const file = path.join(dir, "c.yaml");
      writeFileSync(file, "logging.level: warn\nport: 9000\nstreams:\n  segment.max.bytes: 1024\n");
      const cmd = parseCommandLine(["-c", file, "-p", "9001"], {});
      if (cmd.kind !== "run") throw new Error("expected run");
      expect(cmd.settings.config.logging.level).toBe("warn");
      expect(cmd.settings.config.port).toBe(9001);
      expect(cmd.settings.config.streams.segmentMaxBytes).toBe(1024);
      writeFileSync(file, "bogus.key: 1\n");
      expect(() => parseCommandLine(["-c", file], {})).toThrow(ConfigError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a config file and LIFTBRIDGE_* variables set the sync policy and the embedded NATS port", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lb-conf-"));
    try {
      const file = path.join(dir, "c.conf");
      writeFileSync(file, 'streams { sync: interval, sync.interval: "250ms" }\nnats.embedded.port: 4333\n');
      const cmd = parseCommandLine(["-c", file], {});
      if (cmd.kind !== "run") throw new Error("expected run");
      expect(cmd.settings.config.streams).toMatchObject({ sync: "interval", syncIntervalMs: 250 });
      expect(cmd.settings.config.nats.embeddedPort).toBe(4333);
      const env = parseCommandLine(["-c", file], {
        LIFTBRIDGE_STREAMS_SYNC: "always",
        LIFTBRIDGE_NATS_EMBEDDED_PORT: "0",
      });
      if (env.kind !== "run") throw new Error("expected run");
      expect(env.settings.config.streams.sync).toBe("always");
      expect(env.settings.config.nats.embeddedPort).toBe(0);
      expect(env.settings.origins.get("streams.sync")?.kind).toBe("env");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("--print-config prints the effective configuration with secrets masked", () => {
    const cmd = parseCommandLine(["--print-config", "--sync", "always"], {
      LIFTBRIDGE_NATS_PASSWORD: "hunter2",
      TMPDIR: "/var/tmp/x",
    });
    if (cmd.kind !== "print-config") throw new Error("expected print-config");
    expect(cmd.text).not.toContain("hunter2");
    expect(cmd.text).toMatch(/^nats\.password: "\*+"/m);
    expect(cmd.text).toMatch(/^streams\.sync: "always" {2}# from flag --sync$/m);
    expect(cmd.text).toMatch(/^data\.dir: "\/var\/tmp\/x\/liftbridge\/liftbridge-default"$/m);
  });

  it("rejects unknown flags and bad values", () => {
    expect(() => parseCommandLine(["--bogus"], {})).toThrow(ConfigError);
    expect(() => parseCommandLine(["-p", "abc"], {})).toThrow(ConfigError);
    expect(() => parseCommandLine(["--sync", "sometimes"], {})).toThrow(
      'flag --sync: bad value for "streams.sync": "sometimes" is not one of "none", "interval", "always"',
    );
    expect(parseCommandLine(["-h"], {}).kind).toBe("help");
  });
});
