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
    expect(cmd.settings.sync).toBe("always");
    expect(cmd.settings.embeddedNatsPort).toBe(0);
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

  it("rejects unknown flags and bad values", () => {
    expect(() => parseCommandLine(["--bogus"], {})).toThrow(ConfigError);
    expect(() => parseCommandLine(["-p", "abc"], {})).toThrow(ConfigError);
    expect(() => parseCommandLine(["--sync", "sometimes"], {})).toThrow(ConfigError);
    expect(parseCommandLine(["-h"], {}).kind).toBe("help");
  });
});
