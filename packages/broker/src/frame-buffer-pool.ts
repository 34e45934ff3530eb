/**
 * Recycles the big output buffers of Subscribe: a catching-up subscriber encodes ~1 MiB per batch, and
 * a fresh `Buffer.allocUnsafe` per batch is external memory that drives V8's garbage collector (up to a
 * sixth of the server's time while streaming). A buffer goes back to the pool once the gRPC transport
 * has written it (`sendFramed`'s `onReleased`); a lost release only means the buffer is not reused.
 * @module
 */

/** Below this a buffer is not pooled: small batches are cheap, and the transport copies them anyway. */
const MIN_POOLED_BYTES = 64 * 1024;
/** Pooled buffers are allocated in multiples of this, so batches of similar size share them. */
const POOL_GRAIN_BYTES = 256 * 1024;

/** A buffer taken from the pool: `bytes` to fill, `release` once nothing reads it any more. */
export interface FrameBufferLease {
  readonly bytes: Buffer;
  /** Gives the buffer back; later calls do nothing. */
  release(): void;
}

const NOT_POOLED: FrameBufferLease["release"] = () => {};

export class FrameBufferPool {
  readonly #free: Buffer[] = [];
  #freeBytes = 0;
  readonly #maxFreeBytes: number;

  /** `maxFreeBytes` bounds the memory the pool keeps while nobody uses it. */
  constructor(maxFreeBytes = 16 * 1024 * 1024) {
    this.#maxFreeBytes = maxFreeBytes;
  }

  /** Bytes held by idle buffers (for tests and metrics). */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** A buffer of exactly `size` bytes (a view of a pooled buffer when `size` is big enough to pool). */
  take(size: number): FrameBufferLease {
    if (size < MIN_POOLED_BYTES) return { bytes: Buffer.allocUnsafe(size), release: NOT_POOLED };
    let parent: Buffer | undefined;
    const free = this.#free;
    for (let i = free.length - 1; i >= 0; i--) {
      if (free[i]!.length >= size) {
        parent = free[i]!;
        free[i] = free[free.length - 1]!;
        free.pop();
        this.#freeBytes -= parent.length;
        break;
      }
    }
    parent ??= Buffer.allocUnsafe(Math.ceil(size / POOL_GRAIN_BYTES) * POOL_GRAIN_BYTES);
    let released = false;
    return {
      bytes: parent.subarray(0, size),
      release: () => {
        if (released) return;
        released = true;
        if (this.#freeBytes + parent.length > this.#maxFreeBytes) return;
        this.#free.push(parent);
        this.#freeBytes += parent.length;
      },
    };
  }
}
