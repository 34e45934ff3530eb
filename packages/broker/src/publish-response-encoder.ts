/**
 * Encodes the PublishAsync response of a successful ack (`proto.PublishResponse{ack, correlationId}`)
 * by hand: the hot path of PublishAsync. The strings that repeat from ack to ack (stream, subjects,
 * ack inbox) and the timestamps shared by a batch are encoded once and reused.
 *
 * The output is byte-identical to `@liftbridge/api`'s `PublishResponse.encode` (default fields omitted,
 * fields in number order).
 * @module
 */
import type { Ack } from "@liftbridge/api";

const TWO_32 = 4294967296;
const MASK_32 = 0xffffffffn;

function varint32Size(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function writeVarint32(buf: Buffer, pos: number, v: number): number {
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Varint bytes of a 64-bit two's complement value given as unsigned halves. */
function varint64(hi: number, lo: number): Buffer {
  const out: number[] = [];
  while (hi !== 0) {
    out.push((lo & 0x7f) | 0x80);
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  while (lo > 0x7f) {
    out.push((lo & 0x7f) | 0x80);
    lo >>>= 7;
  }
  out.push(lo);
  return Buffer.from(out);
}

/** A field (tag + length + UTF-8) of the last string seen, re-encoded only when the string changes. */
class StringField {
  #last: string | undefined;
  #bytes: Buffer = Buffer.alloc(0);
  readonly tag: number;
  constructor(tag: number) {
    this.tag = tag;
  }
  get(s: string): Buffer {
    if (s !== this.#last) {
      this.#last = s;
      if (s === "") this.#bytes = Buffer.alloc(0);
      else {
        const len = Buffer.byteLength(s, "utf8");
        const b = Buffer.allocUnsafe(1 + varint32Size(len) + len);
        b[0] = this.tag;
        const p = writeVarint32(b, 1, len);
        b.write(s, p, "utf8");
        this.#bytes = b;
      }
    }
    return this.#bytes;
  }
}

/** A varint field of the last int64 (as bigint) seen. */
class BigIntField {
  #last: bigint | undefined;
  #bytes: Buffer = Buffer.alloc(0);
  readonly tag: number;
  constructor(tag: number) {
    this.tag = tag;
  }
  get(v: bigint): Buffer {
    if (v !== this.#last) {
      this.#last = v;
      if (v === 0n) this.#bytes = Buffer.alloc(0);
      else {
        const u = BigInt.asUintN(64, v);
        this.#bytes = Buffer.concat([Buffer.of(this.tag), varint64(Number(u >> 32n), Number(u & MASK_32))]);
      }
    }
    return this.#bytes;
  }
}

/** Encodes `PublishResponse{ack, asyncError: unset, correlationId}`; not shared between calls. */
export type PublishResponseEncoder = (ack: Ack, correlationId: string) => Buffer;

/** Creates an encoder with its own caches (one per PublishAsync call). */
export function createPublishResponseEncoder(): PublishResponseEncoder {
  const stream = new StringField(0x0a);
  const partitionSubject = new StringField(0x12);
  const msgSubject = new StringField(0x1a);
  const ackInbox = new StringField(0x2a);
  const reception = new BigIntField(0x40);
  const commit = new BigIntField(0x48);
  return (ack, correlationId) => {
    const f1 = stream.get(ack.stream);
    const f2 = partitionSubject.get(ack.partitionSubject);
    const f3 = msgSubject.get(ack.msgSubject);
    const f5 = ackInbox.get(ack.ackInbox);
    const f8 = reception.get(ack.receptionTimestamp);
    const f9 = commit.get(ack.commitTimestamp);
    const off = ack.offset;
    const offSize = off === 0 ? 0 : off > 0 ? 1 + varintNumberSize(off) : 11;
    const ackCorr = ack.correlationId;
    const ackCorrLen = ackCorr === "" ? 0 : Buffer.byteLength(ackCorr, "utf8");
    const corrLen = correlationId === "" ? 0 : Buffer.byteLength(correlationId, "utf8");
    const policy = ack.ackPolicy;
    const err = ack.ackError;
    const ackLen =
      f1.length +
      f2.length +
      f3.length +
      offSize +
      f5.length +
      (ackCorrLen > 0 ? 1 + varint32Size(ackCorrLen) + ackCorrLen : 0) +
      (policy !== 0 ? 1 + (policy < 0 ? 10 : varint32Size(policy)) : 0) +
      f8.length +
      f9.length +
      (err !== 0 ? 1 + (err < 0 ? 10 : varint32Size(err)) : 0);
    const total = 1 + varint32Size(ackLen) + ackLen + (corrLen > 0 ? 1 + varint32Size(corrLen) + corrLen : 0);
    const buf = Buffer.allocUnsafe(total);
    buf[0] = 0x0a;
    let p = writeVarint32(buf, 1, ackLen);
    p += f1.copy(buf, p);
    p += f2.copy(buf, p);
    p += f3.copy(buf, p);
    if (off !== 0) {
      buf[p++] = 0x20;
      p = writeVarintNumber(buf, p, off);
    }
    p += f5.copy(buf, p);
    if (ackCorrLen > 0) {
      buf[p++] = 0x32;
      p = writeVarint32(buf, p, ackCorrLen);
      p += buf.write(ackCorr, p, "utf8");
    }
    if (policy !== 0) {
      buf[p++] = 0x38;
      p = policy < 0 ? writeVarintNumber(buf, p, policy) : writeVarint32(buf, p, policy);
    }
    p += f8.copy(buf, p);
    p += f9.copy(buf, p);
    if (err !== 0) {
      buf[p++] = 0x50;
      p = err < 0 ? writeVarintNumber(buf, p, err) : writeVarint32(buf, p, err);
    }
    if (corrLen > 0) {
      buf[p++] = 0x1a;
      p = writeVarint32(buf, p, corrLen);
      p += buf.write(correlationId, p, "utf8");
    }
    if (p !== total) throw new RangeError(`encoded ${p} bytes, sized ${total}`);
    return buf;
  };
}

/** Varint size of a non-negative safe integer. */
function varintNumberSize(v: number): number {
  if (v < TWO_32) return varint32Size(v);
  let n = 5;
  let h = Math.floor(v / TWO_32) >>> 3;
  while (h !== 0) {
    n++;
    h >>>= 7;
  }
  return n;
}

/** Writes a safe integer (negative: as 64-bit two's complement, 10 bytes). */
function writeVarintNumber(buf: Buffer, pos: number, v: number): number {
  let hi: number;
  let lo: number;
  if (v >= 0) {
    hi = Math.floor(v / TWO_32) >>> 0;
    lo = v >>> 0;
  } else {
    const u = BigInt.asUintN(64, BigInt(v));
    hi = Number(u >> 32n);
    lo = Number(u & MASK_32);
  }
  while (hi !== 0) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  return writeVarint32(buf, pos, lo);
}
