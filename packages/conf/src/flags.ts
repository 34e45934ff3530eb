import { ConfError, ConfErrorCode } from "./errors.js";
import type { ConfigOverride } from "./load.js";

/** A command-line flag of the `liftbridge` server (API spec §4.2). */
export interface FlagDefinition {
  /** Long name without dashes (`server-id`). */
  readonly name: string;
  /** Other names without dashes (`id`, or one letter such as `c`). */
  readonly aliases: readonly string[];
  /** `string` takes an argument; `list` takes one and may repeat (comma-split); `bool` takes none. */
  readonly kind: "string" | "bool" | "list";
  /** The config key it sets; undefined for `config`, `help` and `version`. */
  readonly key: string | undefined;
  /** Argument placeholder for help output. */
  readonly arg?: string;
  readonly description: string;
  /** Default as shown in help. */
  readonly defaultText: string;
}

/** The server's flags, in help order. Names and aliases follow upstream Liftbridge. */
export const LIFTBRIDGE_FLAGS: readonly FlagDefinition[] = [
  {
    name: "config",
    aliases: ["c"],
    kind: "string",
    key: undefined,
    arg: "FILE",
    description: "load configuration from FILE (.conf NATS format, or .yaml/.yml)",
    defaultText: "none",
  },
  {
    name: "server-id",
    aliases: ["id"],
    kind: "string",
    key: "clustering.server.id",
    arg: "ID",
    description: "ID of the server in the cluster",
    defaultText: "random (persisted)",
  },
  {
    name: "namespace",
    aliases: ["ns"],
    kind: "string",
    key: "clustering.namespace",
    arg: "NS",
    description: "cluster namespace",
    defaultText: "liftbridge-default",
  },
  {
    name: "nats-servers",
    aliases: ["n"],
    kind: "list",
    key: "nats.servers",
    arg: "ADDR[,ADDR]",
    description: "NATS servers to connect to (comma-separated, may repeat)",
    defaultText: "nats://127.0.0.1:4222",
  },
  {
    name: "embedded-nats",
    aliases: ["e"],
    kind: "bool",
    key: "nats.embedded",
    description: "run an embedded NATS server",
    defaultText: "false",
  },
  {
    name: "embedded-nats-config",
    aliases: ["nc"],
    kind: "string",
    key: "nats.embedded.config",
    arg: "FILE",
    description: "nats-server config file for the embedded NATS server (turns it on)",
    defaultText: "none",
  },
  {
    name: "embedded-nats-port",
    aliases: [],
    kind: "string",
    key: "nats.embedded.port",
    arg: "PORT",
    description: "client port of the embedded NATS server; 0 = any free port",
    defaultText: "4222",
  },
  {
    name: "data-dir",
    aliases: ["d"],
    kind: "string",
    key: "data.dir",
    arg: "DIR",
    description: "directory for stream logs and Raft state",
    defaultText: "$TMPDIR/liftbridge/<namespace>",
  },
  {
    name: "port",
    aliases: ["p"],
    kind: "string",
    key: "port",
    arg: "PORT",
    description: "port to bind to and advertise",
    defaultText: "9292",
  },
  {
    name: "tls-cert",
    aliases: [],
    kind: "string",
    key: "tls.cert",
    arg: "FILE",
    description: "server certificate file",
    defaultText: "none",
  },
  {
    name: "tls-key",
    aliases: [],
    kind: "string",
    key: "tls.key",
    arg: "FILE",
    description: "server private key file",
    defaultText: "none",
  },
  {
    name: "level",
    aliases: ["l"],
    kind: "string",
    key: "logging.level",
    arg: "LEVEL",
    description: "logging level: debug, info, warn or error",
    defaultText: "info",
  },
  {
    name: "raft-bootstrap-seed",
    aliases: [],
    kind: "bool",
    key: "clustering.raft.bootstrap.seed",
    description: "bootstrap the Raft cluster as its seed node when there is no state",
    defaultText: "false",
  },
  {
    name: "raft-bootstrap-peers",
    aliases: [],
    kind: "list",
    key: "clustering.raft.bootstrap.peers",
    arg: "ID[,ID]",
    description: "bootstrap the Raft cluster with these peer IDs",
    defaultText: "none",
  },
  {
    name: "sync",
    aliases: [],
    kind: "string",
    key: "streams.sync",
    arg: "POLICY",
    description: "commit-log fsync policy: none, interval or always (fsync before acks)",
    defaultText: "none",
  },
  {
    name: "sync-interval",
    aliases: [],
    kind: "string",
    key: "streams.sync.interval",
    arg: "DURATION",
    description: "fsync period of the interval sync policy",
    defaultText: "1s",
  },
  {
    name: "print-config",
    aliases: [],
    kind: "bool",
    key: undefined,
    description: "print the effective configuration (secrets masked) and exit",
    defaultText: "false",
  },
  {
    name: "help",
    aliases: ["h"],
    kind: "bool",
    key: undefined,
    description: "show help",
    defaultText: "false",
  },
  {
    name: "version",
    aliases: ["v"],
    kind: "bool",
    key: undefined,
    description: "print the version",
    defaultText: "false",
  },
];

const BY_NAME = new Map<string, FlagDefinition>();
for (const f of LIFTBRIDGE_FLAGS) for (const n of [f.name, ...f.aliases]) BY_NAME.set(n, f);

/** The result of {@link parseLiftbridgeArgs}. */
export interface ParsedLiftbridgeArgs {
  /** `--config` / `-c`, when given. */
  readonly configFile: string | undefined;
  readonly help: boolean;
  readonly version: boolean;
  /** `--print-config`: print the effective configuration and exit. */
  readonly printConfig: boolean;
  /** Config overrides, for `loadConfig({ overrides })`. */
  readonly overrides: readonly ConfigOverride[];
  /** Arguments that are not flags (after `--`, or not starting with `-`). */
  readonly positionals: readonly string[];
}

/**
 * Parses server arguments (without `node` and the script). Like Go's flag package, every name works
 * with `-` or `--`, and as `--name value` or `--name=value`; bool flags take no argument but accept
 * `--flag=false`. List flags may repeat. Throws {@link ConfError} `bad_flag` for an unknown flag,
 * a missing argument or a bad bool.
 */
export function parseLiftbridgeArgs(argv: readonly string[]): ParsedLiftbridgeArgs {
  const values = new Map<FlagDefinition, string | boolean | string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      positionals.push(a);
      continue;
    }
    const body = a.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq === -1 ? body : body.slice(0, eq);
    const f = BY_NAME.get(name);
    if (f === undefined) throw new ConfError(ConfErrorCode.BadFlag, `unknown flag '${a}'`);
    let text: string | undefined = eq === -1 ? undefined : body.slice(eq + 1);
    if (f.kind === "bool") {
      if (text === undefined) values.set(f, true);
      else if (/^(true|1)$/i.test(text)) values.set(f, true);
      else if (/^(false|0)$/i.test(text)) values.set(f, false);
      else
        throw new ConfError(ConfErrorCode.BadFlag, `flag '--${f.name}' takes true or false, got '${text}'`);
      continue;
    }
    if (text === undefined) {
      if (i + 1 >= argv.length)
        throw new ConfError(ConfErrorCode.BadFlag, `flag '--${f.name}' needs an argument`);
      text = argv[++i] as string;
    }
    if (f.kind === "list") {
      const prev = values.get(f);
      values.set(f, [...(Array.isArray(prev) ? prev : []), text]);
    } else values.set(f, text);
  }
  const named: Record<string, string | boolean | string[]> = {};
  for (const [f, v] of values) named[f.name] = v;
  const { overrides } = flagsToOverrides(named);
  const cfg = named.config;
  return {
    configFile: typeof cfg === "string" ? cfg : undefined,
    help: named.help === true,
    version: named.version === true,
    printConfig: named["print-config"] === true,
    overrides,
    positionals,
  };
}

/**
 * Turns already-parsed flag values (keyed by flag name or alias, as `node:util` `parseArgs` or
 * any CLI library returns them) into config overrides. Values are strings, booleans or string
 * arrays; list values are comma-split later by the loader. Flags without a config key (`config`,
 * `help`, `version`, `print-config`) are skipped; unknown names throw {@link ConfError} `bad_flag`.
 */
export function flagsToOverrides(
  values: Readonly<Record<string, string | boolean | readonly string[] | undefined>>,
): {
  readonly overrides: readonly ConfigOverride[];
} {
  const overrides: ConfigOverride[] = [];
  for (const [name, v] of Object.entries(values)) {
    if (v === undefined) continue;
    const f = BY_NAME.get(name);
    if (f === undefined) throw new ConfError(ConfErrorCode.BadFlag, `unknown flag '--${name}'`);
    if (f.key === undefined) continue;
    overrides.push({ key: f.key, value: v, source: `--${f.name}` });
    // Upstream: setting the embedded NATS config file also turns embedded NATS on (done by the loader).
  }
  return { overrides };
}

/** Help text listing every flag, for `liftbridge --help`. */
export function formatFlagHelp(): string {
  return LIFTBRIDGE_FLAGS.map((f) => {
    const names = [f.name, ...f.aliases].map((n) => (n.length === 1 ? `-${n}` : `--${n}`)).join(", ");
    const arg = f.arg === undefined ? "" : ` ${f.arg}`;
    return `  ${`${names}${arg}`.padEnd(40)} ${f.description} (default: ${f.defaultText})`;
  }).join("\n");
}
