import { GrpcError } from "./errors.js";
import { Status } from "./status.js";

/** Size of the gRPC message prefix: a 1-byte compressed flag and a 4-byte big-endian length. */
export const MESSAGE_PREFIX_BYTES = 5;

/** Default receive and send limit for one message: 4 MiB, grpc-go's default (used by upstream Liftbridge). */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Returns `payload` with the 5-byte gRPC message prefix in front. */
export function frameMessage(payload: Uint8Array, compressed = false): Buffer {
  const out = Buffer.allocUnsafe(MESSAGE_PREFIX_BYTES + payload.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, MESSAGE_PREFIX_BYTES);
  return out;
}

/**
 * Writes the 5-byte gRPC message prefix (uncompressed flag, big-endian `payloadLength`) at `buf[at..]`
 * and returns the position after it, where the payload goes. For producers that build pre-framed batches
 * for `ServerWritableCall.sendFramed`.
 */
export function writeMessagePrefix(buf: Uint8Array, at: number, payloadLength: number): number {
  buf[at] = 0;
  buf[at + 1] = payloadLength >>> 24;
  buf[at + 2] = (payloadLength >>> 16) & 0xff;
  buf[at + 3] = (payloadLength >>> 8) & 0xff;
  buf[at + 4] = payloadLength & 0xff;
  return at + MESSAGE_PREFIX_BYTES;
}

/**
 * Checks that `frames` is a run of complete, uncompressed gRPC messages (5-byte prefix, payload) of at
 * most `maxMessageBytes` each. Returns the number of messages, or a string saying what is wrong. Reads
 * only the prefixes: O(messages).
 */
export function countFramedMessages(frames: Uint8Array, maxMessageBytes: number): number | string {
  let pos = 0;
  let count = 0;
  const end = frames.length;
  while (pos < end) {
    if (end - pos < MESSAGE_PREFIX_BYTES) return `truncated message prefix at byte ${pos}`;
    if (frames[pos] !== 0) return `message at byte ${pos} is not an uncompressed frame`;
    const length =
      ((frames[pos + 1]! << 24) | (frames[pos + 2]! << 16) | (frames[pos + 3]! << 8) | frames[pos + 4]!) >>>
      0;
    if (length > maxMessageBytes) return `sent message larger than max (${length} vs. ${maxMessageBytes})`;
    pos += MESSAGE_PREFIX_BYTES + length;
    if (pos > end) return `message at byte ${pos - MESSAGE_PREFIX_BYTES - length} runs past the end`;
    count++;
  }
  return count;
}

/**
 * Reassembles length-prefixed gRPC messages from DATA chunks whose boundaries are unrelated to messages.
 *
 * `push` calls `onMessage` for each complete message, synchronously and in order. Chunks are concatenated
 * only once a whole pending message is there. The length prefix is checked against `maxMessageBytes`
 * before any payload is buffered, so an oversized message costs no memory. Errors are {@link GrpcError}s:
 * RESOURCE_EXHAUSTED for an oversized length, INTERNAL for a reserved flag bit; after an error the decoder
 * must not be used again.
 */
export class MessageDecoder {
  readonly #maxMessageBytes: number;
  #parts: Buffer[] = [];
  #partsBytes = 0;
  #need = 0;

  constructor(maxMessageBytes: number = DEFAULT_MAX_MESSAGE_BYTES) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** Bytes held for a message that is not complete yet; non-zero at end of stream means a truncated message. */
  get pendingBytes(): number {
    return this.#partsBytes;
  }

  /**
   * Feeds one DATA chunk; calls `onMessage(payload, compressed)` for every message it completes. The
   * payload may share memory with `chunk`. Throws a {@link GrpcError} on a malformed or oversized prefix.
   */
  push(chunk: Buffer, onMessage: (payload: Buffer, compressed: boolean) => void): void {
    this.pushRanges(chunk, (buf, start, end, compressed) => onMessage(buf.subarray(start, end), compressed));
  }

  /**
   * {@link push} without a `subarray` per message: calls `onRange(buf, start, end, compressed)` for every
   * message it completes, where the payload is `buf[start..end)` (`buf` is `chunk`, or the concatenation
   * of the chunks of a message that spanned several).
   */
  pushRanges(
    chunk: Buffer,
    onRange: (buf: Buffer, start: number, end: number, compressed: boolean) => void,
  ): void {
    let buf = chunk;
    if (this.#partsBytes > 0) {
      this.#parts.push(chunk);
      this.#partsBytes += chunk.length;
      if (this.#partsBytes < this.#need) return;
      buf = Buffer.concat(this.#parts, this.#partsBytes);
      this.#parts = [];
      this.#partsBytes = 0;
    }
    let pos = 0;
    const end = buf.length;
    this.#need = MESSAGE_PREFIX_BYTES;
    while (end - pos >= MESSAGE_PREFIX_BYTES) {
      const flag = buf[pos] as number;
      if ((flag & 0xfe) !== 0) {
        throw new GrpcError(Status.INTERNAL, `malformed message prefix: flag byte ${flag}`);
      }
      const length = buf.readUInt32BE(pos + 1);
      if (length > this.#maxMessageBytes) {
        throw new GrpcError(
          Status.RESOURCE_EXHAUSTED,
          `received message larger than max (${length} vs. ${this.#maxMessageBytes})`,
        );
      }
      if (end - pos - MESSAGE_PREFIX_BYTES < length) {
        this.#need = MESSAGE_PREFIX_BYTES + length;
        break;
      }
      const start = pos + MESSAGE_PREFIX_BYTES;
      pos = start + length;
      onRange(buf, start, pos, flag === 1);
    }
    if (pos < end) {
      const rest = buf.subarray(pos);
      this.#parts.push(rest);
      this.#partsBytes = rest.length;
    }
  }
}
