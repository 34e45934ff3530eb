/**
 * Per-connection outbound buffer. Everything queued for a client during one event-loop turn is
 * written into large preallocated chunks (control lines and small payloads are copied, large payloads
 * are kept as zero-copy references), then handed to the socket in one corked batch (one writev).
 */

/** Payloads at least this big are forwarded by reference instead of copied. */
export const ZERO_COPY_THRESHOLD = 16 * 1024;
const CHUNK = 64 * 1024;
const CRLF = Buffer.from("\r\n");

export class Outbound {
  /** Bytes queued and not yet handed to the socket. */
  bytes = 0;
  private chunks: Buffer[] = [];
  private buf: Buffer = Buffer.allocUnsafe(0);
  private start = 0;
  private pos = 0;

  private ensure(n: number): void {
    if (this.buf.length - this.pos >= n) return;
    this.seal();
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK, n));
    this.start = 0;
    this.pos = 0;
  }

  private seal(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.buf.subarray(this.start, this.pos));
      this.start = this.pos;
    }
  }

  /** Queues an ASCII/UTF-8 string (control lines). */
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
      this.chunks.push(b as Buffer);
    } else if (n > 0) {
      this.ensure(n);
      this.buf.set(b, this.pos);
      this.pos += n;
    }
    this.bytes += n;
  }

  /** Queues `header`, then `hdr` and `body` (either may be empty), then CRLF. */
  writeMessage(header: string, hdr: Uint8Array | undefined, body: Uint8Array): void {
    this.writeString(header);
    if (hdr !== undefined) this.writeBytes(hdr);
    this.writeBytes(body);
    this.ensure(2);
    this.buf.set(CRLF, this.pos);
    this.pos += 2;
    this.bytes += 2;
  }

  /** Returns the queued chunks and resets the byte count; an empty array when nothing is queued. */
  take(): Buffer[] {
    this.seal();
    const out = this.chunks;
    this.chunks = [];
    this.bytes = 0;
    return out;
  }
}
