#!/usr/bin/env node
// Generates src/gen/{api,internal,health}.ts from proto/liftbridge/*.proto and
// proto/grpc/health/v1/health.proto.
//
// Usage: node scripts/generate.mjs          write the files
//        node scripts/generate.mjs --check  exit 1 if the checked-in files differ (drift check)
//
// The .proto files are parsed with protobufjs reflection (a dev dependency only); the emitted
// TypeScript depends on nothing but src/wire/*. For each message M it emits:
//   interface M       the decoded shape: every field present, proto3 defaults filled in
//   interface MInit   the encoder input: every field optional
//   const M           a MessageCodec (create / encode / encodeWithPrefix / decode)
// and for each enum a const object plus a union type. Encoding is two-pass: a size pass that
// checks values and caches nested sizes, then one write into a buffer of exactly that size.
// Fields are written in field-number order; proto3 defaults are omitted; map entries always
// carry key and value; repeated scalars are packed (decoders accept packed and unpacked).
//
// 64-bit integers (int64Kind below, runtime in src/wire/int64.ts): fields named *Timestamp/timestamp or
// *Timeout are nanoseconds and become `bigint`; every other int64/uint64 is a `number` checked to
// be a safe integer on encode and decode.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = join(here, "..");
const protoDir = join(pkgDir, "..", "..", "proto", "liftbridge");

/** Which files to generate. */
export const targets = [
  {
    proto: join(protoDir, "api.proto"),
    out: join(pkgDir, "src", "gen", "api.ts"),
    source: "proto/liftbridge/api.proto",
  },
  {
    proto: join(protoDir, "internal.proto"),
    out: join(pkgDir, "src", "gen", "internal.ts"),
    source: "proto/liftbridge/internal.proto",
  },
  {
    proto: join(protoDir, "..", "grpc", "health", "v1", "health.proto"),
    out: join(pkgDir, "src", "gen", "health.ts"),
    source: "proto/grpc/health/v1/health.proto",
  },
];

/** `bigint` for nanosecond fields, `number` for everything else. */
export function int64Kind(fieldName) {
  return /(timestamp|timeout)$/i.test(fieldName) ? "bigint" : "number";
}

const SCALARS = new Set(["string", "bytes", "bool", "int32", "uint32", "int64", "uint64"]);

function tsName(reflected, pkg) {
  const full = reflected.fullName.replace(/^\./, "");
  const rel = full.startsWith(`${pkg}.`) ? full.slice(pkg.length + 1) : full;
  return rel.split(".").join("");
}

function tagBytes(id, wireType) {
  let v = ((id << 3) | wireType) >>> 0;
  const out = [];
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

const hex = (b) => `0x${b.toString(16).padStart(2, "0")}`;
const writeTag = (id, wt) =>
  tagBytes(id, wt)
    .map((b) => `buf[pos++] = ${hex(b)};`)
    .join(" ");
const tagLen = (id, wt) => tagBytes(id, wt).length;
const tagValue = (id, wt) => ((id << 3) | wt) >>> 0;

function doc(lines, indent = "") {
  const clean = lines
    .filter((l) => l !== undefined && l !== null)
    .flatMap((l) => String(l).split("\n"))
    .map((l) => l.replace(/\*\//g, "*\\/"));
  if (clean.length === 1) return `${indent}/** ${clean[0]} */\n`;
  return `${indent}/**\n${clean.map((l) => `${indent} * ${l}`.trimEnd()).join("\n")}\n${indent} */\n`;
}

/** Scalar kind of a field type: string | bytes | bool | int32 | uint32 | int64n | uint64n | int64b | uint64b | enum */
function scalarKind(type, resolved, fieldName) {
  if (resolved instanceof protobuf.Enum) return "enum";
  if (!SCALARS.has(type)) throw new Error(`unsupported protobuf type ${type} (field ${fieldName})`);
  if (type === "int64" || type === "uint64") return `${type}${int64Kind(fieldName) === "bigint" ? "b" : "n"}`;
  return type;
}

function generate(target) {
  const parsed = protobuf.parse(readFileSync(target.proto, "utf8"), {
    keepCase: true,
    alternateCommentMode: true,
  });
  const root = parsed.root;
  root.resolveAll();
  const pkg = parsed.package;
  const ns = root.lookup(pkg);
  const used = { reader: new Set(), writer: new Set(), int64: new Set(), codec: new Set() };
  const use = (mod, name) => {
    used[mod].add(name);
    return name;
  };

  const enums = [];
  const messages = [];
  const visit = (node) => {
    for (const n of node.nestedArray) {
      if (n instanceof protobuf.Type) {
        messages.push(n);
        visit(n);
      } else if (n instanceof protobuf.Enum) enums.push(n);
    }
  };
  // Declaration order: a message is followed by its nested types.
  for (const n of ns.nestedArray) {
    if (n instanceof protobuf.Type) {
      messages.push(n);
      visit(n);
    } else if (n instanceof protobuf.Enum) enums.push(n);
  }

  const name = (t) => tsName(t, pkg);

  // ---------- types ----------
  const scalarTs = (kind, resolved) => {
    switch (kind) {
      case "string":
        return "string";
      case "bytes":
        return "Uint8Array";
      case "bool":
        return "boolean";
      case "int32":
      case "uint32":
      case "int64n":
      case "uint64n":
        return "number";
      case "int64b":
      case "uint64b":
        return "bigint";
      case "enum":
        return name(resolved);
    }
    throw new Error(kind);
  };
  const scalarDefault = (kind) => {
    switch (kind) {
      case "string":
        return '""';
      case "bytes":
        return use("reader", "EMPTY_BYTES");
      case "bool":
        return "false";
      case "int64b":
      case "uint64b":
        return "0n";
      default:
        return "0";
    }
  };
  const isExplicit = (f) => f.options?.proto3_optional === true;

  function fieldInfo(f) {
    if (f.map) {
      const keyKind = scalarKind(f.keyType, null, f.name);
      const valueIsMessage = f.resolvedType instanceof protobuf.Type;
      const valueKind = valueIsMessage ? "message" : scalarKind(f.type, f.resolvedType, f.name);
      return { f, shape: "map", keyKind, valueKind, valueType: f.resolvedType };
    }
    const isMessage = f.resolvedType instanceof protobuf.Type;
    const kind = isMessage ? "message" : scalarKind(f.type, f.resolvedType, f.name);
    return {
      f,
      shape: f.repeated ? "repeated" : isExplicit(f) ? "optional" : "singular",
      kind,
      type: f.resolvedType,
    };
  }

  const fullTs = (fi) => {
    if (fi.shape === "map") {
      const v = fi.valueKind === "message" ? name(fi.valueType) : scalarTs(fi.valueKind, fi.valueType);
      return `Map<${scalarTs(fi.keyKind)}, ${v}>`;
    }
    const base = fi.kind === "message" ? name(fi.type) : scalarTs(fi.kind, fi.type);
    if (fi.shape === "repeated") return `${base}[]`;
    if (fi.shape === "optional" || fi.kind === "message") return `${base} | undefined`;
    return base;
  };
  const initTs = (fi) => {
    if (fi.shape === "map") {
      const v =
        fi.valueKind === "message" ? `${name(fi.valueType)}Init` : scalarTs(fi.valueKind, fi.valueType);
      const k = scalarTs(fi.keyKind);
      return `ReadonlyMap<${k}, ${v}> | Readonly<Record<${k}, ${v}>>`;
    }
    const base = fi.kind === "message" ? `${name(fi.type)}Init` : scalarTs(fi.kind, fi.type);
    return fi.shape === "repeated" ? `readonly ${base}[]` : base;
  };

  // ---------- size / write code for one scalar value ----------
  const label = (t, f) => `${name(t)}.${f.name}`;
  const sizeExpr = (kind, expr, lbl) => {
    switch (kind) {
      case "string":
        return `${use("writer", "stringSize")}(${expr})`;
      case "bytes":
        return `${use("writer", "bytesSize")}(${expr})`;
      case "bool":
        return "1";
      case "int32":
      case "enum":
        return `${use("writer", "int32Size")}(${use("writer", "checkInt32")}(${expr}, "${lbl}"))`;
      case "uint32":
        return `${use("writer", "varint32Size")}(${use("writer", "checkUint32")}(${expr}, "${lbl}"))`;
      case "int64n":
        return `${use("int64", "int64Size")}(${use("int64", "checkInt64")}(${expr}, "${lbl}"))`;
      case "uint64n":
        return `${use("int64", "int64Size")}(${use("int64", "checkUint64")}(${expr}, "${lbl}"))`;
      // Two size-cache slots hold the value's 32-bit halves for the write pass.
      case "int64b":
        return `${use("int64", "bigSize")}(${use("int64", "checkInt64Big")}(${expr}, "${lbl}"), ${use("writer", "sizeCache")}.sizes, (${use("writer", "sizeCache")}.next += 2) - 2)`;
      case "uint64b":
        return `${use("int64", "bigSize")}(${use("int64", "checkUint64Big")}(${expr}, "${lbl}"), ${use("writer", "sizeCache")}.sizes, (${use("writer", "sizeCache")}.next += 2) - 2)`;
    }
    throw new Error(kind);
  };
  const writeStmt = (kind, expr) => {
    switch (kind) {
      case "string":
        return `pos = ${use("writer", "writeString")}(buf, pos, ${expr});`;
      case "bytes":
        return `pos = ${use("writer", "writeBytes")}(buf, pos, ${expr});`;
      case "bool":
        return `buf[pos++] = ${expr} ? 1 : 0;`;
      case "int32":
      case "enum":
        return `pos = ${use("writer", "writeInt32")}(buf, pos, ${expr});`;
      case "uint32":
        return `pos = ${use("writer", "writeVarint32")}(buf, pos, ${expr});`;
      case "int64n":
      case "uint64n":
        return `pos = ${use("int64", "writeInt64")}(buf, pos, ${expr});`;
      case "int64b":
      case "uint64b":
        return `pos = ${use("int64", "writeBigHalves")}(buf, pos, ${use("writer", "sizeCache")}.sizes, (${use("writer", "sizeCache")}.next += 2) - 2);`;
    }
    throw new Error(kind);
  };
  const notDefault = (kind, v) => {
    switch (kind) {
      case "string":
        return `${v} !== ""`;
      case "bytes":
        return `${v}.byteLength !== 0`;
      case "bool":
        return `${v} === true`;
      case "int64b":
      case "uint64b":
        return `${v} !== 0n`;
      default:
        return `${v} !== 0`;
    }
  };
  const wireType = (kind) => (kind === "string" || kind === "bytes" || kind === "message" ? 2 : 0);
  const readExpr = (kind, resolved) => {
    switch (kind) {
      case "string":
        return "r.string()";
      case "bytes":
        return "r.bytes()";
      case "bool":
        return "r.bool()";
      case "int32":
        return "r.int32()";
      case "enum":
        return `r.int32() as ${name(resolved)}`;
      case "uint32":
        return "r.uint32()";
      case "int64n":
        return `${use("int64", "readInt64")}(r)`;
      case "uint64n":
        return `${use("int64", "readUint64")}(r)`;
      case "int64b":
        return `${use("int64", "readInt64Big")}(r)`;
      case "uint64b":
        return `${use("int64", "readUint64Big")}(r)`;
    }
    throw new Error(kind);
  };

  let out = "";
  out += `// Code generated by scripts/generate.mjs from ${target.source}. DO NOT EDIT.\n`;
  out += "// Regenerate with `pnpm --filter @liftbridge/api generate`; a test fails on drift.\n";
  const body = [];

  // ---------- enums ----------
  for (const e of enums) {
    const n = name(e);
    const entries = Object.entries(e.values);
    let s = doc([
      e.comment ?? `Enum ${e.name}.`,
      "",
      `Protobuf enum \`${e.fullName.slice(1)}\`. Decoders pass unknown numeric values through unchanged (proto3 open enums).`,
    ]);
    s += `export const ${n} = {\n${entries.map(([k, v]) => `  ${k}: ${v},`).join("\n")}\n} as const;\n`;
    s += doc([`A value of {@link ${n}}.`]);
    s += `export type ${n} = (typeof ${n})[keyof typeof ${n}];\n`;
    body.push(s);
  }

  // ---------- messages ----------
  for (const t of messages) {
    const n = name(t);
    const fis = t.fieldsArray.map(fieldInfo);
    const byId = [...fis].sort((a, b) => a.f.id - b.f.id);
    const fieldDoc = (fi) => {
      const f = fi.f;
      const extra = [];
      if (fi.kind === "int64n" || fi.kind === "uint64n")
        extra.push("64-bit on the wire; a safe integer here.");
      if (fi.kind === "int64b" || fi.kind === "uint64b")
        extra.push("64-bit nanoseconds on the wire; a bigint here.");
      return doc(
        [
          `${f.comment ? `${f.comment} ` : ""}(field ${f.id}, \`${f.map ? `map<${f.keyType}, ${f.type}>` : `${f.repeated ? "repeated " : ""}${isExplicit(f) ? "optional " : ""}${f.type}`}\`)`,
          ...extra,
        ],
        "  ",
      );
    };

    let s = doc([
      t.comment ?? `Message ${t.name}.`,
      "",
      `Protobuf message \`${t.fullName.slice(1)}\` as decoded: every field is present, proto3 defaults filled in.`,
    ]);
    s += `export interface ${n} {\n${fis.map((fi) => `${fieldDoc(fi)}  ${fi.f.name}: ${fullTs(fi)};`).join("\n")}\n}\n`;
    s += doc([`Encoder input for {@link ${n}}: every field is optional and defaults to its proto3 default.`]);
    s += `export interface ${n}Init {\n${fis.map((fi) => `${fieldDoc(fi)}  ${fi.f.name}?: ${initTs(fi)} | undefined;`).join("\n")}\n}\n`;

    // size
    let sz = `function size${n}(m: ${n}Init): number {\n  let n = 0;\n`;
    let wr = `function write${n}(m: ${n}Init, buf: Buffer, pos: number): number {\n`;
    let dec = `function decode${n}(r: Reader): ${n} {\n  const end = r.end;\n`;
    let cr = `function create${n}(i?: ${n}Init): ${n} {\n  return {\n`;
    const sc = use("writer", "sizeCache");
    const vs = use("writer", "varint32Size");
    const wv = use("writer", "writeVarint32");
    const cases = [];
    for (const fi of byId) {
      const f = fi.f;
      const v = `v${f.id}`;
      const lbl = label(t, f);
      if (fi.shape === "map") {
        const keyWt = wireType(fi.keyKind);
        const valWt = wireType(fi.valueKind);
        const entries =
          fi.keyKind === "string" ? use("codec", "mapEntries") : use("codec", "numericMapEntries");
        const vSize =
          fi.valueKind === "message"
            ? `const k2 = ${sc}.next++;\n      const s2 = size${name(fi.valueType)}(x);\n      ${sc}.sizes[k2] = s2;\n      e += ${vs}(s2) + s2;`
            : `e += ${sizeExpr(fi.valueKind, "x", `${lbl}[value]`)};`;
        sz += `  const ${v} = m.${f.name};\n  if (${v} != null) {\n    for (const [k, x] of ${entries}(${v})) {\n      const slot = ${sc}.next++;\n      let e = ${tagLen(1, keyWt)} + ${sizeExpr(fi.keyKind, "k", `${lbl}[key]`)} + ${tagLen(2, valWt)};\n      ${vSize}\n      ${sc}.sizes[slot] = e;\n      n += ${tagLen(f.id, 2)} + ${vs}(e) + e;\n    }\n  }\n`;
        const vWrite =
          fi.valueKind === "message"
            ? `{ const s2 = ${sc}.sizes[${sc}.next++]!; pos = ${wv}(buf, pos, s2); pos = write${name(fi.valueType)}(x, buf, pos); }`
            : writeStmt(fi.valueKind, "x");
        wr += `  const ${v} = m.${f.name};\n  if (${v} != null) {\n    for (const [k, x] of ${entries}(${v})) {\n      ${writeTag(f.id, 2)}\n      pos = ${wv}(buf, pos, ${sc}.sizes[${sc}.next++]!);\n      ${writeTag(1, keyWt)} ${writeStmt(fi.keyKind, "k")}\n      ${writeTag(2, valWt)} ${vWrite}\n    }\n  }\n`;
        const kT = scalarTs(fi.keyKind);
        const vT = fi.valueKind === "message" ? name(fi.valueType) : scalarTs(fi.valueKind, fi.valueType);
        const vDef =
          fi.valueKind === "message" ? `create${name(fi.valueType)}()` : scalarDefault(fi.valueKind);
        const vRead =
          fi.valueKind === "message"
            ? `{ const e2 = r.delimitedEnd(); const s2 = r.end; r.end = e2; x = decode${name(fi.valueType)}(r); r.end = s2; }`
            : `x = ${readExpr(fi.valueKind, fi.valueType)};`;
        dec += `  const ${v} = new Map<${kT}, ${vT}>();\n`;
        cases.push(
          `      case ${tagValue(f.id, 2)}: {\n        const e = r.delimitedEnd();\n        const saved = r.end;\n        r.end = e;\n        let k: ${kT} = ${scalarDefault(fi.keyKind)};\n        let x: ${vT} | undefined;\n        while (r.pos < e) {\n          const t = r.uint32();\n          if (t === ${tagValue(1, keyWt)}) k = ${readExpr(fi.keyKind)};\n          else if (t === ${tagValue(2, valWt)}) ${vRead}\n          else r.skip(t);\n        }\n        r.end = saved;\n        ${v}.set(k, x ?? ${vDef});\n        break;\n      }`,
        );
        const conv = fi.valueKind === "message" ? `create${name(fi.valueType)}` : "undefined";
        cr += `    ${f.name}: ${use("codec", fi.keyKind === "string" ? "toMap" : "toNumericMap")}(i?.${f.name}, ${conv}),\n`;
        continue;
      }
      if (fi.shape === "repeated") {
        if (fi.kind === "message") {
          const sub = name(fi.type);
          sz += `  const ${v} = m.${f.name};\n  if (${v} != null) {\n    for (const x of ${v}) {\n      const slot = ${sc}.next++;\n      const s = size${sub}(x);\n      ${sc}.sizes[slot] = s;\n      n += ${tagLen(f.id, 2)} + ${vs}(s) + s;\n    }\n  }\n`;
          wr += `  const ${v} = m.${f.name};\n  if (${v} != null) {\n    for (const x of ${v}) {\n      ${writeTag(f.id, 2)}\n      pos = ${wv}(buf, pos, ${sc}.sizes[${sc}.next++]!);\n      pos = write${sub}(x, buf, pos);\n    }\n  }\n`;
          dec += `  const ${v}: ${sub}[] = [];\n`;
          cases.push(
            `      case ${tagValue(f.id, 2)}: {\n        const e = r.delimitedEnd();\n        const saved = r.end;\n        r.end = e;\n        ${v}.push(decode${sub}(r));\n        r.end = saved;\n        break;\n      }`,
          );
          cr += `    ${f.name}: i?.${f.name} == null ? [] : i.${f.name}.map((x) => create${sub}(x)),\n`;
        } else if (fi.kind === "string" || fi.kind === "bytes") {
          sz += `  const ${v} = m.${f.name};\n  if (${v} != null) for (const x of ${v}) n += ${tagLen(f.id, 2)} + ${sizeExpr(fi.kind, "x", lbl)};\n`;
          wr += `  const ${v} = m.${f.name};\n  if (${v} != null) {\n    for (const x of ${v}) {\n      ${writeTag(f.id, 2)} ${writeStmt(fi.kind, "x")}\n    }\n  }\n`;
          dec += `  const ${v}: ${scalarTs(fi.kind)}[] = [];\n`;
          cases.push(
            `      case ${tagValue(f.id, 2)}:\n        ${v}.push(${readExpr(fi.kind, fi.type)});\n        break;`,
          );
          cr += `    ${f.name}: i?.${f.name} == null ? [] : [...i.${f.name}],\n`;
        } else {
          // packed varints
          sz += `  const ${v} = m.${f.name};\n  if (${v} != null && ${v}.length !== 0) {\n    const slot = ${sc}.next++;\n    let d = 0;\n    for (const x of ${v}) d += ${sizeExpr(fi.kind, "x", lbl)};\n    ${sc}.sizes[slot] = d;\n    n += ${tagLen(f.id, 2)} + ${vs}(d) + d;\n  }\n`;
          wr += `  const ${v} = m.${f.name};\n  if (${v} != null && ${v}.length !== 0) {\n    ${writeTag(f.id, 2)}\n    pos = ${wv}(buf, pos, ${sc}.sizes[${sc}.next++]!);\n    for (const x of ${v}) ${writeStmt(fi.kind, "x")}\n  }\n`;
          const ts = scalarTs(fi.kind, fi.type);
          dec += `  const ${v}: ${ts}[] = [];\n`;
          cases.push(
            `      case ${tagValue(f.id, 2)}: {\n        const e = r.delimitedEnd();\n        const saved = r.end;\n        r.end = e;\n        while (r.pos < e) ${v}.push(${readExpr(fi.kind, fi.type)});\n        r.end = saved;\n        break;\n      }`,
          );
          cases.push(
            `      case ${tagValue(f.id, 0)}:\n        ${v}.push(${readExpr(fi.kind, fi.type)});\n        break;`,
          );
          cr += `    ${f.name}: i?.${f.name} == null ? [] : [...i.${f.name}],\n`;
        }
        continue;
      }
      if (fi.kind === "message") {
        const sub = name(fi.type);
        sz += `  const ${v} = m.${f.name};\n  if (${v} != null) {\n    const slot = ${sc}.next++;\n    const s = size${sub}(${v});\n    ${sc}.sizes[slot] = s;\n    n += ${tagLen(f.id, 2)} + ${vs}(s) + s;\n  }\n`;
        wr += `  const ${v} = m.${f.name};\n  if (${v} != null) {\n    ${writeTag(f.id, 2)}\n    pos = ${wv}(buf, pos, ${sc}.sizes[${sc}.next++]!);\n    pos = write${sub}(${v}, buf, pos);\n  }\n`;
        dec += `  let ${v}: ${sub} | undefined;\n`;
        cases.push(
          `      case ${tagValue(f.id, 2)}: {\n        const e = r.delimitedEnd();\n        const saved = r.end;\n        r.end = e;\n        ${v} = decode${sub}(r);\n        r.end = saved;\n        break;\n      }`,
        );
        cr += `    ${f.name}: i?.${f.name} == null ? undefined : create${sub}(i.${f.name}),\n`;
        continue;
      }
      // singular / optional scalar
      const wt = wireType(fi.kind);
      const present = fi.shape === "optional" ? `${v} != null` : `${v} != null && ${notDefault(fi.kind, v)}`;
      sz += `  const ${v} = m.${f.name};\n  if (${present}) n += ${tagLen(f.id, wt)} + ${sizeExpr(fi.kind, v, lbl)};\n`;
      wr += `  const ${v} = m.${f.name};\n  if (${present}) {\n    ${writeTag(f.id, wt)}\n    ${writeStmt(fi.kind, v)}\n  }\n`;
      const ts = scalarTs(fi.kind, fi.type);
      if (fi.shape === "optional") dec += `  let ${v}: ${ts} | undefined;\n`;
      else dec += `  let ${v}: ${ts} = ${scalarDefault(fi.kind)};\n`;
      cases.push(
        `      case ${tagValue(f.id, wt)}:\n        ${v} = ${readExpr(fi.kind, fi.type)};\n        break;`,
      );
      cr +=
        fi.shape === "optional"
          ? `    ${f.name}: i?.${f.name} ?? undefined,\n`
          : `    ${f.name}: i?.${f.name} ?? ${scalarDefault(fi.kind)},\n`;
    }
    sz += "  return n;\n}\n";
    wr += "  return pos;\n}\n";
    if (cases.length === 0) {
      dec += "  while (r.pos < end) r.skip(r.uint32());\n";
    } else {
      dec += `  while (r.pos < end) {\n    const tag = r.uint32();\n    switch (tag) {\n${cases.join("\n")}\n      default:\n        r.skip(tag);\n    }\n  }\n`;
    }
    dec += `  return { ${fis.map((fi) => `${fi.f.name}: v${fi.f.id}`).join(", ")} };\n}\n`;
    cr += "  };\n}\n";
    if (fis.length === 0) {
      sz = `function size${n}(_m: ${n}Init): number {\n  return 0;\n}\n`;
      wr = `function write${n}(_m: ${n}Init, _buf: Buffer, pos: number): number {\n  return pos;\n}\n`;
      cr = `function create${n}(_i?: ${n}Init): ${n} {\n  return {};\n}\n`;
    }
    use("reader", "Reader");
    const enc = `function encode${n}(m: ${n}Init, prefix?: Uint8Array): Buffer {\n  ${sc}.next = 0;\n  const n = size${n}(m);\n  const buf = ${use("codec", "startBuffer")}(prefix, n);\n  ${sc}.next = 0;\n  ${use("writer", "assertEnd")}(write${n}(m, buf, buf.length - n), buf.length);\n  return buf;\n}\n`;
    s += sz + wr + dec + cr + enc;
    s += doc([`Codec of {@link ${n}} (\`${t.fullName.slice(1)}\`).`]);
    s += `export const ${n}: ${use("codec", "MessageCodec")}<${n}, ${n}Init> = {\n  typeName: "${t.fullName.slice(1)}",\n  create: create${n},\n  encode: (m) => encode${n}(m),\n  encodeWithPrefix: (m, prefix) => encode${n}(m, prefix),\n  decode: (bytes, start) => decode${n}(new Reader(bytes, start)),\n};\n`;
    body.push(s);
  }

  // ---------- imports ----------
  const text = body.join("\n");
  const imp = (names, from, typeOnly = []) => {
    const all = [...names].filter((x) => new RegExp(`\\b${x}\\b`).test(text)).sort();
    if (all.length === 0) return "";
    const parts = all.map((x) => (typeOnly.includes(x) ? `type ${x}` : x));
    return `import { ${parts.join(", ")} } from "${from}";\n`;
  };
  out += imp(used.codec, "../wire/codec.js", ["MessageCodec"]);
  out += imp(used.int64, "../wire/int64.js");
  out += imp(used.reader, "../wire/reader.js");
  out += imp(used.writer, "../wire/writer.js");
  out += `\n${body.join("\n")}`;

  // Service table (data only; src/service.ts builds the gRPC definitions from it).
  const services = ns.nestedArray.filter((x) => x instanceof protobuf.Service);
  for (const svc of services) {
    const sn = svc.fullName.slice(1);
    out += `\n${doc([`Methods of service \`${sn}\`, in declaration order.`])}`;
    out += `export const ${svc.name}Methods = [\n${svc.methodsArray
      .map(
        (m) =>
          `  { name: "${m.name}", path: "/${sn}/${m.name}", requestType: "${m.resolvedRequestType.fullName.slice(1)}", responseType: "${m.resolvedResponseType.fullName.slice(1)}", requestStream: ${m.requestStream === true}, responseStream: ${m.responseStream === true} },`,
      )
      .join("\n")}\n] as const;\n`;
  }
  return out;
}

function main() {
  const check = process.argv.includes("--check");
  let drift = false;
  for (const t of targets) {
    const code = generate(t);
    if (check) {
      let current = "";
      try {
        current = readFileSync(t.out, "utf8");
      } catch {
        current = "";
      }
      if (current !== code) {
        drift = true;
        process.stderr.write(`${t.out} is out of date: run \`pnpm --filter @liftbridge/api generate\`\n`);
      }
    } else {
      writeFileSync(t.out, code);
      process.stdout.write(`wrote ${t.out}\n`);
    }
  }
  if (drift) process.exit(1);
}

main();
