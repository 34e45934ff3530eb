import { ApiError, ApiErrorCode } from "../errors.js";

/** Node's fast UTF-8 slice, present on every Buffer but missing from the typings. */
interface Utf8Slicer {
  utf8Slice(start: number, end: number): string;
}

const malformed = (what: string): ApiError => new ApiError(ApiErrorCode.Malformed, what);

/** Slots of the direct-mapped cache of recently decoded short ASCII strings (a power of two). */
const INTERN_SLOTS = 512;
/** Strings longer than this are not cached. */
const MAX_INTERNED = 32;
const interned: Array<string | undefined> = new Array<string | undefined>(INTERN_SLOTS).fill(undefined);

/**
 * Decodes a short all-ASCII byte range in JS, 8 characters per `String.fromCharCode` call:
 * several times faster than a native UTF-8 slice for the short names, subjects and ids that
 * fill Liftbridge messages. Returns undefined when a byte is not ASCII.
 *
 * Such strings repeat from message to message (stream names, subjects, header keys), so they are
 * interned in a small direct-mapped cache keyed by a hash of the bytes: a hit compares the bytes
 * with the cached string and returns it without allocating (strings are immutable, so sharing one
 * is safe). A miss builds the string and replaces the slot.
 */
function asciiString(b: Buffer, start: number, end: number): string | undefined {
  const n = end - start;
  // O(1) hash of the length and three bytes; the full comparison below decides.
  const slot = (n * 7 + b[start]! * 31 + b[end - 1]! * 17 + b[start + (n >> 1)]!) & (INTERN_SLOTS - 1);
  const cached = interned[slot];
  if (cached !== undefined && cached.length === n) {
    let i = 0;
    while (i < n && cached.charCodeAt(i) === b[start + i]) i++;
    // Equal to a cached (all-ASCII) string: the bytes are ASCII too.
    if (i === n) return cached;
  }
  let or = 0;
  for (let i = start; i < end; i++) or |= b[i]!;
  if (or >= 0x80) return undefined;
  const s = buildAscii(b, start, end);
  interned[slot] = s;
  return s;
}

function buildAscii(b: Buffer, start: number, end: number): string {
  let s = "";
  let i = start;
  for (; i + 8 <= end; i += 8) {
    s += String.fromCharCode(
      b[i]!,
      b[i + 1]!,
      b[i + 2]!,
      b[i + 3]!,
      b[i + 4]!,
      b[i + 5]!,
      b[i + 6]!,
      b[i + 7]!,
    );
  }
  switch (end - i) {
    case 0:
      return s;
    case 1:
      return s + String.fromCharCode(b[i]!);
    case 2:
      return s + String.fromCharCode(b[i]!, b[i + 1]!);
    case 3:
      return s + String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!);
    case 4:
      return s + String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!);
    case 5:
      return s + String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!);
    case 6:
      return s + String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!);
    default:
      return s + String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!);
  }
}

/** Deepest nesting of (deprecated, always unknown) groups that {@link Reader.skip} accepts. */
const MAX_GROUP_DEPTH = 64;

/** Shared zero-length value for absent `bytes` fields (never written to). */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/**
 * A protobuf wire-format reader over one input buffer. Every read checks bounds and throws
 * {@link ApiError} `malformed` on truncated or invalid input, never anything else.
 *
 * `bytes()` returns plain `Uint8Array` views into the input (zero copy): a decoded message
 * aliases the bytes it was decoded from.
 * @internal
 */
export class Reader {
  /** The input, as a Buffer view (no copy). */
  readonly buf: Buffer;
  /** Read position. */
  pos: number;
  /** End of the current message (exclusive). */
  end: number;
  /** Low 32 bits (unsigned) of the last {@link Reader.varint64}. */
  lo = 0;
  /** High 32 bits (unsigned) of the last {@link Reader.varint64}. */
  hi = 0;

  /** Reads `bytes[start..]`. */
  constructor(bytes: Uint8Array, start = 0) {
    if (!(bytes instanceof Uint8Array)) throw malformed("input is not a Uint8Array");
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.end = bytes.byteLength;
    if (!(start >= 0 && start <= this.end)) throw malformed(`start ${start} outside the input`);
    this.pos = start;
  }

  /** Reads a varint and returns its low 32 bits as an unsigned number (protobuf uint32, tags). */
  uint32(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    if (pos < end) {
      const b = buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= end) throw malformed("truncated varint");
      const b = buf[pos++]!;
      if (shift < 32) result |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      if (shift === 63) throw malformed("varint longer than 10 bytes");
    }
    this.pos = pos;
    return result >>> 0;
  }

  /** Reads a varint as a protobuf int32 (low 32 bits, two's complement). */
  int32(): number {
    return this.uint32() | 0;
  }

  /** Reads a varint as a protobuf bool (any non-zero value is true). */
  bool(): boolean {
    const buf = this.buf;
    const pos = this.pos;
    if (pos < this.end && buf[pos]! < 0x80) {
      this.pos = pos + 1;
      return buf[pos] !== 0;
    }
    this.varint64();
    return (this.lo | this.hi) !== 0;
  }

  /** Reads a varint of up to 10 bytes into {@link Reader.lo} and {@link Reader.hi}. */
  varint64(): void {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; ; i++) {
      if (pos >= end) throw malformed("truncated varint");
      const b = buf[pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x7f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if (b < 0x80) break;
      if (i === 9) throw malformed("varint longer than 10 bytes");
    }
    this.pos = pos;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** Reads a length prefix and checks that many bytes remain; returns the end position. */
  delimitedEnd(): number {
    const len = this.uint32();
    const end = this.pos + len;
    if (end > this.end) throw malformed("length-delimited field runs past the end");
    return end;
  }

  /** Reads a `bytes` field as a view into the input. */
  bytes(): Uint8Array {
    const end = this.delimitedEnd();
    const start = this.pos;
    this.pos = end;
    if (start === end) return EMPTY_BYTES;
    const buf = this.buf;
    // A plain Uint8Array view (not a Buffer), whatever the input type was.
    return new Uint8Array(buf.buffer, buf.byteOffset + start, end - start);
  }

  /** Reads a `string` field (UTF-8; invalid sequences become U+FFFD). */
  string(): string {
    const end = this.delimitedEnd();
    const start = this.pos;
    this.pos = end;
    if (end - start <= MAX_INTERNED) {
      if (start === end) return "";
      const s = asciiString(this.buf, start, end);
      if (s !== undefined) return s;
    }
    return (this.buf as unknown as Utf8Slicer).utf8Slice(start, end);
  }

  /**
   * Skips the value of a field with the given tag (an unknown field, or a known field with an
   * unexpected wire type, which protobuf treats as unknown). Groups are skipped whole.
   */
  skip(tag: number, depth = 0): void {
    const wireType = tag & 7;
    if (tag >>> 3 === 0) throw malformed("field number 0");
    switch (wireType) {
      case 0:
        this.varint64();
        return;
      case 1:
        this.advance(8);
        return;
      case 2:
        this.pos = this.delimitedEnd();
        return;
      case 3: {
        // Bounded nesting: hostile input must not overflow the stack (a RangeError).
        if (depth >= MAX_GROUP_DEPTH) throw malformed("groups nested too deeply");
        const endTag = (tag & ~7) | 4;
        for (;;) {
          if (this.pos >= this.end) throw malformed("unterminated group");
          const t = this.uint32();
          if (t === endTag) return;
          this.skip(t, depth + 1);
        }
      }
      case 5:
        this.advance(4);
        return;
      default:
        throw malformed(`unexpected wire type ${wireType}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw malformed("fixed-width field runs past the end");
    this.pos += n;
  }
}
