/**
 * Server settings: `@liftbridge/conf` loads defaults ← config file (YAML or NATS syntax) ←
 * `LIFTBRIDGE_*` environment ← the spec §4.2 flags, including the TS port's `--sync`
 * (`streams.sync`), `--sync-interval` and `--embedded-nats-port` (`nats.embedded.port`), so
 * config files and environment variables can set those too.
 * @module
 */
import {
  type ConfIssue,
  type ConfigOrigin,
  formatFlagHelp,
  isConfError,
  type LiftbridgeConfig,
  loadConfig,
  parseLiftbridgeArgs,
  printEffectiveConfig,
} from "@liftbridge/conf";

/** A settings error (bad flag, unknown key, wrong type): the CLI prints it and exits 2. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Everything the server needs: the loaded config and where each value came from. */
export interface ServerSettings {
  readonly config: LiftbridgeConfig;
  /** Canonical key → origin (`default`, `file`, `env`, `flag`), from `loadConfig`. */
  readonly origins: ReadonlyMap<string, ConfigOrigin>;
}

/** Usage text of the CLI. */
export const USAGE = `Usage: liftbridge [options]

${formatFlagHelp()}
`;

/** The result of parsing the command line. */
export type CliCommand =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "print-config"; text: string }
  | { kind: "run"; settings: ServerSettings };

function describe(e: unknown): string {
  if (isConfError(e)) {
    const issues = (e as { issues?: readonly ConfIssue[] }).issues;
    if (issues !== undefined && issues.length > 0 && !e.message.includes(issues[0]!.message))
      return `${e.message}\n${issues.map((i) => `  ${i.message}`).join("\n")}`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** True when `key` was set by a file, the environment or a flag (not left at its default). */
export function isSet(settings: ServerSettings, key: string): boolean {
  const o = settings.origins.get(key);
  return o !== undefined && o.kind !== "default";
}

/** Parses argv (without node and script), loading the config file and environment. */
export function parseCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): CliCommand {
  try {
    const args = parseLiftbridgeArgs(argv);
    if (args.help) return { kind: "help" };
    if (args.version) return { kind: "version" };
    if (args.positionals.length > 0) throw new ConfigError(`unexpected argument ${args.positionals[0]}`);
    const { config, origins } = loadConfig({
      ...(args.configFile !== undefined ? { file: args.configFile } : {}),
      env,
      overrides: args.overrides,
    });
    if (args.printConfig) return { kind: "print-config", text: printEffectiveConfig(config, { origins }) };
    return { kind: "run", settings: { config, origins } };
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(describe(e));
  }
}
