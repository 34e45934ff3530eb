/**
 * Byte-level parser for the client side of the NATS protocol (what a client sends to a server).
 * Pure and synchronous: it consumes Buffers and pushes events into a {@link ParserSink}. Control lines
 * are located with `Buffer.indexOf` (native memchr) and their fields scanned byte by byte; payloads are
 * never converted to strings and, when a payload lies inside one input chunk, it is handed over as a
 * zero-copy `subarray` of that chunk.
 */

/** Why the parser stopped; the server answers with the matching `-ERR` and closes the connection. */
export const ParseErrorKind = {
  UnknownOp: "unknown_op",
  BadArgs: "bad_args",
  MaxControlLine: "max_control_line",
  MaxPayload: "max_payload",
  HeadersNotEnabled: "headers_not_enabled",
} as const;
/** See {@link ParseErrorKind}. */
export type ParseErrorKind = (typeof ParseErrorKind)[keyof typeof ParseErrorKind];

/** Receives the parsed protocol operations, in order. */
export interface ParserSink {
  onConnect(json: string): void;
  /** PUB (hdrLen = -1) or HPUB (hdrLen = header bytes at the start of `payload`). */
  onPub(subject: string, reply: string | undefined, hdrLen: number, payload: Buffer): void;
  onSub(subject: string, queue: string | undefined, sid: string): void;
  /** `max` is -1 without a limit; an unparsable limit is 0 (nats-server drops the subscription). */
  onUnsub(sid: string, max: number): void;
  onPing(): void;
  onPong(): void;
  /** The peer sent `-ERR`; nats-server closes such a client. */
  onErr(message: string): void;
  onParseError(kind: ParseErrorKind, detail: string): void;
}

/** Limits the parser enforces. */
export interface ParserLimits {
  maxPayload: number;
  maxControlLine: number;
}

const CR = 13;
const LF = 10;
const SP = 32;
const TAB = 9;

const OPS = ["pub", "hpub", "sub", "unsub", "ping", "pong", "connect", "info", "+ok", "-err"];

const isSpace = (c: number): boolean => c === SP || c === TAB;
/** Lower-cases ASCII letters only. */
const lower = (c: number): number => (c >= 65 && c <= 90 ? c | 0x20 : c);

/** Parses a decimal size; -1 when empty or not all digits or too large. */
function parseSize(buf: Buffer, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i] as number;
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

/** True when `buf[start,end)` lower-cased starts with the ASCII `word`. */
function opIs(buf: Buffer, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let k = 0; k < word.length; k++) {
    if (lower(buf[start + k] as number) !== word.charCodeAt(k)) return false;
  }
  return true;
}

function startsWithOp(buf: Buffer, start: number, end: number, word: string): boolean {
  if (end - start < word.length) return false;
  for (let k = 0; k < word.length; k++)
    if (lower(buf[start + k] as number) !== word.charCodeAt(k)) return false;
  return true;
}

const PREFIX_OPS = ["ping", "pong", "+ok", "-err"];

/** True when the bytes `buf[start,start+len)` equal the first `len` chars of `word` (case-insensitive). */
function prefixEq(buf: Buffer, start: number, len: number, word: string): boolean {
  if (len > word.length) return false;
  for (let k = 0; k < len; k++) if (lower(buf[start + k] as number) !== word.charCodeAt(k)) return false;
  return true;
}

/**
 * True when `buf[start,end)` (a control line, possibly unterminated) starts with a known operation,
 * or with the beginning of one when no separator was seen yet.
 */
function isOpPrefix(buf: Buffer, start: number, end: number): boolean {
  let opEnd = start;
  while (opEnd < end && !isSpace(buf[opEnd] as number) && buf[opEnd] !== CR) opEnd++;
  const len = opEnd - start;
  for (const op of PREFIX_OPS) {
    if (prefixEq(buf, start, Math.min(len, op.length), op)) return true;
  }
  const complete = opEnd < end;
  for (const op of OPS) {
    if (complete ? len === op.length && prefixEq(buf, start, len, op) : prefixEq(buf, start, len, op))
      return true;
  }
  return false;
}

/**
 * Incremental NATS client-protocol parser. Feed it socket chunks in order; after a parse error it
 * ignores further input (the connection is being closed).
 */
export class ProtocolParser {
  /** Whether HPUB is accepted (set after a CONNECT with `headers: true`). */
  headers = false;
  private readonly sink: ParserSink;
  private readonly limits: ParserLimits;
  private dead = false;
  /** Unterminated control-line bytes from a previous chunk. */
  private partial: Buffer | undefined;
  // Payload state.
  private inPayload = false;
  private need = 0;
  private acc: Buffer | undefined;
  private accPos = 0;
  private subject = "";
  private reply: string | undefined;
  private hdrLen = -1;
  private readonly fields = new Int32Array(12);
  /** Bytes and string of the last PUB subject: publishers tend to repeat subjects, so decode once. */
  private readonly lastSubjectBytes = Buffer.alloc(256);
  private lastSubjectLen = -1;
  private lastSubject = "";

  constructor(sink: ParserSink, limits: ParserLimits) {
    this.sink = sink;
    this.limits = limits;
  }

  /** Stops parsing for good (the connection is closing): remaining and later input is ignored. */
  stop(): void {
    this.dead = true;
    this.partial = undefined;
    this.acc = undefined;
  }

  /** True once a parse error happened or {@link stop} was called. */
  get failed(): boolean {
    return this.dead;
  }

  /** Consumes one chunk of bytes. Never throws for malformed input: errors go to the sink. */
  feed(chunk: Buffer): void {
    if (this.dead) return;
    const partial = this.partial;
    if (partial !== undefined) {
      // Complete the split control line with as few bytes as possible instead of copying the chunk.
      this.partial = undefined;
      const nl = chunk.indexOf(LF);
      if (nl === -1) {
        this.scan(Buffer.concat([partial, chunk]));
        return;
      }
      this.scan(Buffer.concat([partial, chunk.subarray(0, nl + 1)]));
      if (!this.dead) this.scan(chunk.subarray(nl + 1));
      return;
    }
    this.scan(chunk);
  }

  private scan(buf: Buffer): void {
    let i = 0;
    const n = buf.length;
    while (i < n) {
      if (this.inPayload) {
        i = this.readPayload(buf, i);
        if (this.dead) return;
        continue;
      }
      const nl = buf.indexOf(LF, i);
      if (nl === -1) {
        this.stashPartial(buf, i);
        return;
      }
      let end = nl;
      if (end > i && buf[end - 1] === CR) end--;
      this.processLine(buf, i, end);
      if (this.dead) return;
      i = nl + 1;
    }
  }

  private fail(kind: ParseErrorKind, detail: string): void {
    this.dead = true;
    this.partial = undefined;
    this.acc = undefined;
    this.sink.onParseError(kind, detail);
  }

  private stashPartial(buf: Buffer, i: number): void {
    if (!isOpPrefix(buf, i, buf.length)) {
      this.fail(ParseErrorKind.UnknownOp, "unknown operation");
      return;
    }
    // Allow the op name plus a separator on top of the argument limit.
    if (buf.length - i > this.limits.maxControlLine + 10) {
      this.fail(ParseErrorKind.MaxControlLine, "control line too long");
      return;
    }
    this.partial = Buffer.from(buf.subarray(i));
  }

  private readPayload(buf: Buffer, i: number): number {
    const avail = buf.length - i;
    if (this.acc === undefined) {
      if (avail >= this.need) {
        const size = this.need - 2;
        if (buf[i + size] !== CR || buf[i + size + 1] !== LF) {
          this.fail(ParseErrorKind.UnknownOp, "payload not terminated by CRLF");
          return buf.length;
        }
        this.inPayload = false;
        this.sink.onPub(this.subject, this.reply, this.hdrLen, buf.subarray(i, i + size));
        return i + this.need;
      }
      this.acc = Buffer.allocUnsafe(this.need);
      this.accPos = 0;
    }
    const take = Math.min(avail, this.need - this.accPos);
    buf.copy(this.acc, this.accPos, i, i + take);
    this.accPos += take;
    if (this.accPos === this.need) {
      const acc = this.acc;
      const size = this.need - 2;
      this.acc = undefined;
      if (acc[size] !== CR || acc[size + 1] !== LF) {
        this.fail(ParseErrorKind.UnknownOp, "payload not terminated by CRLF");
        return buf.length;
      }
      this.inPayload = false;
      this.sink.onPub(this.subject, this.reply, this.hdrLen, acc.subarray(0, size));
    }
    return i + take;
  }

  /** Splits `buf[start,end)` on spaces/tabs into `fields` (pairs of offsets); returns the count. */
  private split(buf: Buffer, start: number, end: number, max: number): number {
    const f = this.fields;
    let count = 0;
    let i = start;
    while (i < end) {
      while (i < end && isSpace(buf[i] as number)) i++;
      if (i >= end) break;
      const s = i;
      while (i < end && !isSpace(buf[i] as number)) i++;
      if (count === max) return max + 1;
      f[count * 2] = s;
      f[count * 2 + 1] = i;
      count++;
    }
    return count;
  }

  private str(buf: Buffer, k: number): string {
    return buf.toString("utf8", this.fields[k * 2], this.fields[k * 2 + 1]);
  }

  private processLine(buf: Buffer, start: number, end: number): void {
    let opEnd = start;
    while (opEnd < end && !isSpace(buf[opEnd] as number)) opEnd++;
    const c0 = lower(buf[start] as number);
    if (end - opEnd > this.limits.maxControlLine) {
      if (isOpPrefix(buf, start, Math.min(opEnd + 1, end))) {
        this.fail(ParseErrorKind.MaxControlLine, "control line too long");
      } else {
        this.fail(ParseErrorKind.UnknownOp, "unknown operation");
      }
      return;
    }
    switch (c0) {
      case 112: // p
        if (opIs(buf, start, opEnd, "pub")) {
          this.pub(buf, opEnd, end, false);
          return;
        }
        if (startsWithOp(buf, start, end, "ping")) {
          this.sink.onPing();
          return;
        }
        if (startsWithOp(buf, start, end, "pong")) {
          this.sink.onPong();
          return;
        }
        break;
      case 104: // h
        if (opIs(buf, start, opEnd, "hpub")) {
          this.pub(buf, opEnd, end, true);
          return;
        }
        break;
      case 115: // s
        if (opIs(buf, start, opEnd, "sub")) {
          this.sub(buf, opEnd, end);
          return;
        }
        break;
      case 117: // u
        if (opIs(buf, start, opEnd, "unsub")) {
          this.unsub(buf, opEnd, end);
          return;
        }
        break;
      case 99: // c
        if (opIs(buf, start, opEnd, "connect")) {
          let s = opEnd;
          while (s < end && isSpace(buf[s] as number)) s++;
          this.sink.onConnect(buf.toString("utf8", s, end));
          return;
        }
        break;
      case 105: // i
        if (opIs(buf, start, opEnd, "info")) return;
        break;
      case 43: // +
        if (startsWithOp(buf, start, end, "+ok")) return;
        break;
      case 45: // -
        if (startsWithOp(buf, start, end, "-err")) {
          this.sink.onErr(buf.toString("utf8", Math.min(start + 4, end), end).trim());
          return;
        }
        break;
    }
    this.fail(ParseErrorKind.UnknownOp, "unknown operation");
  }

  private pub(buf: Buffer, s: number, e: number, hpub: boolean): void {
    if (hpub && !this.headers) {
      this.fail(ParseErrorKind.HeadersNotEnabled, "HPUB without headers in CONNECT");
      return;
    }
    const n = this.split(buf, s, e, hpub ? 4 : 3);
    const min = hpub ? 3 : 2;
    if (n < min || n > min + 1) {
      this.fail(ParseErrorKind.BadArgs, "wrong number of arguments");
      return;
    }
    const f = this.fields;
    const last = n - 1;
    const size = parseSize(buf, f[last * 2] as number, f[last * 2 + 1] as number);
    let hdr = -1;
    if (hpub) {
      hdr = parseSize(buf, f[(last - 1) * 2] as number, f[(last - 1) * 2 + 1] as number);
      if (hdr < 0 || hdr > size) {
        this.fail(ParseErrorKind.BadArgs, "bad header size");
        return;
      }
    }
    if (size < 0) {
      this.fail(ParseErrorKind.BadArgs, "bad size");
      return;
    }
    if (size > this.limits.maxPayload) {
      this.fail(ParseErrorKind.MaxPayload, "payload too large");
      return;
    }
    this.subject = this.subjectString(buf, f[0] as number, f[1] as number);
    this.reply = n === min + 1 ? this.str(buf, 1) : undefined;
    this.hdrLen = hdr;
    this.need = size + 2;
    this.inPayload = true;
  }

  private subjectString(buf: Buffer, s: number, e: number): string {
    const len = e - s;
    const last = this.lastSubjectBytes;
    if (len === this.lastSubjectLen) {
      let i = 0;
      while (i < len && buf[s + i] === last[i]) i++;
      if (i === len) return this.lastSubject;
    }
    const str = buf.toString("utf8", s, e);
    if (len <= last.length) {
      buf.copy(last, 0, s, e);
      this.lastSubjectLen = len;
      this.lastSubject = str;
    }
    return str;
  }

  private sub(buf: Buffer, s: number, e: number): void {
    const n = this.split(buf, s, e, 3);
    if (n === 2) {
      this.sink.onSub(this.str(buf, 0), undefined, this.str(buf, 1));
      return;
    }
    if (n === 3) {
      this.sink.onSub(this.str(buf, 0), this.str(buf, 1), this.str(buf, 2));
      return;
    }
    this.fail(ParseErrorKind.BadArgs, "wrong number of arguments");
  }

  private unsub(buf: Buffer, s: number, e: number): void {
    const n = this.split(buf, s, e, 2);
    if (n === 1) {
      this.sink.onUnsub(this.str(buf, 0), -1);
      return;
    }
    if (n === 2) {
      const max = parseSize(buf, this.fields[2] as number, this.fields[3] as number);
      this.sink.onUnsub(this.str(buf, 0), Math.max(max, 0));
      return;
    }
    this.fail(ParseErrorKind.BadArgs, "wrong number of arguments");
  }
}
