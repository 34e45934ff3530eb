import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { ConfError, ConfErrorCode } from "./errors.js";
import {
  ConfLineTable,
  type ConfScalarKind,
  type ConfScalarValue,
  type ConfSink,
  DEFAULT_MAX_DEPTH,
  lexConf,
} from "./lexer.js";
import {
  type ConfDocument,
  type ConfEntry,
  type ConfMapNode,
  type ConfNode,
  type ConfObject,
  type ConfPosition,
  toPlain,
} from "./types.js";

/** The synchronous file access the parser needs (only for `include`). */
export interface ConfFileSystem {
  /** Returns the UTF-8 content of `path`; throws if it can not be read. */
  readFile(path: string): string;
}

/** The Node implementation of {@link ConfFileSystem}. */
export const nodeConfFs: ConfFileSystem = { readFile: (p) => readFileSync(p, "utf8") };

/** Options of {@link parseConf} and {@link parseConfFile}. */
export interface ParseConfOptions {
  /** Name used in positions and messages, and the base for relative includes. Default `<input>`. */
  readonly file?: string;
  /** Directory for relative includes when `file` is not a path. Default: the working directory. */
  readonly baseDir?: string;
  /** Environment for `$VAR` fallback. Default `process.env`. Pass `{}` for a pure parse. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** File access for `include`. Default {@link nodeConfFs}. */
  readonly fs?: ConfFileSystem;
  /** Maximum nesting of maps and arrays. Default 200. */
  readonly maxDepth?: number;
  /** Maximum nesting of includes. Default {@link MAX_INCLUDE_DEPTH}. */
  readonly maxIncludeDepth?: number;
}

/** Default maximum depth of nested includes. */
export const MAX_INCLUDE_DEPTH = 16;
/** Maximum depth of environment variables referring to other environment variables. */
export const MAX_ENV_DEPTH = 32;
/**
 * Maximum number of environment expansions and included files in one parse. Bounds the work of
 * inputs such as `A=[$B,$B]`, `B=[$C,$C]`, … that would otherwise grow exponentially.
 */
export const MAX_EXPANSIONS = 10_000;

interface Shared {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fs: ConfFileSystem;
  readonly maxDepth: number;
  readonly maxIncludeDepth: number;
  readonly baseDir: string;
  /** Resolved paths of the files being included (outermost first). */
  readonly includeStack: string[];
  /** Environment variables being expanded (outermost first). */
  readonly envStack: string[];
  /** Environment expansions and includes done so far (bounded by MAX_EXPANSIONS). */
  expansions: number;
}

/**
 * Parses NATS configuration text into a positioned tree and a plain object.
 *
 * Variables (`$NAME`) resolve against keys defined earlier in the enclosing maps, then against the
 * environment (whose value is parsed as a config value). `include` reads files through
 * `options.fs`, relative to the including file. Throws {@link ConfError}: `parse`, `invalid`,
 * `out_of_range`, `too_deep`, `variable_not_found`, `variable_cycle` or `include`; never anything
 * else.
 */
export function parseConf(text: string, options: ParseConfOptions = {}): ConfDocument {
  const file = options.file ?? "<input>";
  const shared: Shared = {
    env: options.env ?? process.env,
    fs: options.fs ?? nodeConfFs,
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    maxIncludeDepth: options.maxIncludeDepth ?? MAX_INCLUDE_DEPTH,
    baseDir: options.baseDir ?? (options.file !== undefined ? dirname(options.file) : process.cwd()),
    includeStack: options.file !== undefined ? [resolve(options.file)] : [],
    envStack: [],
    expansions: 0,
  };
  const root = parseWith(text, file, shared.baseDir, shared);
  return makeDocument(file, root);
}

/**
 * Reads `path` through `options.fs` and parses it with {@link parseConf}; `path` names positions and
 * anchors relative includes. A read failure is a `ConfError` with code `include` and the I/O error
 * as `cause`.
 */
export function parseConfFile(path: string, options: Omit<ParseConfOptions, "file"> = {}): ConfDocument {
  const fs = options.fs ?? nodeConfFs;
  let text: string;
  try {
    text = fs.readFile(path);
  } catch (cause) {
    throw new ConfError(ConfErrorCode.Include, `can not read config file '${path}'`, { cause });
  }
  return parseConf(text, { ...options, file: path, baseDir: dirname(path) });
}

/** A document whose plain `value` is built on first access (most callers only need one view). */
function makeDocument(file: string, root: ConfMapNode): ConfDocument {
  let value: ConfObject | undefined;
  return {
    file,
    root,
    get value(): ConfObject {
      value ??= toPlain(root) as ConfObject;
      return value;
    },
  };
}

function parseWith(text: string, file: string, baseDir: string, shared: Shared): ConfMapNode {
  const builder = new TreeBuilder(text, file, baseDir, shared);
  lexConf(text, builder, { file, maxDepth: shared.maxDepth });
  return builder.root;
}

/** A scalar node whose position is computed on demand (most positions are never read). */
class LazyScalar {
  readonly kind: Exclude<ConfScalarKind, "variable">;
  readonly value: ConfScalarValue;
  readonly #at: number;
  readonly #lines: ConfLineTable;
  constructor(
    kind: Exclude<ConfScalarKind, "variable">,
    value: ConfScalarValue,
    at: number,
    lines: ConfLineTable,
  ) {
    this.kind = kind;
    this.value = value;
    this.#at = at;
    this.#lines = lines;
  }
  get pos(): ConfPosition {
    return this.#lines.position(this.#at);
  }
}

class LazyMap {
  readonly kind = "map" as const;
  readonly entries: Map<string, ConfEntry>;
  readonly #at: number;
  readonly #lines: ConfLineTable;
  constructor(at: number, lines: ConfLineTable, entries: Map<string, ConfEntry> = new Map()) {
    this.entries = entries;
    this.#at = at;
    this.#lines = lines;
  }
  get pos(): ConfPosition {
    return this.#lines.position(this.#at);
  }
}

class LazyArray {
  readonly kind = "array" as const;
  readonly items: ConfNode[];
  readonly #at: number;
  readonly #lines: ConfLineTable;
  constructor(at: number, lines: ConfLineTable, items: ConfNode[] = []) {
    this.items = items;
    this.#at = at;
    this.#lines = lines;
  }
  get pos(): ConfPosition {
    return this.#lines.position(this.#at);
  }
}

class LazyEntry {
  readonly key: string;
  readonly node: ConfNode;
  readonly #at: number;
  readonly #lines: ConfLineTable;
  constructor(key: string, node: ConfNode, at: number, lines: ConfLineTable) {
    this.key = key;
    this.node = node;
    this.#at = at;
    this.#lines = lines;
  }
  get keyPos(): ConfPosition {
    return this.#lines.position(this.#at);
  }
}

/** A copy of `node` positioned at `at` (a variable reference); children keep their positions. */
function relocate(node: ConfNode, at: number, lines: ConfLineTable): ConfNode {
  switch (node.kind) {
    case "map":
      return new LazyMap(at, lines, node.entries);
    case "array":
      return new LazyArray(at, lines, node.items);
    default:
      return new LazyScalar(node.kind, node.value, at, lines) as ConfNode;
  }
}

type Frame = {
  readonly node: LazyMap | LazyArray;
  /** Key waiting for its value (maps only). */
  keyName: string | undefined;
  keyAt: number;
  /** The parent's pending key, restored when this container closes. */
  readonly parentKeyName: string | undefined;
  readonly parentKeyAt: number;
};

/** A {@link ConfSink} that builds the positioned tree and resolves variables and includes. */
class TreeBuilder implements ConfSink {
  readonly root: ConfMapNode;
  private readonly stack: Frame[];
  private readonly lines: ConfLineTable;
  private readonly baseDir: string;
  private readonly shared: Shared;

  constructor(text: string, file: string, baseDir: string, shared: Shared) {
    this.baseDir = baseDir;
    this.shared = shared;
    this.lines = new ConfLineTable(text, file);
    const root = new LazyMap(0, this.lines);
    this.root = root;
    this.stack = [{ node: root, keyName: undefined, keyAt: 0, parentKeyName: undefined, parentKeyAt: 0 }];
  }

  private attach(node: ConfNode): void {
    const f = this.stack[this.stack.length - 1]!;
    if (f.node.kind === "array") {
      f.node.items.push(node);
      return;
    }
    const name = f.keyName;
    if (name === undefined) return; // unreachable: the lexer always sends a key first
    f.keyName = undefined;
    const entries = f.node.entries;
    // A repeated key replaces the earlier one and moves to the end (source order of the winner).
    if (entries.has(name)) entries.delete(name);
    entries.set(name, new LazyEntry(name, node, f.keyAt, this.lines));
  }

  key(name: string, at: number): void {
    const f = this.stack[this.stack.length - 1]!;
    f.keyName = name;
    f.keyAt = at;
  }

  scalar(kind: ConfScalarKind, value: ConfScalarValue, at: number): void {
    if (kind === "variable") {
      this.attach(this.lookup(value as string, at));
      return;
    }
    this.attach(new LazyScalar(kind, value, at, this.lines) as ConfNode);
  }

  mapStart(at: number): void {
    this.push(new LazyMap(at, this.lines));
  }

  mapEnd(): void {
    this.closeFrame();
  }

  arrayStart(at: number): void {
    this.push(new LazyArray(at, this.lines));
  }

  arrayEnd(): void {
    this.closeFrame();
  }

  private push(node: LazyMap | LazyArray): void {
    const parent = this.stack[this.stack.length - 1]!;
    this.stack.push({
      node,
      keyName: undefined,
      keyAt: 0,
      parentKeyName: parent.keyName,
      parentKeyAt: parent.keyAt,
    });
  }

  private closeFrame(): void {
    const f = this.stack.pop()!;
    const parent = this.stack[this.stack.length - 1]!;
    // The key is attached when the container closes, so `m { x = $m }` does not see a half-built m.
    parent.keyName = f.parentKeyName;
    parent.keyAt = f.parentKeyAt;
    this.attach(f.node);
  }

  include(path: string, at: number): void {
    const pos = this.lines.position(at);
    const sh = this.shared;
    const full = isAbsolute(path) ? path : resolve(this.baseDir, path);
    if (sh.includeStack.length > sh.maxIncludeDepth) {
      throw new ConfError(
        ConfErrorCode.TooDeep,
        `${where(pos)}: includes nested deeper than ${sh.maxIncludeDepth}`,
        {
          location: pos,
        },
      );
    }
    if (++sh.expansions > MAX_EXPANSIONS) {
      throw new ConfError(ConfErrorCode.TooDeep, `${where(pos)}: more than ${MAX_EXPANSIONS} includes`, {
        location: pos,
      });
    }
    if (sh.includeStack.includes(full)) {
      throw new ConfError(ConfErrorCode.Include, `${where(pos)}: include cycle through '${path}'`, {
        location: pos,
      });
    }
    let text: string;
    try {
      text = sh.fs.readFile(full);
    } catch (cause) {
      throw new ConfError(
        ConfErrorCode.Include,
        `${where(pos)}: error parsing include file '${path}', can not read it`,
        {
          cause,
          location: pos,
        },
      );
    }
    sh.includeStack.push(full);
    let included: ConfMapNode;
    try {
      // Parsed on its own: it sees the environment but not the includer's variables.
      included = parseWith(text, path, dirname(full), sh);
    } finally {
      sh.includeStack.pop();
    }
    const f = this.stack[this.stack.length - 1]!;
    if (f.node.kind !== "map") return;
    for (const e of included.entries.values()) {
      f.node.entries.delete(e.key);
      f.node.entries.set(e.key, e);
    }
  }

  private lookup(name: string, at: number): ConfNode {
    for (let k = this.stack.length - 1; k >= 0; k--) {
      const f = this.stack[k]!;
      if (f.node.kind !== "map") continue;
      const e = f.node.entries.get(name);
      if (e !== undefined) return relocate(e.node, at, this.lines);
    }
    const pos = this.lines.position(at);
    const sh = this.shared;
    const envValue = Object.hasOwn(sh.env, name) ? sh.env[name] : undefined;
    if (envValue === undefined) {
      throw new ConfError(
        ConfErrorCode.VariableNotFound,
        `${where(pos)}: variable reference for '${name}' on line ${pos.line} can not be found`,
        { location: pos },
      );
    }
    if (sh.envStack.includes(name)) {
      throw new ConfError(
        ConfErrorCode.VariableCycle,
        `${where(pos)}: variable reference cycle for '${name}' (${[...sh.envStack, name].join(" -> ")})`,
        { location: pos },
      );
    }
    if (sh.envStack.length >= MAX_ENV_DEPTH) {
      throw new ConfError(ConfErrorCode.TooDeep, `${where(pos)}: environment variables nested too deep`, {
        location: pos,
      });
    }
    if (++sh.expansions > MAX_EXPANSIONS) {
      throw new ConfError(
        ConfErrorCode.TooDeep,
        `${where(pos)}: more than ${MAX_EXPANSIONS} variable expansions`,
        {
          location: pos,
        },
      );
    }
    sh.envStack.push(name);
    try {
      // The environment value is parsed as if it were `pk=<value>`.
      const m = parseWith(`pk=${envValue}`, `env ${name}`, this.baseDir, sh);
      const e = m.entries.get("pk");
      if (e === undefined || m.entries.size !== 1) {
        throw new ConfError(
          ConfErrorCode.Parse,
          `${where(pos)}: environment variable '${name}' is not a single value`,
          {
            location: pos,
          },
        );
      }
      return relocate(e.node, at, this.lines);
    } finally {
      sh.envStack.pop();
    }
  }
}

function where(p: ConfPosition): string {
  return `${p.file}:${p.line}:${p.column}`;
}
