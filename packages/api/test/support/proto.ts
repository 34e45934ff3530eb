/**
 * Test support: protobufjs reflection of proto/, fast-check arbitraries derived from it, and
 * conversion of our message shapes to @grpc/proto-loader's object shape.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import protobuf from "protobufjs";
import * as genApi from "../../src/gen/api.js";
import * as genHealth from "../../src/gen/health.js";
import * as genInternal from "../../src/gen/internal.js";
import type { MessageCodec } from "../../src/index.js";

export const protoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..", "proto");
export const apiProtoPath = join(protoRoot, "liftbridge", "api.proto");
export const internalProtoPath = join(protoRoot, "liftbridge", "internal.proto");
export const healthProtoPath = join(protoRoot, "grpc", "health", "v1", "health.proto");

/** Parses a .proto file the way the generator does. */
export function parseProto(path: string): { root: protobuf.Root; pkg: string } {
  const parsed = protobuf.parse(readFileSync(path, "utf8"), { keepCase: true, alternateCommentMode: true });
  parsed.root.resolveAll();
  return { root: parsed.root, pkg: parsed.package ?? "" };
}

/** All message types of a package, declaration order, nested included. */
export function messageTypes(root: protobuf.Root, pkg: string): protobuf.Type[] {
  const out: protobuf.Type[] = [];
  const visit = (ns: protobuf.NamespaceBase) => {
    for (const n of ns.nestedArray) {
      if (n instanceof protobuf.Type) {
        out.push(n);
        visit(n);
      }
    }
  };
  visit(root.lookup(pkg) as protobuf.Namespace);
  return out;
}

// biome-ignore lint/suspicious/noExplicitAny: codecs of every message type
export type AnyCodec = MessageCodec<any, any>;

/** Our codecs by fully qualified protobuf name. */
export const codecs: Map<string, AnyCodec> = new Map();
for (const mod of [genApi, genHealth, genInternal]) {
  for (const v of Object.values(mod)) {
    if (typeof v === "object" && v !== null && "typeName" in v && "decode" in v) {
      const c = v as AnyCodec;
      codecs.set(c.typeName, c);
    }
  }
}

const isBigintField = (name: string): boolean => /(timestamp|timeout)$/i.test(name);

function scalarArb(
  type: string,
  fieldName: string,
  resolved: protobuf.ReflectionObject | null,
): fc.Arbitrary<unknown> {
  if (resolved instanceof protobuf.Enum) {
    const values = Object.values(resolved.values);
    return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...values) }, fc.integer({ min: -5, max: 1000 }));
  }
  switch (type) {
    case "string":
      return fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: "grapheme", maxLength: 60 }));
    case "bytes":
      return fc.uint8Array({ maxLength: 40 });
    case "bool":
      return fc.boolean();
    case "int32":
      return fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -2, max: 300 }));
    case "uint32":
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case "int64":
      return isBigintField(fieldName)
        ? fc.oneof(
            fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
            fc.bigInt({ min: 0n, max: 2n ** 61n }),
          )
        : fc.oneof(
            fc.maxSafeInteger(),
            fc.integer({ min: -1, max: 1000 }),
            fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, -1, 2 ** 31, 2 ** 32),
          );
    case "uint64":
      return isBigintField(fieldName)
        ? fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })
        : fc.oneof(fc.maxSafeNat(), fc.constantFrom(Number.MAX_SAFE_INTEGER, 2 ** 32));
  }
  throw new Error(`no arbitrary for ${type}`);
}

const arbCache = new Map<string, fc.Arbitrary<Record<string, unknown>>>();

/** Arbitrary encoder input (`…Init` shape) for a message type; fields may be absent. */
export function messageArb(t: protobuf.Type, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const cached = arbCache.get(t.fullName);
  if (cached && depth === 0) return cached;
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of t.fieldsArray) {
    const mf = f as unknown as protobuf.MapField;
    if (f.map) {
      const key = scalarArb(mf.keyType, f.name, null);
      const value =
        f.resolvedType instanceof protobuf.Type
          ? messageArb(f.resolvedType, depth + 1)
          : scalarArb(f.type, f.name, f.resolvedType);
      shape[f.name] = fc
        .array(fc.tuple(key, value), { maxLength: depth > 1 ? 1 : 3 })
        .map((entries) => new Map(entries));
      continue;
    }
    const elem =
      f.resolvedType instanceof protobuf.Type
        ? messageArb(f.resolvedType, depth + 1)
        : scalarArb(f.type, f.name, f.resolvedType);
    if (f.repeated) shape[f.name] = fc.array(elem, { maxLength: depth > 1 ? 1 : 4 });
    else if (f.resolvedType instanceof protobuf.Type || f.options?.proto3_optional) {
      shape[f.name] = fc.option(elem, { nil: undefined });
    } else shape[f.name] = elem;
  }
  const arb = fc.record(shape, { requiredKeys: [] });
  if (depth === 0) arbCache.set(t.fullName, arb);
  return arb;
}

/**
 * Converts one of our complete messages to the object @grpc/proto-loader produces with
 * `{ keepCase, longs: String, enums: Number, bytes: Buffer, defaults: true, arrays: true,
 * objects: true }`. With `stripDefaults`, proto3 default scalars are left out (so protobufjs
 * does not write them) for byte-exact comparison.
 */
export function toLoaderShape(
  t: protobuf.Type,
  m: Record<string, unknown>,
  stripDefaults = false,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const conv = (type: string, resolved: protobuf.ReflectionObject | null, v: unknown): unknown => {
    if (resolved instanceof protobuf.Type)
      return toLoaderShape(resolved, v as Record<string, unknown>, stripDefaults);
    if (type === "bytes") return Buffer.from(v as Uint8Array);
    if (type === "int64" || type === "uint64") return String(v);
    return v;
  };
  const isDefault = (type: string, resolved: protobuf.ReflectionObject | null, v: unknown): boolean => {
    if (resolved instanceof protobuf.Type) return false;
    if (type === "bytes") return (v as Uint8Array).byteLength === 0;
    if (type === "string") return v === "";
    if (type === "bool") return v === false;
    return v === 0 || v === 0n;
  };
  for (const f of t.fieldsArray) {
    const v = m[f.name];
    if (f.map) {
      const obj: Record<string, unknown> = {};
      for (const [k, x] of v as Map<unknown, unknown>) obj[String(k)] = conv(f.type, f.resolvedType, x);
      if (!stripDefaults || (v as Map<unknown, unknown>).size > 0) out[f.name] = obj;
    } else if (f.repeated) {
      const arr = (v as unknown[]).map((x) => conv(f.type, f.resolvedType, x));
      if (!stripDefaults || arr.length > 0) out[f.name] = arr;
    } else if (v === undefined) {
      if (!stripDefaults) out[f.name] = f.options?.proto3_optional ? undefined : null;
    } else if (!(stripDefaults && !f.options?.proto3_optional && isDefault(f.type, f.resolvedType, v))) {
      out[f.name] = conv(f.type, f.resolvedType, v);
    }
  }
  return out;
}
