import type { Http2Stream } from "node:http2";
import { MESSAGE_PREFIX_BYTES } from "./framing.js";

/** Size of the slab that collects the framed messages of one event-loop turn. */
const SLAB_BYTES = 64 * 1024;
/** A slab tail smaller than this is dropped rather than reused for the next turn. */
const MIN_REUSE_BYTES = 4096;

/**
 * Writes framed gRPC messages to an HTTP/2 stream, coalescing every message produced in one event-loop
 * turn into a single `stream.write()` (spec/grpc-transport.md §2, "lean-coalesce").
 *
 * Messages are copied into a 64 KiB slab; the slab is flushed from `setImmediate`, or at once when it is
 * full. One write per turn instead of one per message is what keeps the per-message cost near the HTTP/2
 * floor: node:http2 then emits one `writev` for many messages.
 *
 * Backpressure: {@link FrameWriter.write} returns false once the stream's buffer is over its high-water
 * mark; the producer then awaits {@link FrameWriter.drain}, which also resolves when the stream closes
 * (spec §4 bug 1: `'drain'` never fires on a destroyed stream).
 */
export class FrameWriter {
  readonly #stream: Http2Stream;
  #slab: Buffer | undefined;
  #used = 0;
  #scheduled = false;
  #blocked = false;
  readonly #flushTask = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  constructor(stream: Http2Stream) {
    this.#stream = stream;
  }

  /** True when the stream can no longer take data (closed, destroyed or ended). */
  get isClosed(): boolean {
    const s = this.#stream;
    return s.destroyed || s.closed || s.writableEnded;
  }

  /**
   * Appends one message (`payload` with its 5-byte prefix). Returns false when the caller should wait for
   * {@link drain} before writing more; the message is queued either way.
   */
  write(payload: Uint8Array, compressed = false): boolean {
    const total = MESSAGE_PREFIX_BYTES + payload.length;
    if (this.#slab !== undefined && this.#used + total > this.#slab.length) {
      this.flush();
      // A reused tail too small for this message is dropped; a fresh slab is taken below.
      if (this.#slab !== undefined && total > this.#slab.length) this.#slab = undefined;
    }
    if (total > SLAB_BYTES) {
      // A big message gets its own buffer, written at once (after what was queued before it).
      const own = Buffer.allocUnsafe(total);
      own[0] = compressed ? 1 : 0;
      own.writeUInt32BE(payload.length, 1);
      own.set(payload, MESSAGE_PREFIX_BYTES);
      this.#writeChunk(own);
      return !this.#blocked;
    }
    if (this.#slab === undefined) {
      this.#slab = Buffer.allocUnsafe(SLAB_BYTES);
      this.#used = 0;
    }
    const slab = this.#slab;
    const at = this.#used;
    slab[at] = compressed ? 1 : 0;
    slab.writeUInt32BE(payload.length, at + 1);
    slab.set(payload, at + MESSAGE_PREFIX_BYTES);
    this.#used = at + total;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushTask);
    }
    return !this.#blocked;
  }

  /** Writes whatever is queued now. Called before ending the stream. */
  flush(): void {
    const slab = this.#slab;
    if (slab === undefined || this.#used === 0) return;
    const chunk = this.#used === slab.length ? slab : slab.subarray(0, this.#used);
    this.#slab = slab.length - this.#used >= MIN_REUSE_BYTES ? slab.subarray(this.#used) : undefined;
    this.#used = 0;
    this.#writeChunk(chunk);
  }

  #writeChunk(chunk: Buffer): void {
    if (this.isClosed) return;
    if (!this.#stream.write(chunk)) this.#blocked = true;
  }

  /** Resolves when the stream has room again, or when it closed (so producers never hang). */
  drain(): Promise<void> {
    this.flush();
    const s = this.#stream;
    if (!s.writableNeedDrain || this.isClosed) {
      this.#blocked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        s.off("drain", done);
        s.off("close", done);
        this.#blocked = false;
        resolve();
      };
      s.on("drain", done);
      s.on("close", done);
    });
  }
}
