/**
 * Message-set entry codec, byte-identical to upstream Liftbridge (spec §1.2).
 *
 * Entry = 28-byte set header (offset u64, timestamp i64 ns, leader epoch u64, size u32, all BE)
 * followed by a message of `size` bytes: crc u32 (CRC-32C of the rest of the message), magic i8,
 * attributes i8, key len i32 (-1 = null), key, value len i32 (-1 = null), value, header count i16,
 * then per header: key len i16, key (UTF-8), value len i32, value.
 *
 * Pure functions over Buffers; no I/O.
 */
import { crc32c, NATIVE_MIN_BYTES } from "./crc32c.js";

/** Size of the set header that precedes each message. */
export const ENTRY_HEADER_SIZE = 28;
/** Bytes of a message with null/empty key and value and no headers. */
export const MESSAGE_FIXED_SIZE = 16;
/** Upper bound for one message accepted when scanning or replicating (100 MiB, spec §1.12). */
export const MAX_MESSAGE_SIZE = 100 * 1024 * 1024;
/** The magic byte this package writes by default (the server writes 1 for every ingested message). */
export const DEFAULT_MAGIC = 1;

const TWO_32 = 4294967296;
const EMPTY_HEADERS: readonly RecordHeader[] = Object.freeze([]);

/** One record header: a UTF-8 key and a byte value. Order is kept as given. */
export interface RecordHeader {
  readonly key: string;
  readonly value: Uint8Array;
}

/** A record to append. Offsets and (by default) timestamps are assigned by the log. */
export interface AppendRecord {
  /** `null` or absent means no key (encoded as length -1); an empty array is an empty key. */
  readonly key?: Uint8Array | null;
  /** `null` means no value (length -1). */
  readonly value: Uint8Array | null;
  /** Headers, encoded in the given order. Keys must be at most 32767 UTF-8 bytes. */
  readonly headers?: readonly RecordHeader[];
  /** Unix nanoseconds; defaults to the log clock's time of the append call. */
  readonly timestamp?: bigint;
  /** Magic byte; defaults to 1 like the upstream server. */
  readonly magic?: number;
}

/** A record read from the log. `key`/`value` may share memory with a read buffer: copy to keep long. */
export interface LogRecord {
  readonly offset: number;
  /** Unix nanoseconds. */
  readonly timestamp: bigint;
  readonly leaderEpoch: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeader[];
}

/** Number of message bytes (after the 28-byte set header) that `rec` encodes to. */
export function messageSize(rec: AppendRecord): number {
  let n = MESSAGE_FIXED_SIZE;
  if (rec.key) n += rec.key.length;
  if (rec.value) n += rec.value.length;
  const h = rec.headers;
  if (h !== undefined) {
    for (let i = 0; i < h.length; i++) {
      const hdr = h[i]!;
      n += 6 + Buffer.byteLength(hdr.key, "utf8") + hdr.value.length;
    }
  }
  return n;
}

/** Stores `v` (an unsigned or signed 32-bit value) big-endian at `p`, without bounds checks. */
function put32(buf: Uint8Array, p: number, v: number): void {
  buf[p] = v >>> 24;
  buf[p + 1] = v >>> 16;
  buf[p + 2] = v >>> 8;
  buf[p + 3] = v;
}

/**
 * Writes one entry at `pos` in `buf` (which must have room for 28 + messageSize bytes) and
 * returns the position after it. `tsHi`/`tsLo` are the timestamp's two 32-bit halves.
 *
 * Hot path of `append`: plain byte stores (no `Buffer.write*` calls), the key and value copied
 * once, and the CRC-32C computed in one pass over the message just written when it is small
 * (it is still in cache); a large value is checksummed straight from the caller's array with one
 * native call.
 */
export function writeEntry(
  buf: Buffer,
  pos: number,
  offset: number,
  tsHi: number,
  tsLo: number,
  leaderEpoch: number,
  rec: AppendRecord,
): number {
  put32(buf, pos, Math.floor(offset / TWO_32));
  put32(buf, pos + 4, offset);
  put32(buf, pos + 8, tsHi);
  put32(buf, pos + 12, tsLo);
  put32(buf, pos + 16, Math.floor(leaderEpoch / TWO_32));
  put32(buf, pos + 20, leaderEpoch);
  const msgStart = pos + ENTRY_HEADER_SIZE;
  let p = msgStart + 4;
  buf[p++] = rec.magic ?? DEFAULT_MAGIC;
  buf[p++] = 0;
  const key = rec.key;
  if (key == null) {
    put32(buf, p, -1);
    p += 4;
  } else {
    put32(buf, p, key.length);
    p += 4;
    if (key.length > 0) buf.set(key, p);
    p += key.length;
  }
  const value = rec.value;
  // A large value is checksummed from the caller's array (one native call, no view of `buf`).
  let crc = -1;
  let crcFrom = msgStart + 4;
  if (value === null) {
    put32(buf, p, -1);
    p += 4;
  } else {
    const vlen = value.length;
    put32(buf, p, vlen);
    p += 4;
    if (vlen > 0) buf.set(value, p);
    if (vlen >= NATIVE_MIN_BYTES) {
      crc = crc32c(value, 0, vlen, crc32c(buf, crcFrom, p));
      crcFrom = p + vlen;
    }
    p += vlen;
  }
  const h = rec.headers;
  if (h === undefined || h.length === 0) {
    buf[p++] = 0;
    buf[p++] = 0;
  } else {
    buf[p++] = h.length >>> 8;
    buf[p++] = h.length;
    for (let i = 0; i < h.length; i++) {
      const hdr = h[i]!;
      const klen = buf.write(hdr.key, p + 2, "utf8");
      buf[p] = klen >>> 8;
      buf[p + 1] = klen;
      p += 2 + klen;
      const hv = hdr.value;
      put32(buf, p, hv.length);
      p += 4;
      if (hv.length > 0) buf.set(hv, p);
      p += hv.length;
    }
  }
  put32(buf, pos + 24, p - msgStart);
  put32(buf, msgStart, crc === -1 ? crc32c(buf, crcFrom, p) : crc32c(buf, crcFrom, p, crc));
  return p;
}

/** Splits a bigint timestamp into unsigned 32-bit halves (two's complement for negatives). */
export function splitTimestamp(ts: bigint): [hi: number, lo: number] {
  const u = BigInt.asUintN(64, ts);
  return [Number(u >> 32n), Number(u & 0xffffffffn)];
}

/** Encodes one message body (no set header), e.g. for test vectors. */
export function encodeMessage(rec: AppendRecord): Buffer {
  const size = messageSize(rec);
  const buf = Buffer.alloc(ENTRY_HEADER_SIZE + size);
  writeEntry(buf, 0, 0, 0, 0, 0, rec);
  return buf.subarray(ENTRY_HEADER_SIZE);
}

/** An entry to encode with explicit offset, timestamp and epoch (as a leader or test would). */
export interface EntryInput extends AppendRecord {
  readonly offset: number;
  readonly timestamp: bigint;
  readonly leaderEpoch: number;
}

/** Encodes a message set: entries back to back, as stored in a `.log` file and replicated. */
export function encodeMessageSet(entries: readonly EntryInput[]): Buffer {
  let total = 0;
  for (const e of entries) total += ENTRY_HEADER_SIZE + messageSize(e);
  const buf = Buffer.allocUnsafe(total);
  let p = 0;
  for (const e of entries) {
    const [hi, lo] = splitTimestamp(e.timestamp);
    p = writeEntry(buf, p, e.offset, hi, lo, e.leaderEpoch, e);
  }
  return buf;
}

/** Reads an unsigned 64-bit BE value as a number; returns -1 when it is not a safe integer. */
export function readU64(buf: Uint8Array, pos: number): number {
  const hi = ((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0;
  const lo = ((buf[pos + 4]! << 24) | (buf[pos + 5]! << 16) | (buf[pos + 6]! << 8) | buf[pos + 7]!) >>> 0;
  if (hi >= 0x200000) return -1;
  return hi * TWO_32 + lo;
}

/** Reads a big-endian u32. */
export function readU32(buf: Uint8Array, pos: number): number {
  return ((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0;
}

/** Reads the entry's timestamp (signed 64-bit ns). */
export function readTimestamp(buf: Buffer, pos: number): bigint {
  return buf.readBigInt64BE(pos + 8);
}

/** Result of {@link checkEntry}: size of a valid entry, or one of these negative markers. */
export const ENTRY_INCOMPLETE = -1;
/** Marker: bytes at the position are not a valid entry (bad size, CRC or framing). */
export const ENTRY_INVALID = -2;

/**
 * Checks the entry at `pos` within `buf[.., end)`: returns its total size when complete and valid
 * (CRC and framing), {@link ENTRY_INCOMPLETE} when more bytes are needed, {@link ENTRY_INVALID} when
 * the bytes cannot be an entry. With `verifyCrc` false only the header and framing are checked (for
 * bytes whose CRC was computed by this process).
 */
export function checkEntry(buf: Uint8Array, pos: number, end: number, verifyCrc = true): number {
  if (end - pos < ENTRY_HEADER_SIZE) return ENTRY_INCOMPLETE;
  const size = readU32(buf, pos + 24);
  if (size < MESSAGE_FIXED_SIZE || size > MAX_MESSAGE_SIZE) return ENTRY_INVALID;
  if (readU64(buf, pos) < 0 || readU64(buf, pos + 16) < 0) return ENTRY_INVALID;
  const total = ENTRY_HEADER_SIZE + size;
  if (end - pos < total) return ENTRY_INCOMPLETE;
  const m = pos + ENTRY_HEADER_SIZE;
  if (verifyCrc && readU32(buf, m) !== crc32c(buf, m + 4, m + size)) return ENTRY_INVALID;
  if (!framingOk(buf, m, m + size)) return ENTRY_INVALID;
  return total;
}

function framingOk(buf: Uint8Array, m: number, end: number): boolean {
  let p = m + 6;
  const klen = readU32(buf, p) | 0;
  p += 4;
  if (klen < -1) return false;
  if (klen > 0) p += klen;
  if (p + 4 > end) return false;
  const vlen = readU32(buf, p) | 0;
  p += 4;
  if (vlen < -1) return false;
  if (vlen > 0) p += vlen;
  if (p + 2 > end) return false;
  const n = (buf[p]! << 8) | buf[p + 1]!;
  p += 2;
  if (n & 0x8000) return false;
  for (let i = 0; i < n; i++) {
    if (p + 2 > end) return false;
    const hk = (buf[p]! << 8) | buf[p + 1]!;
    if (hk & 0x8000) return false;
    p += 2 + hk;
    if (p + 4 > end) return false;
    const hv = readU32(buf, p);
    p += 4;
    if (hv > end - p) return false;
    p += hv;
  }
  return p === end;
}

/**
 * Decodes the (already checked) entry at `pos` into a {@link LogRecord}. Key, value and header
 * values are views into `buf`.
 */
export function decodeEntry(buf: Buffer, pos: number): LogRecord {
  const offset = readU64(buf, pos);
  const timestamp = buf.readBigInt64BE(pos + 8);
  const leaderEpoch = readU64(buf, pos + 16);
  let p = pos + ENTRY_HEADER_SIZE + 6;
  const klen = buf.readInt32BE(p);
  p += 4;
  let key: Uint8Array | null = null;
  if (klen >= 0) {
    key = buf.subarray(p, p + klen);
    p += klen;
  }
  const vlen = buf.readInt32BE(p);
  p += 4;
  let value: Uint8Array | null = null;
  if (vlen >= 0) {
    value = buf.subarray(p, p + vlen);
    p += vlen;
  }
  const n = buf.readUInt16BE(p);
  p += 2;
  let headers = EMPTY_HEADERS;
  if (n > 0) {
    const hs: RecordHeader[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const hk = buf.readUInt16BE(p);
      p += 2;
      const k = buf.toString("utf8", p, p + hk);
      p += hk;
      const hv = buf.readUInt32BE(p);
      p += 4;
      hs[i] = { key: k, value: buf.subarray(p, p + hv) };
      p += hv;
    }
    headers = hs;
  }
  return { offset, timestamp, leaderEpoch, key, value, headers };
}

/**
 * Decodes a whole message set (e.g. bytes received from a replication peer), checking each entry.
 * Throws `Error` with the failing position when the bytes are not a complete, valid message set.
 */
export function decodeMessageSet(bytes: Uint8Array): LogRecord[] {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const out: LogRecord[] = [];
  let p = 0;
  while (p < buf.length) {
    const n = checkEntry(buf, p, buf.length);
    if (n < 0) throw new Error(`invalid message-set entry at byte ${p}`);
    out.push(decodeEntry(buf, p));
    p += n;
  }
  return out;
}

/** Reads the key of a checked entry as a latin1 string map key, or `null` for a null key. */
export function entryKeyString(buf: Buffer, pos: number): string | null {
  const p = pos + ENTRY_HEADER_SIZE + 6;
  const klen = buf.readInt32BE(p);
  if (klen < 0) return null;
  return buf.toString("latin1", p + 4, p + 4 + klen);
}
