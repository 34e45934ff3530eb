/**
 * Server settings: `@liftbridge/conf` loads defaults ← config file (YAML or NATS syntax) ←
 * `LIFTBRIDGE_*` environment ← the spec §4.2 flags. Two TS-port flags are taken out first:
 * `--sync none|interval|always` (commit-log fsync policy) and `--embedded-nats-port N`.
 * @module
 */
import {
  type ConfIssue,
  formatFlagHelp,
  isConfError,
  type LiftbridgeConfig,
  loadConfig,
  parseLiftbridgeArgs,
} from "@liftbridge/conf";

/** A settings error (bad flag, unknown key, wrong type): the CLI prints it and exits 2. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Commit-log fsync policy. */
export type SyncPolicy = "none" | "interval" | "always";

/** Everything the server needs: the loaded config plus the TS-port extensions. */
export interface ServerSettings {
  readonly config: LiftbridgeConfig;
  readonly sync: SyncPolicy;
  /** Embedded NATS port; undefined = the embedded config's or 4222. */
  readonly embeddedNatsPort: number | undefined;
}

/** Usage text of the CLI. */
export const USAGE = `Usage: liftbridge [options]

${formatFlagHelp()}
  --sync POLICY                            commit-log fsync policy: none, interval or always (fsync before acks) (default: none)
  --embedded-nats-port PORT                port of the embedded NATS server; 0 = any free port (default: 4222)
`;

/** The result of parsing the command line. */
export type CliCommand = { kind: "help" } | { kind: "version" } | { kind: "run"; settings: ServerSettings };

const EXTENSIONS = new Set(["sync", "embedded-nats-port"]);

function takeExtensions(argv: readonly string[]): { rest: string[]; ext: Map<string, string> } {
  const rest: string[] = [];
  const ext = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(a);
    if (m !== null && EXTENSIONS.has(m[1]!)) {
      let v = m[2];
      if (v === undefined) {
        if (i + 1 >= argv.length) throw new ConfigError(`flag '--${m[1]}' needs an argument`);
        v = argv[++i]!;
      }
      ext.set(m[1]!, v);
    } else rest.push(a);
  }
  return { rest, ext };
}

function describe(e: unknown): string {
  if (isConfError(e)) {
    const issues = (e as { issues?: readonly ConfIssue[] }).issues;
    if (issues !== undefined && issues.length > 0)
      return `${e.message}\n${issues.map((i) => `  ${i.message}`).join("\n")}`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Parses argv (without node and script), loading the config file and environment. */
export function parseCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): CliCommand {
  const { rest, ext } = takeExtensions(argv);
  let args: ReturnType<typeof parseLiftbridgeArgs>;
  let config: LiftbridgeConfig;
  try {
    args = parseLiftbridgeArgs(rest);
    if (args.help) return { kind: "help" };
    if (args.version) return { kind: "version" };
    if (args.positionals.length > 0) throw new ConfigError(`unexpected argument ${args.positionals[0]}`);
    config = loadConfig({
      ...(args.configFile !== undefined ? { file: args.configFile } : {}),
      env,
      overrides: args.overrides,
    }).config;
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(describe(e));
  }
  const sync = ext.get("sync") ?? "none";
  if (sync !== "none" && sync !== "interval" && sync !== "always") {
    throw new ConfigError(`--sync: expected none, interval or always, got ${sync}`);
  }
  const portText = ext.get("embedded-nats-port");
  let embeddedNatsPort: number | undefined;
  if (portText !== undefined) {
    embeddedNatsPort = Number(portText);
    if (!Number.isInteger(embeddedNatsPort) || embeddedNatsPort < 0 || embeddedNatsPort > 65535) {
      throw new ConfigError(`--embedded-nats-port: invalid port ${portText}`);
    }
  }
  return { kind: "run", settings: { config, sync, embeddedNatsPort } };
}
