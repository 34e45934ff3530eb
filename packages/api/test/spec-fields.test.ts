import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { apiProtoPath, messageTypes, parseProto } from "./support/proto.js";

/** api.proto against the field tables of the spec (test/testdata/spec-fields.txt). */
const specLines = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), "testdata", "spec-fields.txt"),
  "utf8",
)
  .split("\n")
  .filter((l) => l.trim() !== "" && !l.startsWith("#"));

function describeField(f: protobuf.Field): string {
  const owner = (t: protobuf.ReflectionObject): string =>
    t.parent instanceof protobuf.Type ? `${t.parent.name}.${t.name}` : t.name;
  if (f.map)
    return `map<${(f as unknown as protobuf.MapField).keyType}, ${f.resolvedType ? owner(f.resolvedType) : f.type}>`;
  let t = f.resolvedType ? owner(f.resolvedType) : f.type;
  if (f.resolvedType instanceof protobuf.Enum) t = `enum ${t}`;
  return `${f.repeated ? "repeated " : ""}${t}`;
}

describe("api.proto matches the spec's field tables", () => {
  const { root } = parseProto(apiProtoPath);
  const fields = new Map<string, protobuf.Field>();
  for (const t of messageTypes(root, "proto"))
    for (const f of t.fieldsArray) fields.set(`${t.name}.${f.name}`, f);

  it.each(specLines.map((l) => [l]))("%s", (line) => {
    const [, key, num, type, js] = /^(\S+) (\d+) (.+?)( JS)?$/.exec(line)!;
    const f = fields.get(key!);
    expect(f, key).toBeDefined();
    expect(String(f!.id)).toBe(num);
    expect(describeField(f!)).toBe(type);
    expect(f!.options?.jstype === "JS_STRING").toBe(js === " JS");
  });

  it("has no field the spec does not list", () => {
    const listed = new Set(specLines.map((l) => l.split(" ")[0]));
    expect([...fields.keys()].filter((k) => !listed.has(k))).toEqual([]);
    expect(specLines.length).toBe(176);
  });
});

describe("api.proto enums match spec §2.4", () => {
  const { root } = parseProto(apiProtoPath);
  it.each([
    ["proto.StartPosition", "NEW_ONLY OFFSET EARLIEST LATEST TIMESTAMP"],
    ["proto.StopPosition", "STOP_ON_CANCEL STOP_OFFSET STOP_LATEST STOP_TIMESTAMP"],
    ["proto.AckPolicy", "LEADER ALL NONE"],
    [
      "proto.ActivityStreamOp",
      "CREATE_STREAM DELETE_STREAM PAUSE_STREAM RESUME_STREAM SET_STREAM_READONLY JOIN_CONSUMER_GROUP LEAVE_CONSUMER_GROUP",
    ],
    [
      "proto.PublishAsyncError.Code",
      "UNKNOWN BAD_REQUEST NOT_FOUND INTERNAL READONLY INCORRECT_OFFSET ENCRYPTION_FAILED PERMISSION_DENIED",
    ],
    ["proto.StreamMetadata.Error", "OK UNKNOWN_STREAM"],
    ["proto.ConsumerGroupMetadata.Error", "OK UNKNOWN_GROUP"],
    ["proto.Ack.Error", "OK UNKNOWN INCORRECT_OFFSET TOO_LARGE ENCRYPTION"],
  ])("%s = %s (0, 1, ...)", (name, values) => {
    const e = root.lookupEnum(name);
    expect(Object.entries(e.values)).toEqual(values.split(" ").map((v, i) => [v, i]));
  });
});
