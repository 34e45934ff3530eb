/**
 * Encodes `proto.Message` (the Subscribe response) straight from raw commit-log entries (message-set
 * bytes, spec §1.2), without decoding records into objects: the hot path of Subscribe.
 *
 * The output is byte-identical to `@liftbridge/api`'s `Message.encode` of the message the broker would
 * build from the record (default fields omitted, field order 1..12), except that a record carrying the
 * same header key twice yields two map entries (decoders keep the last, as a `Map` would).
 * @module
 */

/** Size of the set header that precedes each message in the log (offset, timestamp, epoch, size). */
const ENTRY_HEADER_SIZE = 28;
/** Offset of the key length inside an entry: set header, crc u32, magic, attributes. */
const KEY_LEN_AT = ENTRY_HEADER_SIZE + 6;

/** The encoded messages of one raw batch: `bytes[ends[i-1] .. ends[i]]` is message i. */
export interface EncodedBatch {
  /** All messages back to back. */
  readonly bytes: Buffer;
  /** End position of each message in `bytes`. */
  readonly ends: Int32Array;
  /** Offset of each message. */
  readonly offsets: Float64Array;
  readonly count: number;
}

/** Per-subscription constant fields, pre-encoded. */
export interface MessageEncoder {
  /**
   * Encodes the first `count` entries of `entries` (whole message-set entries) into a buffer of the
   * encoded size from `alloc` (default: a fresh `Buffer.allocUnsafe`).
   */
  encode(entries: Buffer, count: number, alloc?: (size: number) => Buffer): EncodedBatch;
}

function varint32Size(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Size of an unsigned 64-bit varint given as two 32-bit halves (a negative int64 takes 10 bytes). */
function varint64Size(hi: number, lo: number): number {
  if (hi === 0) return varint32Size(lo);
  let n = 5;
  let h = hi >>> 3; // bits 35.. after the first five 7-bit groups of the 64-bit value
  while (h !== 0) {
    n++;
    h >>>= 7;
  }
  return n;
}

function writeVarint32(buf: Buffer, pos: number, v: number): number {
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

function writeVarint64(buf: Buffer, pos: number, hi: number, lo: number): number {
  while (hi !== 0) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  return writeVarint32(buf, pos, lo);
}

/** Copies `src[from..to]` to `out` at `at`; short runs byte by byte (Buffer#copy costs ~100 ns a call). */
function copyBytes(src: Buffer, from: number, to: number, out: Buffer, at: number): number {
  const n = to - from;
  if (n > 48) return at + src.copy(out, at, from, to);
  for (let i = 0; i < n; i++) out[at + i] = src[from + i]!;
  return at + n;
}

/** Whether `buf[at..at+len]` is the ASCII word `w`. */
function isWord(buf: Buffer, at: number, len: number, w: string): boolean {
  if (len !== w.length) return false;
  for (let i = 0; i < len; i++) if (buf[at + i] !== w.charCodeAt(i)) return false;
  return true;
}

/**
 * Creates an encoder for one subscription: `stream` and `partition` are the same in every message.
 * With `grpcFramed`, each message is preceded by its 5-byte gRPC prefix (flag 0, big-endian length) and
 * `ends` mark the ends of the framed messages: the batch can go to `ServerWritableCall.sendFramed` as is.
 */
export function createMessageEncoder(
  stream: string,
  partition: number,
  options: { readonly grpcFramed?: boolean } = {},
): MessageEncoder {
  const prefixLen = options.grpcFramed === true ? 5 : 0;
  const streamBytes = Buffer.from(stream, "utf8");
  // Fields 5 (stream) and 6 (partition), pre-encoded: identical in every message.
  const fixedLen =
    (streamBytes.length > 0 ? 1 + varint32Size(streamBytes.length) + streamBytes.length : 0) +
    (partition !== 0 ? 1 + (partition < 0 ? 10 : varint32Size(partition)) : 0);
  const fixed = Buffer.allocUnsafe(fixedLen);
  let fp = 0;
  if (streamBytes.length > 0) {
    fixed[fp++] = 0x2a;
    fp = writeVarint32(fixed, fp, streamBytes.length);
    fp += streamBytes.copy(fixed, fp);
  }
  if (partition !== 0) {
    fixed[fp++] = 0x30;
    fp =
      partition < 0
        ? writeVarint64(fixed, fp, 0xffffffff, partition >>> 0)
        : writeVarint32(fixed, fp, partition);
  }
  let sizes = new Int32Array(1024);

  const encode = (src: Buffer, count: number, alloc?: (size: number) => Buffer): EncodedBatch => {
    if (sizes.length < count) sizes = new Int32Array(count * 2);
    // Pass 1: the size of every message.
    let total = 0;
    let p = 0;
    for (let i = 0; i < count; i++) {
      const entryEnd = p + ENTRY_HEADER_SIZE + src.readUInt32BE(p + 24);
      let n = fixedLen;
      const offHi = src.readUInt32BE(p);
      const offLo = src.readUInt32BE(p + 4);
      if (offHi !== 0 || offLo !== 0) n += 1 + varint64Size(offHi, offLo);
      const tsHi = src.readUInt32BE(p + 8);
      const tsLo = src.readUInt32BE(p + 12);
      if (tsHi !== 0 || tsLo !== 0) n += 1 + varint64Size(tsHi, tsLo);
      let q = p + KEY_LEN_AT;
      const keyLen = src.readInt32BE(q);
      q += 4;
      if (keyLen > 0) {
        n += 1 + varint32Size(keyLen) + keyLen;
        q += keyLen;
      }
      const valueLen = src.readInt32BE(q);
      q += 4;
      if (valueLen > 0) {
        n += 1 + varint32Size(valueLen) + valueLen;
        q += valueLen;
      }
      const hcount = src.readInt16BE(q);
      q += 2;
      let subjectLen = 0;
      let replyLen = 0;
      for (let h = 0; h < hcount; h++) {
        const kl = src.readInt16BE(q);
        const vl = src.readInt32BE(q + 2 + kl);
        if (isWord(src, q + 2, kl, "subject")) subjectLen = vl;
        else if (vl > 0 && isWord(src, q + 2, kl, "reply")) replyLen = vl;
        const e = 2 + varint32Size(kl) + kl + varint32Size(vl) + vl;
        n += 1 + varint32Size(e) + e;
        q += 6 + kl + vl;
      }
      if (subjectLen > 0) n += 1 + varint32Size(subjectLen) + subjectLen;
      if (replyLen > 0) n += 1 + varint32Size(replyLen) + replyLen;
      if (q !== entryEnd) throw new RangeError(`malformed log entry at byte ${p}`);
      sizes[i] = n;
      total += prefixLen + n;
      p = entryEnd;
    }
    // Pass 2: write, fields in number order as the generated encoder does.
    const out = alloc === undefined ? Buffer.allocUnsafe(total) : alloc(total);
    if (out.length !== total) throw new RangeError(`alloc gave ${out.length} bytes for ${total}`);
    const ends = new Int32Array(count);
    const offsets = new Float64Array(count);
    let o = 0;
    p = 0;
    for (let i = 0; i < count; i++) {
      const entryEnd = p + ENTRY_HEADER_SIZE + src.readUInt32BE(p + 24);
      const offHi = src.readUInt32BE(p);
      const offLo = src.readUInt32BE(p + 4);
      offsets[i] = offHi * 4294967296 + offLo;
      if (prefixLen !== 0) {
        const n = sizes[i]!;
        out[o] = 0;
        out[o + 1] = n >>> 24;
        out[o + 2] = (n >>> 16) & 0xff;
        out[o + 3] = (n >>> 8) & 0xff;
        out[o + 4] = n & 0xff;
        o += 5;
      }
      if (offHi !== 0 || offLo !== 0) {
        out[o++] = 0x08;
        o = writeVarint64(out, o, offHi, offLo);
      }
      let q = p + KEY_LEN_AT;
      const keyLen = src.readInt32BE(q);
      q += 4;
      if (keyLen > 0) {
        out[o++] = 0x12;
        o = writeVarint32(out, o, keyLen);
        o = copyBytes(src, q, q + keyLen, out, o);
        q += keyLen;
      }
      const valueLen = src.readInt32BE(q);
      q += 4;
      if (valueLen > 0) {
        out[o++] = 0x1a;
        o = writeVarint32(out, o, valueLen);
        o = copyBytes(src, q, q + valueLen, out, o);
        q += valueLen;
      }
      const tsHi = src.readUInt32BE(p + 8);
      const tsLo = src.readUInt32BE(p + 12);
      if (tsHi !== 0 || tsLo !== 0) {
        out[o++] = 0x20;
        o = writeVarint64(out, o, tsHi, tsLo);
      }
      if (fixedLen > 0) o = copyBytes(fixed, 0, fixedLen, out, o);
      const hcount = src.readInt16BE(q);
      const headersAt = q + 2;
      // Fields 7 and 8 (subject, replySubject) come from the last `subject` and last non-empty `reply`
      // headers. The broker writes them from strings (NATS subjects), so they are valid UTF-8.
      let subjectAt = -1;
      let subjectLen = 0;
      let replyAt = -1;
      let replyLen = 0;
      q = headersAt;
      for (let h = 0; h < hcount; h++) {
        const kl = src.readInt16BE(q);
        const vl = src.readInt32BE(q + 2 + kl);
        if (isWord(src, q + 2, kl, "subject")) {
          subjectAt = q + 6 + kl;
          subjectLen = vl;
        } else if (vl > 0 && isWord(src, q + 2, kl, "reply")) {
          replyAt = q + 6 + kl;
          replyLen = vl;
        }
        q += 6 + kl + vl;
      }
      if (subjectLen > 0) {
        out[o++] = 0x3a;
        o = writeVarint32(out, o, subjectLen);
        o = copyBytes(src, subjectAt, subjectAt + subjectLen, out, o);
      }
      if (replyLen > 0) {
        out[o++] = 0x42;
        o = writeVarint32(out, o, replyLen);
        o = copyBytes(src, replyAt, replyAt + replyLen, out, o);
      }
      // Field 9: one map entry per header (key 1, value 2, both always written).
      q = headersAt;
      for (let h = 0; h < hcount; h++) {
        const kl = src.readInt16BE(q);
        const vl = src.readInt32BE(q + 2 + kl);
        out[o++] = 0x4a;
        o = writeVarint32(out, o, 2 + varint32Size(kl) + kl + varint32Size(vl) + vl);
        out[o++] = 0x0a;
        o = writeVarint32(out, o, kl);
        o = copyBytes(src, q + 2, q + 2 + kl, out, o);
        out[o++] = 0x12;
        o = writeVarint32(out, o, vl);
        o = copyBytes(src, q + 6 + kl, q + 6 + kl + vl, out, o);
        q += 6 + kl + vl;
      }
      ends[i] = o;
      p = entryEnd;
    }
    if (o !== total) throw new RangeError(`encoded ${o} bytes, sized ${total}`);
    return { bytes: out, ends, offsets, count };
  };
  return { encode };
}
