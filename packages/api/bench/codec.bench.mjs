// Encode/decode benchmark of the hot-path messages: ours (dist/) against protobufjs 7
// reflection codecs (what @grpc/proto-loader uses) measured in the same run, interleaved.
// Run: pnpm --filter @liftbridge/api bench   (builds first through turbo, or run `tsc -b` before)
// Prints per case: median CPU ns/op [min-max] over REPS repetitions for both, and the ratio of
// medians (protobufjs / ours: > 1 means ours is faster). Never a CI gate.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { encodePublish, Message, PublishRequest, tryUnmarshalMessage } from "../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const REPS = Number(process.env.REPS ?? 5);
const OPS = Number(process.env.OPS ?? 200_000);

const parsed = protobuf.parse(
  readFileSync(join(here, "..", "..", "..", "proto", "liftbridge", "api.proto"), "utf8"),
  {
    keepCase: true,
  },
);
parsed.root.resolveAll();
const PbMessage = parsed.root.lookupType("proto.Message");
const PbPublishRequest = parsed.root.lookupType("proto.PublishRequest");

function cases(size) {
  const value = Buffer.alloc(size, 0x61);
  const key = Buffer.from("key-0001");
  const ts = 1_764_201_600_123_456_789n;
  // What a broker sends per subscribed message (spec §0.8: subject/reply headers).
  const msg = {
    offset: 123_456,
    key,
    value,
    timestamp: ts,
    stream: "orders",
    partition: 1,
    subject: "orders.created.1",
    headers: new Map([
      ["subject", Buffer.from("orders.created.1")],
      ["reply", Buffer.alloc(0)],
    ]),
  };
  const pbMsg = PbMessage.fromObject({
    ...msg,
    timestamp: protobuf.util.Long.fromString(ts.toString()),
    headers: Object.fromEntries(msg.headers),
  });
  // What go-liftbridge sends per publish on PublishAsync.
  // (partition 0, empty ackInbox and ackPolicy LEADER are proto3 defaults: not on the wire)
  const req = { key, value, stream: "orders", correlationId: "J5Bz0rVq6xQW1mUu2G5pKp", expectedOffset: -1 };
  const pbReq = PbPublishRequest.fromObject(req);
  const msgBytes = Message.encode(msg);
  const reqBytes = PublishRequest.encode(req);
  const envelope = encodePublish({ offset: -1, value, key, correlationId: req.correlationId });
  if (Buffer.compare(PbMessage.encode(pbMsg).finish(), msgBytes) !== 0)
    throw new Error("Message bytes differ");
  if (Buffer.compare(PbPublishRequest.encode(pbReq).finish(), reqBytes) !== 0)
    throw new Error("PublishRequest bytes differ");
  return [
    {
      name: `Message encode (${size} B value)`,
      ours: () => Message.encode(msg),
      theirs: () => PbMessage.encode(pbMsg).finish(),
    },
    {
      name: `Message decode (${size} B value)`,
      ours: () => Message.decode(msgBytes),
      theirs: () => PbMessage.decode(msgBytes),
    },
    {
      name: `PublishRequest encode (${size} B value)`,
      ours: () => PublishRequest.encode(req),
      theirs: () => PbPublishRequest.encode(pbReq).finish(),
    },
    {
      name: `PublishRequest decode (${size} B value)`,
      ours: () => PublishRequest.decode(reqBytes),
      theirs: () => PbPublishRequest.decode(reqBytes),
    },
    {
      name: `publish envelope encode (${size} B value)`,
      ours: () => encodePublish({ offset: -1, value, key, correlationId: req.correlationId }),
      theirs: () => {
        const p = PbMessage.encode({ offset: -1, value, key, correlationId: req.correlationId }).finish();
        const b = Buffer.allocUnsafe(8 + p.length);
        b.set([0xb9, 0x0e, 0x43, 0xb4, 0, 8, 0, 0]);
        b.set(p, 8);
        return b;
      },
    },
    {
      name: `publish envelope decode (${size} B value)`,
      ours: () => tryUnmarshalMessage(envelope),
      theirs: () => PbMessage.decode(envelope.subarray(8)),
    },
  ];
}

let sink = 0;
// Process CPU time (user + system), not wall time: the dev machine is shared and a wall clock
// mostly measures waiting for a core. It includes GC helper threads, which is fair: garbage is
// part of a codec's cost.
function timeNsPerOp(fn) {
  const start = process.cpuUsage();
  for (let i = 0; i < OPS; i++) {
    const r = fn();
    if (r === undefined) sink++;
  }
  const d = process.cpuUsage(start);
  return ((d.user + d.system) * 1000) / OPS;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const fmt = (xs) => `${median(xs).toFixed(0)} [${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}]`;

console.log(
  `node ${process.version}; ${REPS} reps x ${OPS} ops, interleaved (protobufjs, ours, ...); process CPU ns/op, median [min-max]`,
);
console.log("case | protobufjs 7 | @liftbridge/api | speedup (median ratio)");
for (const size of [128, 1024]) {
  for (const c of cases(size)) {
    // warm-up
    timeNsPerOp(c.theirs);
    timeNsPerOp(c.ours);
    const theirs = [];
    const ours = [];
    for (let r = 0; r < REPS; r++) {
      theirs.push(timeNsPerOp(c.theirs));
      ours.push(timeNsPerOp(c.ours));
    }
    console.log(`${c.name} | ${fmt(theirs)} | ${fmt(ours)} | ${(median(theirs) / median(ours)).toFixed(2)}x`);
  }
}
if (sink < 0) console.log(sink);
