import type { ConfLocation } from "./errors.js";

/** A position in a configuration file (1-based line and column). */
export type ConfPosition = ConfLocation;

/** A plain configuration value, as returned in {@link ConfDocument.value}. */
export type ConfValue = string | number | bigint | boolean | Date | ConfValue[] | ConfObject;

/** A plain configuration map. Keys keep their case and are never split on dots. */
export interface ConfObject {
  [key: string]: ConfValue;
}

/** A string value (quoted, unquoted or block). */
export interface ConfStringNode {
  readonly kind: "string";
  readonly value: string;
  readonly pos: ConfPosition;
}
/** An integer: a `number` when it is a safe integer, a `bigint` otherwise (always within int64). */
export interface ConfIntNode {
  readonly kind: "int";
  readonly value: number | bigint;
  readonly pos: ConfPosition;
}
/** A float (`22.2`). */
export interface ConfFloatNode {
  readonly kind: "float";
  readonly value: number;
  readonly pos: ConfPosition;
}
/** A boolean (`true`, `yes`, `on`, … in any case). */
export interface ConfBoolNode {
  readonly kind: "bool";
  readonly value: boolean;
  readonly pos: ConfPosition;
}
/** A Zulu datetime (`2016-05-04T18:53:41Z`). */
export interface ConfDatetimeNode {
  readonly kind: "datetime";
  readonly value: Date;
  readonly pos: ConfPosition;
}
/** One key of a map, with the position of the key itself. */
export interface ConfEntry {
  readonly key: string;
  readonly keyPos: ConfPosition;
  readonly node: ConfNode;
}
/** A map. Insertion order is the order in the source; a repeated key replaces the earlier one. */
export interface ConfMapNode {
  readonly kind: "map";
  readonly entries: Map<string, ConfEntry>;
  readonly pos: ConfPosition;
}
/** An array. */
export interface ConfArrayNode {
  readonly kind: "array";
  readonly items: ConfNode[];
  readonly pos: ConfPosition;
}
/** A parsed value with its source position. */
export type ConfNode =
  | ConfStringNode
  | ConfIntNode
  | ConfFloatNode
  | ConfBoolNode
  | ConfDatetimeNode
  | ConfMapNode
  | ConfArrayNode;

/** A parsed configuration: the positioned tree and the equivalent plain object. */
export interface ConfDocument {
  /** The file name used in positions (`<input>` for an unnamed string). */
  readonly file: string;
  /** The top-level map, with positions on every key and value. */
  readonly root: ConfMapNode;
  /** The same content as plain JavaScript values (built on first access, then cached). */
  readonly value: ConfObject;
}

/** Sets `obj[key] = value` safely, even for `__proto__`. */
export function setOwn(obj: ConfObject, key: string, value: ConfValue): void {
  if (key === "__proto__") {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/** Converts a positioned node to its plain value. */
export function toPlain(node: ConfNode): ConfValue {
  switch (node.kind) {
    case "map": {
      const out: ConfObject = {};
      for (const [k, e] of node.entries) setOwn(out, k, toPlain(e.node));
      return out;
    }
    case "array":
      return node.items.map(toPlain);
    case "datetime":
      return new Date(node.value.getTime());
    default:
      return node.value;
  }
}
