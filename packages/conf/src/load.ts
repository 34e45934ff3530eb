import { ConfError, ConfErrorCode, type ConfIssue, type ConfLocation, formatLocation } from "./errors.js";
import { type ConfFileSystem, nodeConfFs, parseConf } from "./parser.js";
import {
  DEFAULT_NAMESPACE,
  envVarName,
  findOption,
  LIFTBRIDGE_OPTIONS,
  type LiftbridgeConfig,
  type OptionSpec,
  type OptionValue,
} from "./schema.js";
import type { ConfMapNode, ConfNode } from "./types.js";
import { formatGoDuration, parseBoolText, parseGoDuration, parseSize } from "./values.js";
import { parseYamlConf } from "./yaml.js";

/** A value set from outside the file (a command-line flag), for {@link loadConfig}. */
export interface ConfigOverride {
  /** Canonical (or alias) key, e.g. `clustering.server.id`. */
  readonly key: string;
  /** Text is parsed by the option's type; a boolean sets a bool; a list sets a list option. */
  readonly value: string | boolean | readonly string[];
  /** What to name in messages, e.g. `--server-id`. */
  readonly source: string;
}

/** Where an effective value came from. */
export interface ConfigOrigin {
  readonly kind: "default" | "file" | "env" | "flag";
  /** File position, `env LIFTBRIDGE_X` or `flag --x`; undefined for defaults and derived values. */
  readonly location: ConfLocation | undefined;
  /** The key as written (file), the variable name (env) or the flag. */
  readonly name: string;
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Config file path. `.yaml`/`.yml` is read as YAML, anything else as NATS configuration. */
  readonly file?: string;
  /** Config text to use instead of reading `file` (`file` then only names it). */
  readonly text?: string;
  /** Force the format instead of guessing from the file extension. */
  readonly format?: "conf" | "yaml";
  /**
   * Environment: `LIFTBRIDGE_<KEY>` variables override the file (e.g. `LIFTBRIDGE_CLUSTERING_SERVER_ID`),
   * and NATS-format `$VAR` references read it. Default `process.env`; pass `{}` to ignore it.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Flag values; they override everything else (see {@link parseLiftbridgeArgs}). */
  readonly overrides?: readonly ConfigOverride[];
  /** File access for the config file and its includes. Default: Node's fs. */
  readonly fs?: ConfFileSystem;
}

/** The result of {@link loadConfig}. */
export interface LoadedConfig {
  readonly config: LiftbridgeConfig;
  /** Canonical key → where its value came from (every option has an entry). */
  readonly origins: ReadonlyMap<string, ConfigOrigin>;
}

interface Slot {
  value: OptionValue;
  origin: ConfigOrigin;
}

const KNOWN_KEYS = LIFTBRIDGE_OPTIONS.flatMap((o) => [o.key, ...(o.aliases ?? [])]);

/**
 * Loads the Liftbridge configuration: defaults ← config file ← `LIFTBRIDGE_*` environment ←
 * overrides (flags). Dotted keys and nested maps are the same key; both the seed's spellings
 * (`log.level`, `log { segment.max.bytes }`, `clustering { raft.logging }`) and upstream's
 * (`logging.level`, `streams.segment.max.bytes`) are accepted.
 *
 * Durations are Go duration strings (`"20s"`, `"1m30s"`) or integers of **seconds** (0 = zero);
 * sizes are integers of bytes or suffixed sizes (`256MB`, `"1GiB"`).
 *
 * Throws {@link ConfError}: the parser's codes for a malformed file, `include` when the file can
 * not be read, and `validation` with every problem in `issues` (unknown keys, wrong types, bad
 * durations and sizes, out-of-range values, conflicting options), each naming key and location.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const issues: ConfIssue[] = [];
  const slots = new Map<string, Slot>();
  for (const o of LIFTBRIDGE_OPTIONS) {
    slots.set(o.key, { value: o.default, origin: { kind: "default", location: undefined, name: o.key } });
  }

  if (options.file !== undefined || options.text !== undefined) {
    const root = readConfigTree(options, env);
    const seen = new Map<string, { name: string; location: ConfLocation }>();
    for (const leaf of flatten(root)) {
      const opt = findOption(leaf.key);
      if (opt === undefined) {
        const hint = suggest(leaf.key.toLowerCase());
        issues.push(
          issue(
            ConfErrorCode.UnknownKey,
            leaf.key,
            leaf.location,
            `unknown key "${leaf.key}"${hint === undefined ? "" : ` (did you mean "${hint}"?)`}`,
          ),
        );
        continue;
      }
      const prev = seen.get(opt.key);
      if (prev !== undefined) {
        issues.push(
          issue(
            ConfErrorCode.Conflict,
            leaf.key,
            leaf.location,
            `"${leaf.key}" sets the same option as "${prev.name}" at ${formatLocation(prev.location)}`,
          ),
        );
        continue;
      }
      seen.set(opt.key, { name: leaf.key, location: leaf.location });
      const v = fromNode(opt, leaf.node, leaf.key, leaf.location, issues);
      if (v !== INVALID)
        slots.set(opt.key, { value: v, origin: { kind: "file", location: leaf.location, name: leaf.key } });
    }
  }

  for (const o of LIFTBRIDGE_OPTIONS) {
    const name = envVarName(o.key);
    const text = Object.hasOwn(env, name) ? env[name] : undefined;
    if (text === undefined || text === "") continue;
    const loc: ConfLocation = { file: `env ${name}`, line: 0, column: 0 };
    const v = fromText(o, text, o.key, loc, issues);
    if (v !== INVALID) slots.set(o.key, { value: v, origin: { kind: "env", location: loc, name } });
  }

  for (const ov of options.overrides ?? []) {
    const loc: ConfLocation = { file: `flag ${ov.source}`, line: 0, column: 0 };
    const o = findOption(ov.key);
    if (o === undefined) {
      issues.push(issue(ConfErrorCode.BadFlag, ov.key, loc, `flag sets unknown key "${ov.key}"`));
      continue;
    }
    let v: OptionValue | typeof INVALID;
    if (typeof ov.value === "boolean") {
      v = o.type === "bool" ? ov.value : INVALID;
      if (v === INVALID) issues.push(wrongType(o, ov.key, loc, `a boolean (${ov.value})`));
    } else if (typeof ov.value === "string") {
      v = fromText(o, ov.value, o.key, loc, issues);
    } else {
      v =
        o.type === "stringList"
          ? ov.value.flatMap(splitList)
          : fromText(o, ov.value.join(","), o.key, loc, issues);
    }
    if (v !== INVALID)
      slots.set(o.key, { value: v, origin: { kind: "flag", location: loc, name: ov.source } });
  }

  const config = assemble(slots, issues, env);
  if (issues.length > 0) {
    const n = issues.length;
    throw new ConfError(
      ConfErrorCode.Validation,
      `${n} configuration error${n === 1 ? "" : "s"}:\n${issues.map((i) => `  ${i.message}`).join("\n")}`,
      { issues, location: issues[0]?.location },
    );
  }
  const origins = new Map<string, ConfigOrigin>();
  for (const [k, s] of slots) origins.set(k, s.origin);
  return { config, origins };
}

function readConfigTree(
  options: LoadConfigOptions,
  env: Readonly<Record<string, string | undefined>>,
): ConfMapNode {
  const fs = options.fs ?? nodeConfFs;
  let text = options.text;
  if (text === undefined) {
    const path = options.file as string;
    try {
      text = fs.readFile(path);
    } catch (cause) {
      throw new ConfError(ConfErrorCode.Include, `can not read config file '${path}'`, { cause });
    }
  }
  const format = options.format ?? (/\.ya?ml$/i.test(options.file ?? "") ? "yaml" : "conf");
  if (format === "yaml") return parseYamlConf(text, options.file === undefined ? {} : { file: options.file });
  return parseConf(text, { ...(options.file === undefined ? {} : { file: options.file }), env, fs }).root;
}

interface Leaf {
  readonly key: string;
  readonly node: ConfNode;
  readonly location: ConfLocation;
}

/** Leaves of the tree with dotted keys: `a { b.c = 1 }` gives `a.b.c`. Empty maps give nothing. */
function flatten(root: ConfMapNode): Leaf[] {
  const out: Leaf[] = [];
  const walk = (m: ConfMapNode, prefix: string) => {
    for (const e of m.entries.values()) {
      const key = prefix === "" ? e.key : `${prefix}.${e.key}`;
      if (e.node.kind === "map") walk(e.node, key);
      else out.push({ key, node: e.node, location: e.keyPos });
    }
  };
  walk(root, "");
  return out;
}

const INVALID: unique symbol = Symbol("invalid");
type Result = OptionValue | typeof INVALID;

function issue(code: ConfErrorCode, key: string, location: ConfLocation, text: string): ConfIssue {
  return { code, key, location, message: `${formatLocation(location)}: ${text}` };
}

function expected(o: OptionSpec): string {
  switch (o.type) {
    case "int":
      return "an integer";
    case "size":
      return 'a size (an integer of bytes, or a string such as "256MB")';
    case "bool":
      return "a boolean";
    case "duration":
      return 'a duration (a string such as "20s", or an integer of seconds)';
    case "stringList":
      return "a list of strings";
    case "listen":
      return '"host:port" or a port number';
    case "enum":
      return `one of ${(o.values ?? []).map((v) => `"${v}"`).join(", ")}`;
    default:
      return "a string";
  }
}

/** Describes a node for messages, e.g. `a string ("lots")`. @internal */
export function describeNode(n: ConfNode): string {
  switch (n.kind) {
    case "string":
      return `a string (${JSON.stringify(n.value.length > 40 ? `${n.value.slice(0, 40)}…` : n.value)})`;
    case "int":
      return `an integer (${n.value})`;
    case "float":
      return `a float (${n.value})`;
    case "bool":
      return `a boolean (${n.value})`;
    case "datetime":
      return "a datetime";
    case "array":
      return "a list";
    default:
      return "a map";
  }
}

function wrongType(o: OptionSpec, key: string, loc: ConfLocation, got: string): ConfIssue {
  return issue(
    ConfErrorCode.WrongType,
    key,
    loc,
    `wrong type for "${key}": expected ${expected(o)}, got ${got}`,
  );
}

function checkRange(
  o: OptionSpec,
  key: string,
  loc: ConfLocation,
  v: number | bigint,
  issues: ConfIssue[],
): Result {
  const min = o.min ?? Number.MIN_SAFE_INTEGER;
  const max = o.max ?? Number.MAX_SAFE_INTEGER;
  if (typeof v === "bigint" || v < min || v > max) {
    const show = (x: number | bigint) =>
      o.type === "duration" && typeof x === "number" ? formatGoDuration(x) : String(x);
    issues.push(
      issue(
        ConfErrorCode.OutOfRange,
        key,
        loc,
        `"${key}" is out of range: ${show(v)} is not between ${show(min)} and ${max === Number.MAX_SAFE_INTEGER && o.type === "duration" ? "any" : show(max)}`,
      ),
    );
    return INVALID;
  }
  return v;
}

function badDuration(key: string, loc: ConfLocation, text: string): ConfIssue {
  return issue(
    ConfErrorCode.BadDuration,
    key,
    loc,
    `bad duration for "${key}": ${JSON.stringify(text)} is not a duration (use a Go duration such as "20s", "1m30s" or "100ms")`,
  );
}

function badSize(key: string, loc: ConfLocation, text: string): ConfIssue {
  return issue(
    ConfErrorCode.BadSize,
    key,
    loc,
    `bad size for "${key}": ${JSON.stringify(text)} is not a size (such as 1048576, "256MB" or "1GiB")`,
  );
}

function splitList(s: string): string[] {
  return s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

/** Converts a value from a config file. */
function fromNode(
  o: OptionSpec,
  n: ConfNode,
  key: string,
  loc: ConfLocation,
  issues: ConfIssue[],
): OptionValue | typeof INVALID {
  const bad = (): Result => {
    issues.push(wrongType(o, key, loc, describeNode(n)));
    return INVALID;
  };
  switch (o.type) {
    case "string":
    case "path":
      if (n.kind === "string") return checkString(o, key, loc, n.value, issues);
      if (o.type === "string" && (n.kind === "int" || n.kind === "float")) {
        return checkString(o, key, loc, String(n.value), issues);
      }
      return bad();
    case "int":
      if (n.kind !== "int") return bad();
      return checkRange(o, key, loc, n.value, issues);
    case "size":
      if (n.kind === "int") return checkRange(o, key, loc, n.value, issues);
      if (n.kind === "string") return sizeText(o, key, loc, n.value, issues);
      return bad();
    case "bool":
      return n.kind === "bool" ? n.value : bad();
    case "duration":
      if (n.kind === "int")
        return checkRange(o, key, loc, typeof n.value === "bigint" ? n.value : n.value * 1000, issues);
      if (n.kind === "string") return durationText(o, key, loc, n.value, issues);
      return bad();
    case "stringList":
      if (n.kind === "string") return splitList(n.value);
      if (n.kind !== "array") return bad();
      if (n.items.some((i) => i.kind !== "string")) return bad();
      return n.items.map((i) => (i as { value: string }).value);
    case "listen":
      if (n.kind === "int") return listenText(o, key, loc, String(n.value), issues);
      if (n.kind === "string") return listenText(o, key, loc, n.value, issues);
      return bad();
    case "enum":
      if (n.kind !== "string") return bad();
      return enumText(o, key, loc, n.value, issues);
  }
}

/** Converts a value given as text (environment variable or flag). */
function fromText(
  o: OptionSpec,
  text: string,
  key: string,
  loc: ConfLocation,
  issues: ConfIssue[],
): OptionValue | typeof INVALID {
  switch (o.type) {
    case "string":
    case "path":
      return checkString(o, key, loc, text, issues);
    case "int": {
      if (!/^\s*-?\d+\s*$/.test(text)) {
        issues.push(wrongType(o, key, loc, `${JSON.stringify(text)}`));
        return INVALID;
      }
      const b = BigInt(text.trim());
      return checkRange(o, key, loc, b >= -(2n ** 53n) && b <= 2n ** 53n ? Number(b) : b, issues);
    }
    case "size":
      return sizeText(o, key, loc, text, issues);
    case "bool": {
      const b = parseBoolText(text);
      if (b === undefined) {
        issues.push(wrongType(o, key, loc, JSON.stringify(text)));
        return INVALID;
      }
      return b;
    }
    case "duration":
      if (/^\s*\d+\s*$/.test(text)) return checkRange(o, key, loc, Number(text) * 1000, issues);
      return durationText(o, key, loc, text.trim(), issues);
    case "stringList":
      return splitList(text);
    case "listen":
      return listenText(o, key, loc, text.trim(), issues);
    case "enum":
      return enumText(o, key, loc, text.trim(), issues);
  }
}

function checkString(o: OptionSpec, key: string, loc: ConfLocation, v: string, issues: ConfIssue[]): Result {
  if ((o.key === "clustering.server.id" || o.key === "clustering.namespace") && !/^[^\s.*>]+$/.test(v)) {
    issues.push(
      issue(
        ConfErrorCode.BadValue,
        key,
        loc,
        `bad value for "${key}": ${JSON.stringify(v)} must be non-empty without spaces, '.', '*' or '>'`,
      ),
    );
    return INVALID;
  }
  return v;
}

function sizeText(o: OptionSpec, key: string, loc: ConfLocation, text: string, issues: ConfIssue[]): Result {
  const v = parseSize(text);
  if (v === undefined) {
    issues.push(badSize(key, loc, text));
    return INVALID;
  }
  return checkRange(o, key, loc, v, issues);
}

function durationText(
  o: OptionSpec,
  key: string,
  loc: ConfLocation,
  text: string,
  issues: ConfIssue[],
): Result {
  const v = parseGoDuration(text);
  if (v === undefined) {
    issues.push(badDuration(key, loc, text));
    return INVALID;
  }
  return checkRange(o, key, loc, v, issues);
}

function listenText(
  o: OptionSpec,
  key: string,
  loc: ConfLocation,
  text: string,
  issues: ConfIssue[],
): Result {
  const m = /^(?:(.*):)?(\d+)$/.exec(text);
  const port = m === null ? Number.NaN : Number(m[2]);
  if (m === null || port > 65535) {
    issues.push(
      issue(
        ConfErrorCode.BadValue,
        key,
        loc,
        `bad value for "${key}": ${JSON.stringify(text)} is not ${expected(o)}`,
      ),
    );
    return INVALID;
  }
  const host = m[1] === undefined || m[1] === "" ? "0.0.0.0" : m[1].replace(/^\[(.*)\]$/, "$1");
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function enumText(o: OptionSpec, key: string, loc: ConfLocation, text: string, issues: ConfIssue[]): Result {
  const v = text.toLowerCase();
  if (!(o.values ?? []).includes(v)) {
    issues.push(
      issue(
        ConfErrorCode.BadValue,
        key,
        loc,
        `bad value for "${key}": ${JSON.stringify(text)} is not ${expected(o)}`,
      ),
    );
    return INVALID;
  }
  return v;
}

/** Closest known key within edit distance 2, for "did you mean". */
function suggest(key: string): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of KNOWN_KEYS) {
    if (Math.abs(k.length - key.length) >= bestD) continue;
    const d = editDistance(k, key, bestD);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string, cap: number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      cur.push(v);
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin >= cap) return cap;
    prev = cur;
  }
  return prev[b.length] as number;
}

/** Builds the typed config from the slots, derives computed values and checks cross-option rules. */
function assemble(
  slots: Map<string, Slot>,
  issues: ConfIssue[],
  env: Readonly<Record<string, string | undefined>>,
): LiftbridgeConfig {
  const get = (k: string) => slots.get(k) as Slot;
  const val = (k: string) => get(k).value;
  const isSet = (k: string) => get(k).origin.kind !== "default";
  const where = (k: string): ConfLocation => get(k).origin.location ?? { file: "config", line: 0, column: 0 };
  const conflict = (k: string, text: string) =>
    issues.push(issue(ConfErrorCode.Conflict, get(k).origin.name, where(k), text));

  // Derived values.
  if (val("nats.embedded.config") !== undefined) {
    get("nats.embedded").value = true;
  }
  if (val("data.dir") === undefined) {
    get("data.dir").value =
      `${tempBase(env)}/liftbridge/${(val("clustering.namespace") as string | undefined) ?? DEFAULT_NAMESPACE}`;
  }
  const seg = val("streams.segment.max.age") as number | undefined;
  const segAge = seg ?? (val("streams.retention.max.age") as number);
  get("streams.segment.max.age").value = segAge > 0 && segAge < 1000 ? 1000 : segAge;

  // Cross-option rules.
  const pair = (a: string, b: string) => {
    if ((val(a) === undefined) !== (val(b) === undefined)) {
      const [set, unset] = val(a) === undefined ? [b, a] : [a, b];
      conflict(set, `conflicting options: "${set}" is set but "${unset}" is not; both are needed`);
    }
  };
  pair("tls.key", "tls.cert");
  pair("nats.tls.cert", "nats.tls.key");
  if (val("tls.client.auth.enabled") === true && val("tls.cert") === undefined) {
    conflict(
      "tls.client.auth.enabled",
      'conflicting options: "tls.client.auth.enabled" needs "tls.key" and "tls.cert"',
    );
  }
  if (val("tls.client.authz.enabled") === true) {
    const missing = ["tls.client.auth.enabled", "tls.client.authz.model", "tls.client.authz.policy"].filter(
      (k) => val(k) === undefined || val(k) === false,
    );
    if (missing.length > 0) {
      conflict(
        "tls.client.authz.enabled",
        `conflicting options: "tls.client.authz.enabled" needs ${missing.map((m) => `"${m}"`).join(", ")}`,
      );
    }
  }
  const peers = val("clustering.raft.bootstrap.peers") as readonly string[];
  if (val("clustering.raft.bootstrap.seed") === true && peers.length > 0) {
    conflict(
      isSet("clustering.raft.bootstrap.peers")
        ? "clustering.raft.bootstrap.peers"
        : "clustering.raft.bootstrap.seed",
      'conflicting options: "clustering.raft.bootstrap.seed" and "clustering.raft.bootstrap.peers" can not both be set',
    );
  }
  if (val("cursors.stream.replication.factor") === 0) {
    conflict(
      "cursors.stream.replication.factor",
      '"cursors.stream.replication.factor" must be -1 (all servers) or at least 1',
    );
  }

  const out: Record<string, unknown> = {};
  for (const o of LIFTBRIDGE_OPTIONS) setPath(out, o.field, val(o.key));
  const listen = val("listen") as string | undefined;
  const port = val("port") as number;
  let bind: { host: string; port: number };
  if (listen !== undefined) {
    const i = listen.lastIndexOf(":");
    bind = { host: listen.slice(0, i).replace(/^\[(.*)\]$/, "$1"), port: Number(listen.slice(i + 1)) };
  } else {
    bind = { host: (val("host") as string | undefined) ?? "0.0.0.0", port };
  }
  out.bind = bind;
  out.advertise = { host: (val("host") as string | undefined) ?? "localhost", port };
  return out as unknown as LiftbridgeConfig;
}

/** `$TMPDIR` without trailing slashes when it is an absolute path, else `/tmp` (upstream's base). */
function tempBase(env: Readonly<Record<string, string | undefined>>): string {
  const t = Object.hasOwn(env, "TMPDIR") ? env.TMPDIR : undefined;
  if (t === undefined || !t.startsWith("/")) return "/tmp";
  const trimmed = t.replace(/\/+$/, "");
  return trimmed === "" ? "/tmp" : trimmed;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    cur[p] ??= {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1] as string] = Array.isArray(value) ? [...value] : value;
}

/** The defaults: what {@link loadConfig} returns with no file, environment or flags. */
export function defaultConfig(): LiftbridgeConfig {
  return loadConfig({ env: {} }).config;
}
