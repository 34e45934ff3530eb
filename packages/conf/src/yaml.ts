import { isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { ConfError, ConfErrorCode } from "./errors.js";
import { excerptAt } from "./lexer.js";
import type { ConfMapNode, ConfNode, ConfPosition } from "./types.js";

/** Upper bound on nodes produced from one YAML file (guards against alias expansion bombs). */
const MAX_YAML_NODES = 1_000_000;

/**
 * Parses a YAML configuration (the format current upstream Liftbridge reads) into the same
 * positioned tree as {@link parseConf}, so the schema treats both formats alike. `null` values
 * (`key:` with nothing after it) are dropped, as if the key were absent. Aliases are expanded.
 * Throws {@link ConfError} `yaml` (with file, line and column) on malformed input, duplicate keys,
 * a non-map document, or non-scalar keys; never anything else.
 */
export function parseYamlConf(text: string, options: { readonly file?: string } = {}): ConfMapNode {
  const file = options.file ?? "<input>";
  const lc = new LineCounter();
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, merge: true });
  } catch (cause) {
    throw new ConfError(ConfErrorCode.Yaml, `${file}: YAML can not be parsed`, { cause });
  }
  const posAt = (offset: number | undefined): ConfPosition => {
    const p = lc.linePos(offset ?? 0);
    return { file, line: p.line, column: p.col };
  };
  const err = doc.errors[0];
  if (err !== undefined) {
    const p = posAt(err.pos[0]);
    throw new ConfError(ConfErrorCode.Yaml, `${file}:${p.line}:${p.column}: ${err.message.split("\n")[0]}`, {
      location: p,
      cause: err,
      excerpt: excerptAt(text, Math.min(err.pos[0], text.length), p.column),
    });
  }
  let count = 0;
  const fail = (msg: string, offset: number | undefined): never => {
    const p = posAt(offset);
    throw new ConfError(ConfErrorCode.Yaml, `${file}:${p.line}:${p.column}: ${msg}`, {
      location: p,
      excerpt: excerptAt(text, Math.min(offset ?? 0, text.length), p.column),
    });
  };
  const convert = (node: unknown, depth: number): ConfNode | undefined => {
    if (++count > MAX_YAML_NODES) fail("too many nodes (alias expansion?)", undefined);
    if (depth > 200) fail("nesting deeper than 200 levels", undefined);
    let n = node as Node | null;
    let guard = 0;
    while (isAlias(n)) {
      if (++guard > 100) fail("alias chain too long", n.range?.[0]);
      n = n.resolve(doc) ?? null;
    }
    if (n === null || n === undefined) return undefined;
    const pos = posAt(n.range?.[0]);
    if (isMap(n)) {
      const entries: ConfMapNode["entries"] = new Map();
      const merged: ConfMapNode[] = [];
      for (const pair of n.items) {
        const k = pair.key as Node | null;
        if (isScalar(k) && isMergeKey(k)) {
          // YAML merge keys (`<<: *base` or `<<: [*a, *b]`): explicit keys win, earlier sources first.
          const v = convert(pair.value, depth + 1);
          const sources = v === undefined ? [] : v.kind === "array" ? v.items : [v];
          for (const src of sources) {
            if (src.kind !== "map") fail("a merge key (<<) needs a map or a list of maps", k.range?.[0]);
            merged.push(src as ConfMapNode);
          }
          continue;
        }
        if (
          !isScalar(k) ||
          (typeof k.value !== "string" && typeof k.value !== "number" && typeof k.value !== "boolean")
        ) {
          fail("keys must be scalars", (k as Node | null)?.range?.[0]);
        }
        const key = String((k as { value: unknown }).value);
        const child = convert(pair.value, depth + 1);
        if (child !== undefined) entries.set(key, { key, keyPos: posAt(k?.range?.[0]), node: child });
      }
      for (const m of merged) {
        for (const [key, e] of m.entries) if (!entries.has(key)) entries.set(key, e);
      }
      return { kind: "map", entries, pos };
    }
    if (isSeq(n)) {
      const items: ConfNode[] = [];
      for (const it of n.items) {
        const c = convert(it, depth + 1);
        if (c !== undefined) items.push(c);
      }
      return { kind: "array", items, pos };
    }
    if (isScalar(n)) {
      const v = n.value;
      if (v === null || v === undefined) return undefined;
      if (typeof v === "string") return { kind: "string", value: v, pos };
      if (typeof v === "boolean") return { kind: "bool", value: v, pos };
      if (typeof v === "bigint") return { kind: "int", value: v, pos };
      if (typeof v === "number") {
        return Number.isSafeInteger(v) && !/[.eE]/.test(n.source ?? "")
          ? { kind: "int", value: v, pos }
          : { kind: "float", value: v, pos };
      }
      if (v instanceof Date) return { kind: "datetime", value: v, pos };
      return { kind: "string", value: String(v), pos };
    }
    return fail("unsupported YAML node", undefined);
  };
  const root = convert(doc.contents, 0);
  if (root === undefined) return { kind: "map", entries: new Map(), pos: { file, line: 1, column: 1 } };
  if (root.kind !== "map") fail("the document must be a map of keys", undefined);
  return root as ConfMapNode;
}

/** True for the `<<` merge key, which the yaml library (with `merge: true`) gives as a symbol. */
function isMergeKey(k: { value: unknown; source?: string }): boolean {
  return typeof k.value === "symbol" && k.source === "<<";
}
