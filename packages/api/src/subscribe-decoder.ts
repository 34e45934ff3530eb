import { type Message as ApiMessage, Message as MessageCodec } from "./gen/api.js";

/**
 * The Subscribe response decoder (`APIService.Subscribe`'s `responseDeserialize`): the same result as
 * `Message.decode` (which it falls back to for anything unusual), tuned for the subscribe hot path,
 * where a reader's CPU is the limit (a grpc-js reader spent a fifth of its time decoding): one pass
 * over the fields without a reader object; short ASCII strings (stream, subject, header keys) interned.
 * Byte fields are views into `bytes`, as with the generated decoder.
 *
 * `headers` is a plain `Map`, filled at once. (A lazily filled `Map` subclass saved ~70 ns a message,
 * but looked empty to `console.log` and lost its entries in `structuredClone` / `postMessage`, which
 * read a map's internal slots, not its methods.)
 */
export function decodeSubscribeMessage(bytes: Buffer): ApiMessage {
  return decodeFast(bytes, 0, bytes.length) ?? MessageCodec.decode(bytes);
}

/**
 * {@link decodeSubscribeMessage} of `buf[start..end)` without a `subarray` (`@liftbridge/grpc`'s
 * `responseDeserializeRange` fast path).
 */
export function decodeSubscribeMessageRange(buf: Buffer, start: number, end: number): ApiMessage {
  return decodeFast(buf, start, end) ?? MessageCodec.decode(buf.subarray(start, end));
}

const EMPTY: Uint8Array = new Uint8Array(0);
const SCRATCH_I64 = new BigInt64Array(1);
const SCRATCH_U32 = new Uint32Array(SCRATCH_I64.buffer);
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LE ? 0 : 1;
const HI = LE ? 1 : 0;
const TWO_32 = 4294967296;

/** Positions of the last varint read by {@link varint}: low and high 32 bits, and the position after. */
let vLo = 0;
let vHi = 0;
let vPos = 0;

/** Reads a varint at `pos` into vLo/vHi/vPos; false when truncated or longer than 10 bytes. */
function varint(b: Buffer, pos: number, end: number): boolean {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) return false;
    const x = b[pos++]!;
    if (i < 4) lo |= (x & 0x7f) << (7 * i);
    else if (i === 4) {
      lo |= (x & 0x7f) << 28;
      hi |= (x & 0x7f) >>> 4;
    } else hi |= (x & 0x7f) << (7 * i - 32);
    if (x < 0x80) {
      vLo = lo >>> 0;
      vHi = hi >>> 0;
      vPos = pos;
      return true;
    }
  }
  return false;
}

/** Reads a length prefix at `pos`; returns the end of the field, or -1 when malformed. */
function delimited(b: Buffer, pos: number, end: number): number {
  if (!varint(b, pos, end) || vHi !== 0) return -1;
  const e = vPos + vLo;
  return e > end ? -1 : e;
}

const INTERN_SLOTS = 256;
const MAX_INTERNED = 64;
const interned: Array<string | undefined> = new Array<string | undefined>(INTERN_SLOTS).fill(undefined);

/** A string field: short ASCII ones interned (they repeat from message to message), else UTF-8. */
function str(b: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n === 0) return "";
  if (n > MAX_INTERNED) return b.toString("utf8", start, end);
  const slot = (n * 7 + b[start]! * 31 + b[end - 1]! * 17 + b[start + (n >> 1)]!) & (INTERN_SLOTS - 1);
  const cached = interned[slot];
  if (cached !== undefined && cached.length === n) {
    let i = 0;
    while (i < n && cached.charCodeAt(i) === b[start + i]) i++;
    if (i === n) return cached;
  }
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (b[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (!ascii) return b.toString("utf8", start, end);
  const s = b.toString("latin1", start, end);
  interned[slot] = s;
  return s;
}

function view(b: Buffer, start: number, end: number): Uint8Array {
  return start === end ? EMPTY : new Uint8Array(b.buffer, b.byteOffset + start, end - start);
}

let lastTsLo = -1;
let lastTsHi = -1;
let lastTs = 0n;

/** Decodes the fields Liftbridge servers send; undefined for anything else (the full decoder then runs). */
function decodeFast(b: Buffer, start: number, end: number): ApiMessage | undefined {
  let pos = start;
  let offset = 0;
  let key = EMPTY;
  let value = EMPTY;
  let timestamp = 0n;
  let stream = "";
  let partition = 0;
  let subject = "";
  let replySubject = "";
  let hStart = -1;
  let hEnd = -1;
  let ackInbox = "";
  let correlationId = "";
  let ackPolicy = 0;
  while (pos < end) {
    const tagAt = pos;
    const tag = b[pos++]!;
    if (tag >= 0x80) return undefined;
    switch (tag) {
      case 0x08: // offset, int64
        if (!varint(b, pos, end)) return undefined;
        if (vHi > 0x1fffff) return undefined; // negative or beyond 2^53: the full decoder decides
        offset = vHi * TWO_32 + vLo;
        pos = vPos;
        break;
      case 0x20: // timestamp, int64 -> bigint
        if (!varint(b, pos, end)) return undefined;
        pos = vPos;
        if (vLo !== lastTsLo || vHi !== lastTsHi) {
          SCRATCH_U32[LO] = vLo;
          SCRATCH_U32[HI] = vHi;
          lastTs = SCRATCH_I64[0]!;
          lastTsLo = vLo;
          lastTsHi = vHi;
        }
        timestamp = lastTs;
        break;
      case 0x30: // partition, int32
        if (!varint(b, pos, end)) return undefined;
        partition = vLo | 0;
        pos = vPos;
        break;
      case 0x60: // ackPolicy, enum
        if (!varint(b, pos, end)) return undefined;
        ackPolicy = vLo | 0;
        pos = vPos;
        break;
      case 0x12:
      case 0x1a:
      case 0x2a:
      case 0x3a:
      case 0x42:
      case 0x4a:
      case 0x52:
      case 0x5a: {
        const e = delimited(b, pos, end);
        if (e < 0) return undefined;
        const s = vPos;
        pos = e;
        if (tag === 0x1a) value = view(b, s, e);
        else if (tag === 0x4a) {
          if (!validEntry(b, s, e)) return undefined;
          if (hStart < 0) hStart = tagAt;
          hEnd = e;
        } else if (tag === 0x2a) stream = str(b, s, e);
        else if (tag === 0x3a) subject = str(b, s, e);
        else if (tag === 0x12) key = view(b, s, e);
        else if (tag === 0x42) replySubject = str(b, s, e);
        else if (tag === 0x52) ackInbox = str(b, s, e);
        else correlationId = str(b, s, e);
        break;
      }
      default:
        return undefined;
    }
  }
  const headers = new Map<string, Uint8Array>();
  if (hStart >= 0) parseHeaders(b, hStart, hEnd, headers);
  return {
    offset,
    key,
    value,
    timestamp,
    stream,
    partition,
    subject,
    replySubject,
    headers,
    ackInbox,
    correlationId,
    ackPolicy: ackPolicy as ApiMessage["ackPolicy"],
  };
}

/** Whether a map entry `[s, e)` holds only a string key (1) and a bytes value (2). */
function validEntry(b: Buffer, s: number, e: number): boolean {
  let p = s;
  while (p < e) {
    const t = b[p++]!;
    if (t !== 0x0a && t !== 0x12) return false;
    const fe = delimited(b, p, e);
    if (fe < 0) return false;
    p = fe;
  }
  return true;
}

/**
 * Adds each header entry among the fields `[start, end)` to `target` (validated by {@link decodeFast}:
 * entries are well formed, other fields are varints or length-delimited).
 */
function parseHeaders(b: Buffer, start: number, end: number, target: Map<string, Uint8Array>): void {
  let pos = start;
  while (pos < end) {
    const tag = b[pos++]!;
    if ((tag & 7) === 0) {
      varint(b, pos, end);
      pos = vPos;
      continue;
    }
    const e = delimited(b, pos, end);
    const s = vPos;
    pos = e;
    if (tag !== 0x4a) continue;
    let key = "";
    let value = EMPTY;
    let p = s;
    while (p < e) {
      const t = b[p++]!;
      const fe = delimited(b, p, e);
      if (t === 0x0a) key = str(b, vPos, fe);
      else value = view(b, vPos, fe);
      p = fe;
    }
    target.set(key, value);
  }
}
