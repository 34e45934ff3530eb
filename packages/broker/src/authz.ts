/**
 * Authorization (spec §3 "Authorization", §4.3 `tls.client.authz.*`, §5 "authz denied" rows): an ACL
 * over (client certificate CN, resource, RPC name), in the subset of the Casbin model and CSV policy
 * formats that upstream Liftbridge's sample model uses.
 *
 * Supported model (anything else is rejected when the model is loaded, naming the construct):
 * - `[request_definition]` `r = <sub>, <obj>, <act>`: exactly three fields, taken in that order;
 * - `[policy_definition]` `p = <field>, ...`: any field names, optionally `eft` (`allow` / `deny`);
 * - `[policy_effect]` `e = some(where (p.eft == allow))`;
 * - `[matchers]` `m = <expression>` over `r.<field>`, `p.<field>`, string literals, `true`/`false`,
 *   `==`, `!=`, `&&`, `||`, `!`, parentheses and `keyMatch(key, pattern)` (Casbin's: a `*` in the
 *   pattern matches any suffix from its position).
 *
 * The policy file is Casbin's CSV: `p, <field>, ...` per line, `#` comments, blank lines ignored,
 * fields trimmed (double quotes allowed around a field). A request is allowed when some `p` line
 * (with `eft` `allow` or no `eft` field) satisfies the matcher; with no `p` line, or a matcher that
 * never reads `p`, the matcher is evaluated once with every `p` field empty (as Casbin does).
 *
 * The parsers and the enforcer are pure; {@link openAuthorizer} adds the files and reloading.
 * @module
 */
import { readFile as fsReadFile } from "node:fs/promises";
import { GrpcError, type ServerCall, Status } from "@liftbridge/grpc";
import { BrokerError, BrokerErrorCode } from "./errors.js";
import { type Logger, noopLogger } from "./logger.js";

/** The status message of a call from a client without a verified certificate CN (spec §5). */
export const CLIENT_ID_ERROR = "api: Failed to retrieve client ID";

/**
 * Upstream's documented sample Casbin model (documentation/authentication-authorization.md): exact
 * subject, object and action matches. Write it to the `tls.client.authz.model` file to start from it.
 */
export const SAMPLE_AUTHZ_MODEL = `[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.sub == p.sub && r.obj == p.obj && r.act == p.act
`;

/** The RPC names authorization checks, used as the Casbin action (PublishAsync checks `Publish`). */
export type AuthzAction =
  | "CreateStream"
  | "DeleteStream"
  | "PauseStream"
  | "SetStreamReadonly"
  | "Subscribe"
  | "FetchMetadata"
  | "FetchPartitionMetadata"
  | "Publish"
  | "PublishToSubject"
  | "SetCursor"
  | "FetchCursor";

/** A parsed, supported Casbin model. Build with {@link parseAuthzModel}. */
export interface AuthzModel {
  /** Field names of `r` (subject, object, action, in that order). */
  readonly requestFields: readonly [string, string, string];
  /** Field names of `p`. */
  readonly policyFields: readonly string[];
  /** The matcher expression as written. */
  readonly matcher: string;
  /** @internal The compiled matcher. */
  readonly match: (r: readonly string[], p: readonly string[]) => boolean;
  /** @internal Whether the matcher reads any `p` field. */
  readonly readsPolicy: boolean;
}

/** One `p` line of a policy: its fields in `policyFields` order. */
export type AuthzRule = readonly string[];

/** A parsed policy. Build with {@link parseAuthzPolicy}. */
export interface AuthzPolicy {
  readonly rules: readonly AuthzRule[];
}

/** Decides requests against one model and one policy. Build with {@link createEnforcer}. */
export interface AuthzEnforcer {
  /** Number of `p` lines. */
  readonly rules: number;
  /** True when `sub` may do `act` on `obj`. Pure; results are cached per triple. */
  enforce(sub: string, obj: string, act: string): boolean;
}

const invalid = (source: string, msg: string): BrokerError =>
  new BrokerError(BrokerErrorCode.InvalidArgument, `${source}: ${msg}`);

// ---- model ----

const SECTIONS: Record<string, string> = {
  request_definition: "r",
  policy_definition: "p",
  policy_effect: "e",
  matchers: "m",
};
const UNSUPPORTED_SECTIONS: Record<string, string> = {
  role_definition: "role definitions (RBAC, g(...)) are not supported",
};
const SUPPORTED_EFFECT = "some(where(p.eft==allow))";
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/u;

/**
 * Parses a Casbin model (INI-style text). Throws `BrokerError` `invalid_argument` whose message names
 * `source`, the line and the unsupported construct (a `[role_definition]`, a second request type
 * `r2`, another policy effect, an operator or function the matcher subset lacks, ...).
 */
export function parseAuthzModel(text: string, source = "authz model"): AuthzModel {
  const values = new Map<string, { value: string; line: number }>();
  let section: string | undefined;
  const lines = text.split(/\r?\n/u);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i]!.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    // A trailing backslash continues the value on the next line (Casbin's config format).
    while (line.endsWith("\\") && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    const header = /^\[([^\]]*)\]$/u.exec(line);
    if (header !== null) {
      const name = header[1]!.trim();
      const why = UNSUPPORTED_SECTIONS[name];
      if (why !== undefined) throw invalid(source, `line ${lineNo}: [${name}]: ${why}`);
      if (SECTIONS[name] === undefined) throw invalid(source, `line ${lineNo}: unknown section [${name}]`);
      section = name;
      continue;
    }
    const eq = line.indexOf("=");
    if (section === undefined) throw invalid(source, `line ${lineNo}: a key outside any section`);
    if (eq <= 0) throw invalid(source, `line ${lineNo}: expected "key = value" in [${section}]`);
    const key = line.slice(0, eq).trim();
    const expected = SECTIONS[section]!;
    if (key !== expected) {
      throw invalid(
        source,
        `line ${lineNo}: key "${key}" in [${section}] is not supported (only "${expected}"; multiple request, policy or matcher types are not supported)`,
      );
    }
    if (values.has(key)) throw invalid(source, `line ${lineNo}: "${key}" is defined twice`);
    values.set(key, { value: line.slice(eq + 1).trim(), line: lineNo });
  }
  for (const [name, key] of Object.entries(SECTIONS)) {
    if (!values.has(key)) throw invalid(source, `missing [${name}] with "${key} = ..."`);
  }
  const fields = (key: string): string[] => {
    const v = values.get(key)!;
    const list = v.value.split(",").map((f) => f.trim());
    for (const f of list) {
      if (!IDENT.test(f)) throw invalid(source, `line ${v.line}: invalid field name "${f}" in ${key}`);
    }
    if (new Set(list).size !== list.length)
      throw invalid(source, `line ${v.line}: duplicate field in ${key}`);
    return list;
  };
  const r = fields("r");
  if (r.length !== 3) {
    throw invalid(
      source,
      `line ${values.get("r")!.line}: request_definition must have exactly 3 fields (subject, object, action), got ${r.length}`,
    );
  }
  const p = fields("p");
  const e = values.get("e")!;
  if (e.value.replace(/\s+/gu, "") !== SUPPORTED_EFFECT) {
    throw invalid(
      source,
      `line ${e.line}: policy effect "${e.value}" is not supported (only "some(where (p.eft == allow))")`,
    );
  }
  const m = values.get("m")!;
  const compiled = compileMatcher(m.value, r, p, (msg) => invalid(source, `line ${m.line}: matcher: ${msg}`));
  return {
    requestFields: [r[0]!, r[1]!, r[2]!],
    policyFields: p,
    matcher: m.value,
    match: compiled.match,
    readsPolicy: compiled.readsPolicy,
  };
}

// ---- matcher: tokenizer, recursive-descent parser, closure compiler ----

type Token =
  | { kind: "op"; value: "==" | "!=" | "&&" | "||" | "!" | "(" | ")" | "," | "." }
  | { kind: "ident"; value: string }
  | { kind: "string"; value: string };

function tokenize(src: string, fail: (msg: string) => BrokerError): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/u.test(c)) {
      i++;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === "==" || two === "!=" || two === "&&" || two === "||") {
      out.push({ kind: "op", value: two });
      i += 2;
      continue;
    }
    if (c === "!" || c === "(" || c === ")" || c === "," || c === ".") {
      out.push({ kind: "op", value: c });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw fail(`unterminated string at column ${i + 1}`);
      out.push({ kind: "string", value: src.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/u.exec(src.slice(i));
    if (id !== null) {
      out.push({ kind: "ident", value: id[0] });
      i += id[0].length;
      continue;
    }
    const op = /^[^\sA-Za-z0-9_"'()!,.]+/u.exec(src.slice(i))?.[0] ?? c;
    throw fail(
      `operator "${op}" at column ${i + 1} is not supported (supported: ==, !=, &&, ||, !, parentheses, keyMatch)`,
    );
  }
  return out;
}

type Compiled =
  | { type: "bool"; eval: (r: readonly string[], p: readonly string[]) => boolean }
  | { type: "string"; eval: (r: readonly string[], p: readonly string[]) => string };

/** Casbin's `keyMatch`: `pattern` may hold a `*`, which matches any rest of `key` from its position. */
export function keyMatch(key: string, pattern: string): boolean {
  const star = pattern.indexOf("*");
  if (star < 0) return key === pattern;
  if (key.length > star) return key.slice(0, star) === pattern.slice(0, star);
  return key === pattern.slice(0, star);
}

function compileMatcher(
  src: string,
  rFields: readonly string[],
  pFields: readonly string[],
  fail: (msg: string) => BrokerError,
): { match: (r: readonly string[], p: readonly string[]) => boolean; readsPolicy: boolean } {
  const tokens = tokenize(src, fail);
  let pos = 0;
  let readsPolicy = false;
  const peek = (): Token | undefined => tokens[pos];
  const isOp = (v: string): boolean => {
    const t = tokens[pos];
    return t !== undefined && t.kind === "op" && t.value === v;
  };
  const expect = (v: string): void => {
    if (!isOp(v)) throw fail(`expected "${v}"${describeAt()}`);
    pos++;
  };
  const describeAt = (): string => {
    const t = tokens[pos];
    return t === undefined ? " at the end" : ` before "${t.value}"`;
  };
  const asBool = (c: Compiled, what: string): ((r: readonly string[], p: readonly string[]) => boolean) => {
    if (c.type !== "bool") throw fail(`${what} needs a boolean operand, got a string`);
    return c.eval;
  };

  const primary = (): Compiled => {
    const t = peek();
    if (t === undefined) throw fail("unexpected end of expression");
    if (t.kind === "op" && t.value === "(") {
      pos++;
      const e = or();
      expect(")");
      return e;
    }
    if (t.kind === "string") {
      pos++;
      const v = t.value;
      return { type: "string", eval: () => v };
    }
    if (t.kind === "ident") {
      pos++;
      if (t.value === "true" || t.value === "false") {
        const v = t.value === "true";
        return { type: "bool", eval: () => v };
      }
      if (isOp(".")) {
        pos++;
        const f = peek();
        if (f === undefined || f.kind !== "ident") throw fail(`expected a field name after "${t.value}."`);
        pos++;
        if (t.value === "r") {
          const idx = rFields.indexOf(f.value);
          if (idx < 0) throw fail(`r.${f.value} is not in request_definition`);
          return { type: "string", eval: (r) => r[idx]! };
        }
        if (t.value === "p") {
          const idx = pFields.indexOf(f.value);
          if (idx < 0) throw fail(`p.${f.value} is not in policy_definition`);
          readsPolicy = true;
          return { type: "string", eval: (_r, p) => p[idx]! };
        }
        throw fail(`unknown token "${t.value}.${f.value}" (only r.<field> and p.<field>)`);
      }
      if (isOp("(")) {
        pos++;
        const args: Compiled[] = [];
        if (!isOp(")")) {
          args.push(or());
          while (isOp(",")) {
            pos++;
            args.push(or());
          }
        }
        expect(")");
        if (t.value === "keyMatch") {
          if (args.length !== 2 || args[0]!.type !== "string" || args[1]!.type !== "string") {
            throw fail("keyMatch takes two string arguments");
          }
          const a = args[0]!.eval as (r: readonly string[], p: readonly string[]) => string;
          const b = args[1]!.eval as (r: readonly string[], p: readonly string[]) => string;
          return { type: "bool", eval: (r, p) => keyMatch(a(r, p), b(r, p)) };
        }
        if (t.value === "g" || /^g\d+$/u.test(t.value)) {
          throw fail(`role function ${t.value}() is not supported (no [role_definition])`);
        }
        throw fail(`function ${t.value}() is not supported (only keyMatch)`);
      }
      throw fail(`unknown identifier "${t.value}"`);
    }
    throw fail(`unexpected "${t.value}"`);
  };

  const comparison = (): Compiled => {
    const left = primary();
    const next = peek();
    if (next?.kind === "ident") {
      throw fail(
        `operator "${next.value}" is not supported (supported: ==, !=, &&, ||, !, parentheses, keyMatch)`,
      );
    }
    if (!isOp("==") && !isOp("!=")) return left;
    const negate = (tokens[pos] as { value: string }).value === "!=";
    pos++;
    const right = primary();
    if (left.type !== right.type) throw fail("== and != compare values of the same type");
    const l = left.eval as (r: readonly string[], p: readonly string[]) => unknown;
    const rr = right.eval as (r: readonly string[], p: readonly string[]) => unknown;
    return {
      type: "bool",
      eval: negate ? (r, p) => l(r, p) !== rr(r, p) : (r, p) => l(r, p) === rr(r, p),
    };
  };

  const not = (): Compiled => {
    if (!isOp("!")) return comparison();
    pos++;
    const inner = asBool(not(), "!");
    return { type: "bool", eval: (r, p) => !inner(r, p) };
  };

  const and = (): Compiled => {
    let left = not();
    while (isOp("&&")) {
      pos++;
      const l = asBool(left, "&&");
      const r2 = asBool(not(), "&&");
      left = { type: "bool", eval: (r, p) => l(r, p) && r2(r, p) };
    }
    return left;
  };

  function or(): Compiled {
    let left = and();
    while (isOp("||")) {
      pos++;
      const l = asBool(left, "||");
      const r2 = asBool(and(), "||");
      left = { type: "bool", eval: (r, p) => l(r, p) || r2(r, p) };
    }
    return left;
  }

  if (tokens.length === 0) throw fail("empty expression");
  const root = or();
  if (pos < tokens.length) throw fail(`unexpected "${tokens[pos]!.value}"`);
  return { match: asBool(root, "the matcher"), readsPolicy };
}

// ---- policy ----

/** Splits one CSV line: commas separate fields, a field may be double-quoted (`""` is a quote). */
function splitCsv(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === " " || line[i] === "\t") i++;
    let field = "";
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return undefined;
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      while (line[i] === " " || line[i] === "\t") i++;
      if (i < line.length && line[i] !== ",") return undefined;
    } else {
      const end = line.indexOf(",", i);
      field = (end < 0 ? line.slice(i) : line.slice(i, end)).trim();
      i = end < 0 ? line.length : end;
    }
    out.push(field);
    if (i >= line.length) return out;
    i++; // the comma
  }
}

/**
 * Parses a Casbin CSV policy for `model`. Throws `BrokerError` `invalid_argument` naming `source` and
 * the line on a malformed line, a line of another type than `p` (`g` role assignments need a
 * `[role_definition]`), a wrong number of fields, or an `eft` other than `allow` / `deny`.
 */
export function parseAuthzPolicy(model: AuthzModel, text: string, source = "authz policy"): AuthzPolicy {
  const rules: AuthzRule[] = [];
  const n = model.policyFields.length;
  const eft = model.policyFields.indexOf("eft");
  const lines = text.split(/\r?\n/u);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = splitCsv(line);
    if (fields === undefined) throw invalid(source, `line ${i + 1}: malformed quoted field`);
    const ptype = fields[0]!;
    if (ptype !== "p") {
      throw invalid(
        source,
        ptype === "g" || /^g\d+$/u.test(ptype)
          ? `line ${i + 1}: role assignment "${ptype}" is not supported (the model has no [role_definition])`
          : `line ${i + 1}: unknown policy type "${ptype}" (only "p")`,
      );
    }
    const values = fields.slice(1);
    if (values.length !== n) {
      throw invalid(
        source,
        `line ${i + 1}: ${values.length} fields, the policy_definition has ${n} (${model.policyFields.join(", ")})`,
      );
    }
    if (eft >= 0 && values[eft] !== "allow" && values[eft] !== "deny") {
      throw invalid(source, `line ${i + 1}: eft must be "allow" or "deny", got "${values[eft]}"`);
    }
    rules.push(values);
  }
  return { rules };
}

/** Bound of the per-enforcer decision cache (cleared when full). */
const MAX_CACHED_DECISIONS = 10_000;

/** An enforcer for `model` and `policy` (pure: no I/O). */
export function createEnforcer(model: AuthzModel, policy: AuthzPolicy): AuthzEnforcer {
  const eft = model.policyFields.indexOf("eft");
  const rules = policy.rules;
  const empty: readonly string[] = model.policyFields.map(() => "");
  const cache = new Map<string, boolean>();
  const decide = (r: readonly string[]): boolean => {
    if (rules.length === 0 || !model.readsPolicy) return model.match(r, empty);
    for (const rule of rules) {
      if ((eft < 0 || rule[eft] === "allow") && model.match(r, rule)) return true;
    }
    return false;
  };
  return {
    rules: rules.length,
    enforce(sub, obj, act) {
      // Length-prefixed: no choice of stream name (any bytes) can make two triples share a key.
      const key = `${sub.length}:${obj.length}:${sub}${obj}${act}`;
      let allowed = cache.get(key);
      if (allowed === undefined) {
        allowed = decide([sub, obj, act]);
        if (cache.size >= MAX_CACHED_DECISIONS) cache.clear();
        cache.set(key, allowed);
      }
      return allowed;
    },
  };
}

// ---- files and reloading ----

/** Options of {@link openAuthorizer}: `tls.client.authz.model` and `tls.client.authz.policy`. */
export interface AuthzOptions {
  /** Path of the Casbin model file. */
  readonly modelFile: string;
  /** Path of the Casbin CSV policy file (re-read by {@link Authorizer.reload}). */
  readonly policyFile: string;
  /** Reads a file as UTF-8. Default `fs.promises.readFile`. */
  readonly readFile?: (path: string) => Promise<string>;
  /** Logger; default silent. */
  readonly logger?: Logger;
}

/** The broker's authorizer: the model, the current policy, and policy reloading. */
export interface Authorizer {
  readonly modelFile: string;
  readonly policyFile: string;
  /** Number of `p` lines in the current policy. */
  readonly rules: number;
  /** True when `sub` may do `act` on `obj` under the current policy. */
  enforce(sub: string, obj: string, act: string): boolean;
  /**
   * Re-reads the policy file (SIGHUP). On success the new policy applies to every later check; on
   * failure (unreadable or invalid file) the previous policy stays in force, the failure is logged at
   * `error`, and the promise rejects with `BrokerError` (`invalid_argument` or `io`). Concurrent calls
   * run one after the other.
   */
  reload(): Promise<void>;
}

const defaultReadFile = (p: string): Promise<string> => fsReadFile(p, "utf8");

async function readText(read: (p: string) => Promise<string>, file: string, what: string): Promise<string> {
  try {
    return await read(file);
  } catch (e) {
    throw new BrokerError(BrokerErrorCode.Io, `cannot read the authz ${what} file ${file}`, { cause: e });
  }
}

/**
 * Loads the model and policy files. Throws `BrokerError` `invalid_argument` for an unsupported or
 * malformed model or policy (the message names the file, the line and the construct), `io` for an
 * unreadable file.
 */
export async function openAuthorizer(options: AuthzOptions): Promise<Authorizer> {
  const read = options.readFile ?? defaultReadFile;
  const log = (options.logger ?? noopLogger).child({ component: "authz" });
  const { modelFile, policyFile } = options;
  const model = parseAuthzModel(await readText(read, modelFile, "model"), modelFile);
  const load = async (): Promise<AuthzEnforcer> =>
    createEnforcer(model, parseAuthzPolicy(model, await readText(read, policyFile, "policy"), policyFile));
  let current = await load();
  let queue: Promise<void> = Promise.resolve();
  log.info({ modelFile, policyFile, rules: current.rules }, "authorization enabled");
  return {
    modelFile,
    policyFile,
    get rules() {
      return current.rules;
    },
    enforce: (sub, obj, act) => current.enforce(sub, obj, act),
    reload() {
      const run = queue.then(async () => {
        try {
          current = await load();
        } catch (err) {
          log.error(
            { err, policyFile, rules: current.rules },
            "authz policy reload failed: keeping the previous policy",
          );
          throw err;
        }
        log.info({ policyFile, rules: current.rules }, "authz policy reloaded");
      });
      queue = run.catch(() => {});
      return run;
    },
  };
}

// ---- the check made by the API handlers ----

/**
 * The client ID of a call: the CN of the client certificate the server verified, or `undefined`
 * (no TLS, no certificate, an unverified one, or no single non-empty CN).
 */
export function clientIdOf(call: Pick<ServerCall, "tls">): string | undefined {
  const tls = call.tls;
  if (tls === undefined || !tls.authorized) return undefined;
  const cn: unknown = tls.peerCertificate?.subject?.CN;
  return typeof cn === "string" && cn !== "" ? cn : undefined;
}

/**
 * Checks one call: `undefined` when allowed, else the error to answer (spec §5: `Unknown`, with
 * {@link CLIENT_ID_ERROR} or "The client is not authorized to call <action> on resource <resource>").
 * `clientId` may be passed when already known (PublishAsync resolves it once per call).
 */
export function authzError(
  authz: Pick<Authorizer, "enforce">,
  clientId: string | undefined,
  action: AuthzAction,
  resource: string,
): GrpcError | undefined {
  if (clientId === undefined) return new GrpcError(Status.UNKNOWN, CLIENT_ID_ERROR);
  if (authz.enforce(clientId, resource, action)) return undefined;
  return new GrpcError(
    Status.UNKNOWN,
    `The client is not authorized to call ${action} on resource ${resource}`,
  );
}
