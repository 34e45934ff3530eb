import { ApiError, ApiErrorCode } from "../errors.js";

/** Node's fast UTF-8 write, present on every Buffer but missing from the typings. */
interface Utf8Writer {
  utf8Write(s: string, offset: number): number;
}

/** Number of bytes of `v` (an unsigned 32-bit integer) as a varint. */
export function varint32Size(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Writes `v` (an unsigned 32-bit integer) as a varint; returns the new position. */
export function writeVarint32(buf: Uint8Array, pos: number, v: number): number {
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Writes a 64-bit varint from its unsigned 32-bit halves; returns the new position. */
export function writeVarint64(buf: Uint8Array, pos: number, lo: number, hi: number): number {
  while (hi !== 0) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  while (lo > 0x7f) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  buf[pos++] = lo;
  return pos;
}

/** Number of bytes of a 64-bit varint given its unsigned 32-bit halves. */
export function varint64Size(lo: number, hi: number): number {
  if (hi === 0) return varint32Size(lo);
  const part1 = ((lo >>> 28) | (hi << 4)) >>> 0;
  const part2 = hi >>> 24;
  if (part2 === 0) return part1 < 0x4000 ? (part1 < 0x80 ? 5 : 6) : part1 < 0x200000 ? 7 : 8;
  return part2 < 0x80 ? 9 : 10;
}

/** Checks that `v` fits a protobuf int32 field. */
export function checkInt32(v: number, field: string): number {
  if ((v | 0) !== v) throw new ApiError(ApiErrorCode.InvalidValue, `${field}: ${v} is not an int32`);
  return v;
}

/** Checks that `v` fits a protobuf uint32 field. */
export function checkUint32(v: number, field: string): number {
  if (v >>> 0 !== v) throw new ApiError(ApiErrorCode.InvalidValue, `${field}: ${v} is not a uint32`);
  return v;
}

/** Number of bytes of `v` (an int32) as a varint: negative values take 10 bytes. */
export function int32Size(v: number): number {
  return v < 0 ? 10 : varint32Size(v);
}

/** Writes `v` (an int32) as a varint, sign-extended to 64 bits when negative. */
export function writeInt32(buf: Uint8Array, pos: number, v: number): number {
  return v < 0 ? writeVarint64(buf, pos, v >>> 0, 0xffffffff) : writeVarint32(buf, pos, v);
}

/** UTF-8 byte length of `s` (lone surrogates count 3 bytes, as U+FFFD). */
export function utf8Length(s: string): number {
  const n = s.length;
  if (n > 64) return Buffer.byteLength(s, "utf8");
  let len = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) len += 1;
    else if (c < 0x800) len += 2;
    else if ((c & 0xfc00) === 0xd800 && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      i++;
      len += 4;
    } else len += 3;
  }
  return len;
}

/** Size of a length-delimited string field's value (prefix + UTF-8 bytes). */
export function stringSize(s: string): number {
  const n = utf8Length(s);
  return varint32Size(n) + n;
}

/** Writes a string with its length prefix; returns the new position. */
export function writeString(buf: Buffer, pos: number, s: string): number {
  const n = s.length;
  if (n < 43) {
    // At most 42 UTF-16 units encode to at most 126 bytes: the prefix is one byte.
    let p = pos + 1;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[p++] = c;
    }
    if (i < n) p = pos + 1 + (buf as unknown as Utf8Writer).utf8Write(s, pos + 1);
    buf[pos] = p - pos - 1;
    return p;
  }
  const len = Buffer.byteLength(s, "utf8");
  pos = writeVarint32(buf, pos, len);
  return pos + (buf as unknown as Utf8Writer).utf8Write(s, pos);
}

/** Size of a length-delimited bytes field's value (prefix + bytes). */
export function bytesSize(b: Uint8Array): number {
  const n = b.byteLength;
  return varint32Size(n) + n;
}

/** Writes bytes with their length prefix; returns the new position. */
export function writeBytes(buf: Uint8Array, pos: number, b: Uint8Array): number {
  const n = b.byteLength;
  pos = writeVarint32(buf, pos, n);
  if (n < 32) for (let i = 0; i < n; i++) buf[pos + i] = b[i]!;
  else buf.set(b, pos);
  return pos + n;
}

/**
 * Scratch list of nested-message sizes: the size pass pushes them in pre-order and the
 * write pass consumes them in the same order, so no nested size is computed twice.
 * Encoding is synchronous and not re-entrant, so one module-level list is enough.
 * @internal
 */
export const sizeCache: { sizes: number[]; next: number } = { sizes: [], next: 0 };

/** Fails loudly when a write pass ends anywhere but where the size pass said (a codegen bug). */
export function assertEnd(actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`protobuf encoder wrote ${actual} bytes, expected ${expected}`);
}
