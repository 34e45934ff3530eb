/**
 * Per-connection outbound buffer. Everything queued for a client during one event-loop turn is
 * written into large chunks (control lines and small payloads are copied, large payloads are kept as
 * zero-copy references), then handed to the socket in one corked batch (one writev). Chunks come from
 * a {@link ChunkPool} and go back to it once the socket has written every slice cut from them, so a
 * busy connection does not allocate (and the GC does not track) a fresh 64 KiB buffer per turn.
 */

/** Payloads at least this big are forwarded by reference instead of copied. */
export const ZERO_COPY_THRESHOLD = 16 * 1024;
/** Size of one pooled outbound chunk. */
export const CHUNK_BYTES = 64 * 1024;

/** Free list of CHUNK_BYTES buffers shared by the connections of one server. */
export class ChunkPool {
  private readonly free: Buffer[] = [];
  private readonly max: number;
  constructor(max = 64) {
    this.max = max;
  }
  get(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
  }
  put(b: Buffer): void {
    if (this.free.length < this.max) this.free.push(b);
  }
}

/** A pooled buffer and the number of its slices not yet written by the socket. */
interface Chunk {
  readonly buf: Buffer;
  refs: number;
  retired: boolean;
}

/** A slice queued for the socket, with the chunk it was cut from (undefined for zero-copy payloads). */
export interface Slice {
  readonly data: Buffer;
  readonly chunk: Chunk | undefined;
}

export class Outbound {
  /** Bytes queued and not yet handed to the socket. */
  bytes = 0;
  private slices: Slice[] = [];
  private chunk: Chunk | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private pos = 0;
  private readonly pool: ChunkPool;

  constructor(pool: ChunkPool) {
    this.pool = pool;
  }

  private ensure(n: number): void {
    if (this.buf.length - this.pos >= n) return;
    this.seal();
    this.retire();
    if (n <= CHUNK_BYTES) {
      const c: Chunk = { buf: this.pool.get(), refs: 0, retired: false };
      this.chunk = c;
      this.buf = c.buf;
    } else {
      this.chunk = undefined;
      this.buf = Buffer.allocUnsafe(n);
    }
    this.start = 0;
    this.pos = 0;
  }

  private retire(): void {
    const c = this.chunk;
    if (c === undefined) return;
    c.retired = true;
    if (c.refs === 0) this.pool.put(c.buf);
    this.chunk = undefined;
  }

  private seal(): void {
    if (this.pos > this.start) {
      const c = this.chunk;
      if (c !== undefined) c.refs++;
      this.slices.push({ data: this.buf.subarray(this.start, this.pos), chunk: c });
      this.start = this.pos;
    }
  }

  /** Queues a control line (ASCII, or UTF-8 subjects). */
  writeString(s: string): void {
    this.ensure(s.length * 3);
    const n = this.buf.write(s, this.pos, "utf8");
    this.pos += n;
    this.bytes += n;
  }

  /** Queues bytes; large ones by reference (the caller must not modify them afterwards). */
  writeBytes(b: Uint8Array): void {
    const n = b.length;
    if (n >= ZERO_COPY_THRESHOLD) {
      this.seal();
      this.slices.push({ data: b as Buffer, chunk: undefined });
    } else if (n > 0) {
      this.ensure(n);
      this.buf.set(b, this.pos);
      this.pos += n;
    }
    this.bytes += n;
  }

  /** Queues `prefix` (pre-encoded `MSG subject sid `), an optional ` reply`, then the rest of a message. */
  writeMessage(
    prefix: Buffer,
    reply: string | undefined,
    hdr: Uint8Array | undefined,
    body: Uint8Array,
  ): void {
    const hlen = hdr === undefined ? -1 : hdr.length;
    const total = (hdr === undefined ? 0 : hdr.length) + body.length;
    this.ensure(prefix.length + (reply === undefined ? 0 : reply.length * 3 + 1) + 40);
    const buf = this.buf;
    let p = this.pos;
    p += prefix.copy(buf, p);
    if (reply !== undefined) {
      p += buf.write(reply, p, "utf8");
      buf[p++] = 32;
    }
    if (hlen >= 0) {
      p = writeUint(buf, p, hlen);
      buf[p++] = 32;
    }
    p = writeUint(buf, p, total);
    buf[p++] = 13;
    buf[p++] = 10;
    this.bytes += p - this.pos;
    this.pos = p;
    if (hdr !== undefined) this.writeBytes(hdr);
    this.writeBytes(body);
    this.ensure(2);
    this.buf[this.pos++] = 13;
    this.buf[this.pos++] = 10;
    this.bytes += 2;
  }

  /** Returns the queued slices and resets the byte count; an empty array when nothing is queued. */
  take(): Slice[] {
    this.seal();
    const out = this.slices;
    this.slices = [];
    this.bytes = 0;
    return out;
  }

  /** Called once the socket wrote (or dropped) a slice: its chunk may go back to the pool. */
  release(s: Slice): void {
    const c = s.chunk;
    if (c !== undefined && --c.refs === 0 && c.retired) this.pool.put(c.buf);
  }
}

/** Writes a non-negative integer in decimal at `p`; returns the new position. */
function writeUint(buf: Buffer, p: number, n: number): number {
  if (n < 10) {
    buf[p] = 48 + n;
    return p + 1;
  }
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  let q = p + digits - 1;
  let x = n;
  while (x >= 10) {
    const d = Math.floor(x / 10);
    buf[q--] = 48 + (x - d * 10);
    x = d;
  }
  buf[q] = 48 + x;
  return p + digits;
}
