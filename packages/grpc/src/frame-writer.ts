import type { Http2Stream } from "node:http2";
import { MESSAGE_PREFIX_BYTES } from "./framing.js";

/** Largest slab that collects the framed messages of one event-loop turn. */
const SLAB_BYTES = 64 * 1024;
/** A slab tail smaller than this is dropped rather than reused for the next turn. */
const MIN_REUSE_BYTES = 4096;
/** Smallest capacity a slab grows to once a second message of the turn does not fit. */
const MIN_GROWN_BYTES = 1024;

/**
 * Writes framed gRPC messages to an HTTP/2 stream, coalescing every message produced in one event-loop
 * turn into a single `stream.write()` (spec/grpc-transport.md §2, "lean-coalesce").
 *
 * Messages are copied into a slab that is flushed from `setImmediate`, or at once when it is full. One
 * write per turn instead of one per message is what keeps the per-message cost near the HTTP/2 floor:
 * node:http2 then emits one `writev` for many messages.
 *
 * Slab sizing: a writer's first slab is exactly the size of its first message (for small messages Node
 * carves it from its shared 8 KiB `Buffer` pool, so a unary call allocates no buffer of its own); when a
 * later message of the same turn does not fit, the slab grows (doubling, up to 64 KiB) and the writer
 * remembers that size for its next turns, whose slab tails it then reuses. Bytes are only ever appended
 * past what was handed to `stream.write()`, and growing copies into a new buffer, so a buffer region
 * referenced by a pending write is never written again.
 *
 * Backpressure: {@link FrameWriter.write} returns false once the stream's buffer is over its high-water
 * mark; the producer then awaits {@link FrameWriter.drain}, which also resolves when the stream closes
 * (spec §4 bug 1: `'drain'` never fires on a destroyed stream).
 */
export class FrameWriter {
  readonly #stream: Http2Stream;
  #slab: Buffer | undefined;
  #used = 0;
  /** True while `#slab` is a fresh buffer of this turn that may be replaced by a bigger copy. */
  #growable = false;
  /** Capacity of the next fresh slab; 0 until a turn needed more than one message's room. */
  #slabBytes = 0;
  #scheduled = false;
  #blocked = false;
  /** Callers of `drain(lowWaterBytes)` waiting for the stream's buffer to shrink to their mark. */
  #lowWaiters: { readonly bytes: number; readonly resolve: () => void }[] = [];
  readonly #onChunkWritten = (): void => {
    if (this.#lowWaiters.length > 0) this.#wakeLowWaiters();
  };
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
    const slab = this.#slab;
    if (slab !== undefined && this.#used + total > slab.length) {
      const needed = this.#used + total;
      if (this.#growable && needed <= SLAB_BYTES) {
        // Nothing of this slab was written yet: move it into a bigger one.
        const grown = Buffer.allocUnsafe(
          Math.min(SLAB_BYTES, Math.max(2 * slab.length, needed, MIN_GROWN_BYTES)),
        );
        slab.copy(grown, 0, 0, this.#used);
        this.#slab = grown;
        this.#slabBytes = grown.length;
      } else {
        this.flush();
        // A reused tail too small for this message is dropped; a fresh slab is taken below.
        if (this.#slab !== undefined && total > this.#slab.length) this.#slab = undefined;
      }
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
      this.#slab = Buffer.allocUnsafe(Math.max(total, this.#slabBytes));
      this.#used = 0;
      this.#growable = true;
    }
    const out = this.#slab;
    const at = this.#used;
    out[at] = compressed ? 1 : 0;
    out.writeUInt32BE(payload.length, at + 1);
    out.set(payload, at + MESSAGE_PREFIX_BYTES);
    this.#used = at + total;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushTask);
    }
    return !this.#blocked;
  }

  /**
   * Appends complete, already framed messages (prefixes included) after what is queued. A batch of at
   * least {@link MIN_REUSE_BYTES} goes to the stream as it is, without a copy (the queued slab is flushed
   * first, so order is kept); the caller must not modify `frames` afterwards. A smaller one is copied
   * into the slab and coalesced like {@link write}. Returns false when the caller should wait for
   * {@link drain}. `onReleased` runs once `frames` may be modified again: at once when it was copied or
   * dropped, else when its write completed or failed.
   */
  writeFramed(frames: Buffer, onReleased?: () => void): boolean {
    const n = frames.length;
    if (n === 0) {
      onReleased?.();
      return !this.#blocked;
    }
    if (n >= MIN_REUSE_BYTES) {
      this.flush();
      this.#writeChunk(frames, onReleased);
      return !this.#blocked;
    }
    const slab = this.#slab;
    if (slab !== undefined && this.#used + n > slab.length) {
      if (this.#growable && this.#used + n <= SLAB_BYTES) {
        const grown = Buffer.allocUnsafe(Math.min(SLAB_BYTES, Math.max(2 * slab.length, this.#used + n)));
        slab.copy(grown, 0, 0, this.#used);
        this.#slab = grown;
        this.#slabBytes = grown.length;
      } else {
        this.flush();
        if (this.#slab !== undefined && n > this.#slab.length) this.#slab = undefined;
      }
    }
    if (this.#slab === undefined) {
      this.#slab = Buffer.allocUnsafe(Math.max(n, this.#slabBytes));
      this.#used = 0;
      this.#growable = true;
    }
    frames.copy(this.#slab, this.#used);
    this.#used += n;
    onReleased?.();
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
    this.#growable = false;
    this.#writeChunk(chunk);
  }

  #writeChunk(chunk: Buffer, onReleased?: () => void): void {
    if (this.isClosed) {
      onReleased?.();
      return;
    }
    // The write callback also runs (with an error) when the stream is destroyed before the bytes went out.
    const done =
      onReleased === undefined
        ? this.#onChunkWritten
        : () => {
            onReleased();
            this.#onChunkWritten();
          };
    if (!this.#stream.write(chunk, done)) this.#blocked = true;
  }

  #wakeLowWaiters(): void {
    const closed = this.isClosed;
    const queued = this.#stream.writableLength;
    const waiting = this.#lowWaiters;
    this.#lowWaiters = [];
    for (const w of waiting) {
      if (closed || queued <= w.bytes) w.resolve();
      else this.#lowWaiters.push(w);
    }
  }

  /**
   * Resolves when the stream has room again, or when it closed (so producers never hang). With
   * `lowWaterBytes`, resolves as soon as at most that many bytes are still queued in the stream, rather
   * than when the queue is empty: a producer of big batches then hands over the next batch while the
   * previous one is still going out, so the connection never idles between batches.
   */
  drain(lowWaterBytes = 0): Promise<void> {
    this.flush();
    const s = this.#stream;
    if (lowWaterBytes > 0) {
      if (this.isClosed || s.writableLength <= lowWaterBytes) {
        if (!s.writableNeedDrain) this.#blocked = false;
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        const done = (): void => {
          s.off("close", done);
          resolve();
        };
        s.on("close", done);
        this.#lowWaiters.push({ bytes: lowWaterBytes, resolve: done });
      });
    }
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
