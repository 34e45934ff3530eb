// Hand-written protobuf codec for the benchmark messages, so that the runs measure transport only
// (spec/grpc-transport.md §1 "Codec"). proto3: zero-valued fields are omitted (pitfall §4.4).
//   SubReq { uint32 count = 1; }   Msg { uint64 offset = 1; bytes value = 2; }
//   PubReq { bytes value = 1; }    Ack { uint64 offset = 1; }

function varintSize(v) {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}
function writeVarint(buf, pos, v) {
  while (v >= 128) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}
function readVarint(buf, pos) {
  let result = 0;
  let scale = 1;
  for (;;) {
    const b = buf[pos++];
    result += (b & 0x7f) * scale;
    if (b < 0x80) return [result, pos];
    scale *= 128;
  }
}

export function encodeOffsetMsg(offset, value) {
  const size =
    (offset === 0 ? 0 : 1 + varintSize(offset)) +
    (value.length === 0 ? 0 : 1 + varintSize(value.length) + value.length);
  const out = Buffer.allocUnsafe(size);
  let p = 0;
  if (offset !== 0) {
    out[p++] = 0x08;
    p = writeVarint(out, p, offset);
  }
  if (value.length !== 0) {
    out[p++] = 0x12;
    p = writeVarint(out, p, value.length);
    value.copy(out, p);
  }
  return out;
}

/** Returns the offset field (0 when absent). */
export function decodeOffset(buf) {
  let p = 0;
  while (p < buf.length) {
    const tag = buf[p++];
    if (tag === 0x08) return readVarint(buf, p)[0];
    if ((tag & 7) === 2) {
      const [len, q] = readVarint(buf, p);
      p = q + len;
    } else if ((tag & 7) === 0) p = readVarint(buf, p)[1];
    else throw new Error(`unexpected tag ${tag}`);
  }
  return 0;
}

export function encodeCount(count) {
  const out = Buffer.allocUnsafe(1 + varintSize(count));
  out[0] = 0x08;
  writeVarint(out, 1, count);
  return out;
}
export const decodeCount = decodeOffset;

export function encodePubReq(value) {
  const out = Buffer.allocUnsafe(1 + varintSize(value.length) + value.length);
  out[0] = 0x0a;
  const p = writeVarint(out, 1, value.length);
  value.copy(out, p);
  return out;
}

const id = (b) => b;
const method = (path, requestStream, responseStream) => ({
  path,
  requestStream,
  responseStream,
  requestSerialize: id,
  requestDeserialize: id,
  responseSerialize: id,
  responseDeserialize: id,
});

/** The benchmark service; raw-bytes serializers (the codec above runs in the handlers). */
export const BenchService = {
  sub: method("/bench.Bench/Sub", false, true),
  pub: method("/bench.Bench/Pub", true, true),
  unary: method("/bench.Bench/Unary", false, false),
};

/** utime + stime of a process in seconds, from /proc/<pid>/stat. */
import { readFileSync } from "node:fs";
export function procCpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
