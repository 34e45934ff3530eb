#!/usr/bin/env node
/**
 * `liftbridge`: starts a Liftbridge server. `liftbridge --raft-bootstrap-seed` alone runs a
 * single-node deployment with embedded NATS on port 4222 and the gRPC API on 9292, data under
 * `$TMPDIR/liftbridge/<namespace>` (logged). `--print-config` prints the effective configuration
 * (secrets masked) and exits 0.
 * SIGINT / SIGTERM drain and stop cleanly (exit 0); SIGHUP reloads the authorization policy file.
 * @module
 */
import { pino } from "pino";
import { ConfigError, isSet, parseCommandLine, USAGE } from "./config.js";
import { runServer } from "./run.js";

const VERSION = "0.0.0";

async function main(): Promise<number> {
  let cmd: ReturnType<typeof parseCommandLine>;
  try {
    cmd = parseCommandLine(process.argv.slice(2));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`liftbridge: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (cmd.kind === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (cmd.kind === "version") {
    process.stdout.write(`liftbridge ${VERSION}\n`);
    return 0;
  }
  if (cmd.kind === "print-config") {
    process.stdout.write(cmd.text);
    return 0;
  }
  const c = cmd.settings.config;
  const logger = pino({ level: c.logging.level, base: { pid: process.pid } });
  if (!isSet(cmd.settings, "data.dir")) {
    logger.warn(
      { dataDir: c.dataDir },
      "no data.dir configured: using the default under the temp dir (may be cleared on reboot); set --data-dir for durable storage",
    );
  }
  logger.info(
    { dataDir: c.dataDir, sync: c.streams.sync, syncIntervalMs: c.streams.syncIntervalMs },
    "commit-log sync policy",
  );
  let server: Awaited<ReturnType<typeof runServer>>;
  try {
    server = await runServer(cmd.settings, logger);
  } catch (e) {
    logger.error({ err: e }, "failed to start");
    return 1;
  }
  logger.info(
    { nodeId: server.serverId, port: server.port, nats: server.natsUrl },
    "liftbridge server listening",
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "shutting down");
      server.close().then(
        () => {
          logger.info({}, "stopped");
          resolve(0);
        },
        (err: unknown) => {
          logger.error({ err }, "error while stopping");
          resolve(1);
        },
      );
    };
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
    // SIGHUP reloads the authorization policy (upstream crashes on it when authz is off).
    process.on("SIGHUP", () => {
      if (stopping) return;
      if (!server.broker.authzEnabled) {
        logger.info({ signal: "SIGHUP" }, "authorization is off: nothing to reload");
        return;
      }
      // Success and failure (the previous policy then stays) are logged by the broker.
      server.broker.reloadAuthz().catch(() => {});
    });
  });
}

main().then(
  (code) => {
    process.exitCode = code;
    // Handles (timers of closed logs, sockets) must not keep a stopped server alive.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err: unknown) => {
    process.stderr.write(`liftbridge: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
