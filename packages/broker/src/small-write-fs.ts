/**
 * The commit-log file system the broker injects: `@liftbridge/commitlog`'s {@link nodeFs}, except that
 * small positional writes (up to 4 KiB) are done with a synchronous `pwrite` on the event-loop thread instead of an
 * `fs.promises` write through the libuv threadpool.
 *
 * Why: one-at-a-time unary `Publish` (bench B3) makes one tiny append per call. A threadpool write costs
 * a worker wake-up, a completion wake-up of the loop and a promise per write; on a busy 2-core machine
 * the profile showed ~56 us of main-thread time per call in `writeBuffer` alone, and the handler's
 * p99 was ~1.8 ms. A page-cache `pwrite` of a few hundred bytes takes a few microseconds. Large writes
 * (ingest batches) still go to the threadpool so the loop never blocks on a big copy.
 *
 * Semantics are unchanged: the returned promise settles after the bytes are in the file (page cache),
 * exactly as before; fsync (`sync`/`datasync`, used by the sync policies) stays asynchronous.
 * @module
 */
import { writeSync } from "node:fs";
import * as fsp from "node:fs/promises";
import { type FileHandle, type FileSystem, nodeFs } from "@liftbridge/commitlog";

/** Writes up to this many bytes synchronously; larger ones use the threadpool. */
export const SMALL_WRITE_MAX_BYTES = 4 * 1024;

class SmallWriteFileHandle implements FileHandle {
  readonly #h: fsp.FileHandle;
  constructor(h: fsp.FileHandle) {
    this.#h = h;
  }
  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.#h.read(buffer, offset + done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }
  async write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<void> {
    let done = 0;
    if (length <= SMALL_WRITE_MAX_BYTES) {
      const fd = this.#h.fd;
      while (done < length) done += writeSync(fd, buffer, offset + done, length - done, position + done);
      return;
    }
    while (done < length) {
      const { bytesWritten } = await this.#h.write(buffer, offset + done, length - done, position + done);
      done += bytesWritten;
    }
  }
  sync(): Promise<void> {
    return this.#h.sync();
  }
  datasync(): Promise<void> {
    return this.#h.datasync();
  }
  truncate(length: number): Promise<void> {
    return this.#h.truncate(length);
  }
  async size(): Promise<number> {
    return (await this.#h.stat()).size;
  }
  close(): Promise<void> {
    return this.#h.close();
  }
}

/** {@link nodeFs} with small writes done synchronously (see the module comment). */
export const smallWriteFs: FileSystem = {
  ...nodeFs,
  async open(path, flags) {
    return new SmallWriteFileHandle(await fsp.open(path, flags, 0o644));
  },
};
