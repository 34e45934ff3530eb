import { RaftError, RaftErrorCode } from "../errors.js";
import type { ConfState, Entry, EntryKind, Message, MsgType, SnapshotChunk, SnapshotMeta } from "./types.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

const MSG_TYPES: readonly MsgType[] = [
  "pre_vote",
  "pre_vote_resp",
  "vote",
  "vote_resp",
  "app",
  "app_resp",
  "heartbeat",
  "heartbeat_resp",
  "snap",
  "timeout_now",
  "read_index",
  "read_index_resp",
];
const KINDS: readonly EntryKind[] = ["normal", "conf", "noop"];

class Writer {
  buf = new Uint8Array(256);
  view = new DataView(this.buf.buffer);
  pos = 0;
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  num(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }
  bytes(b: Uint8Array): void {
    this.num(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  str(s: string): void {
    this.bytes(enc.encode(s));
  }
  strs(a: readonly string[]): void {
    this.num(a.length);
    for (const s of a) this.str(s);
  }
}

class Reader {
  readonly view: DataView;
  readonly buf: Uint8Array;
  pos = 0;
  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new RaftError(RaftErrorCode.Corrupt, "truncated message");
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  num(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    if (!Number.isSafeInteger(v) && v !== -1) throw new RaftError(RaftErrorCode.Corrupt, "bad number");
    return v;
  }
  bytes(): Uint8Array {
    const n = this.num();
    if (n < 0) throw new RaftError(RaftErrorCode.Corrupt, "bad length");
    this.need(n);
    const b = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  str(): string {
    return dec.decode(this.bytes());
  }
  strs(): string[] {
    const n = this.num();
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.str());
    return out;
  }
}

function writeConf(w: Writer, c: ConfState): void {
  w.strs(c.voters);
  w.strs(c.votersOutgoing);
  w.strs(c.learners);
  w.strs(c.learnersNext);
  w.u8(c.autoLeave ? 1 : 0);
}

function readConf(r: Reader): ConfState {
  return {
    voters: r.strs(),
    votersOutgoing: r.strs(),
    learners: r.strs(),
    learnersNext: r.strs(),
    autoLeave: r.u8() === 1,
  };
}

/** Encodes entries (used by the message codec and file storage). */
export function writeEntry(
  w: { num(v: number): void; u8(v: number): void; bytes(b: Uint8Array): void },
  e: Entry,
): void {
  w.num(e.index);
  w.num(e.term);
  w.u8(KINDS.indexOf(e.kind));
  w.bytes(e.data);
}

function readEntry(r: Reader): Entry {
  const index = r.num();
  const term = r.num();
  const kind = KINDS[r.u8()];
  if (kind === undefined) throw new RaftError(RaftErrorCode.Corrupt, "bad entry kind");
  return { index, term, kind, data: r.bytes() };
}

/** Encodes a snapshot meta. */
export function encodeSnapshotMeta(m: SnapshotMeta): Uint8Array {
  const w = new Writer();
  w.num(m.index);
  w.num(m.term);
  writeConf(w, m.conf);
  return w.buf.slice(0, w.pos);
}

/** Decodes a snapshot meta; throws `corrupt`. */
export function decodeSnapshotMeta(b: Uint8Array): SnapshotMeta {
  const r = new Reader(b);
  return { index: r.num(), term: r.num(), conf: readConf(r) };
}

/** Encodes a list of entries. */
export function encodeEntries(ents: readonly Entry[]): Uint8Array {
  const w = new Writer();
  w.num(ents.length);
  for (const e of ents) writeEntry(w, e);
  return w.buf.slice(0, w.pos);
}

/** Decodes a list of entries; throws `corrupt`. */
export function decodeEntries(b: Uint8Array): Entry[] {
  const r = new Reader(b);
  const n = r.num();
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) out.push(readEntry(r));
  return out;
}

/** Encodes a message to bytes (a self-contained binary frame body). */
export function encodeMessage(m: Message): Uint8Array {
  const w = new Writer();
  w.u8(1); // version
  w.u8(MSG_TYPES.indexOf(m.type));
  w.str(m.from);
  w.str(m.to);
  w.num(m.term);
  w.num(m.logTerm);
  w.num(m.index);
  w.num(m.commit);
  w.u8((m.reject ? 1 : 0) | (m.transfer ? 2 : 0) | (m.snapshot ? 4 : 0));
  w.num(m.hintIndex);
  w.num(m.hintTerm);
  w.str(m.context);
  w.num(m.seq);
  w.num(m.entries.length);
  for (const e of m.entries) writeEntry(w, e);
  if (m.snapshot) {
    w.num(m.snapshot.meta.index);
    w.num(m.snapshot.meta.term);
    writeConf(w, m.snapshot.meta.conf);
    w.num(m.snapshot.offset);
    w.num(m.snapshot.total);
    w.bytes(m.snapshot.data);
  }
  return w.buf.slice(0, w.pos);
}

/** Decodes a message; throws `corrupt` on malformed input (never anything else). */
export function decodeMessage(b: Uint8Array): Message {
  try {
    const r = new Reader(b);
    if (r.u8() !== 1) throw new RaftError(RaftErrorCode.Corrupt, "unknown message version");
    const type = MSG_TYPES[r.u8()];
    if (type === undefined) throw new RaftError(RaftErrorCode.Corrupt, "unknown message type");
    const from = r.str();
    const to = r.str();
    const term = r.num();
    const logTerm = r.num();
    const index = r.num();
    const commit = r.num();
    const flags = r.u8();
    const hintIndex = r.num();
    const hintTerm = r.num();
    const context = r.str();
    const seq = r.num();
    const n = r.num();
    const entries: Entry[] = [];
    for (let i = 0; i < n; i++) entries.push(readEntry(r));
    let snapshot: SnapshotChunk | null = null;
    if (flags & 4) {
      const meta: SnapshotMeta = { index: r.num(), term: r.num(), conf: readConf(r) };
      snapshot = { meta, offset: r.num(), total: r.num(), data: r.bytes() };
    }
    if (r.pos !== b.length) throw new RaftError(RaftErrorCode.Corrupt, "trailing bytes");
    return {
      type,
      from,
      to,
      term,
      logTerm,
      index,
      commit,
      reject: (flags & 1) !== 0,
      transfer: (flags & 2) !== 0,
      hintIndex,
      hintTerm,
      context,
      seq,
      entries,
      snapshot,
    };
  } catch (err) {
    if (err instanceof RaftError) throw err;
    throw new RaftError(RaftErrorCode.Corrupt, "malformed message", { cause: err });
  }
}
