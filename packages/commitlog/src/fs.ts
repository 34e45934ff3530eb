/**
 * The file-system surface the commit log needs, declared here (STYLE §5) so tests and embedders
 * can inject their own. {@link nodeFs} is the real implementation.
 */
import { writeSync } from "node:fs";
import * as fsp from "node:fs/promises";

/** An open file with positional I/O. */
export interface FileHandle {
  /** Reads up to `length` bytes at file `position` into `buffer[offset..]`; returns bytes read. */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Writes all of `buffer[offset, offset+length)` at file `position`. */
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<void>;
  /** fsync. */
  sync(): Promise<void>;
  /** fdatasync. */
  datasync(): Promise<void>;
  /** Sets the file length. */
  truncate(length: number): Promise<void>;
  /** Current file size. */
  size(): Promise<number>;
  close(): Promise<void>;
}

/** Directory and file operations used by the commit log. */
export interface FileSystem {
  /** Opens with Node flag strings: `"r"`, `"r+"`, `"wx+"` (create exclusively), `"w"`. */
  open(path: string, flags: string): Promise<FileHandle>;
  mkdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; missing files are not an error. */
  unlink(path: string): Promise<void>;
  /** Removes a directory tree; missing is not an error. */
  rmdir(path: string): Promise<void>;
  /** Reads a whole file, or returns `null` when it does not exist. */
  readFile(path: string): Promise<Buffer | null>;
  /** Size of a file, or -1 when missing. */
  fileSize(path: string): Promise<number>;
  /** fsyncs a directory so renames/creates/unlinks in it are durable. */
  syncDir(path: string): Promise<void>;
}

class NodeFileHandle implements FileHandle {
  readonly #h: fsp.FileHandle;
  readonly #syncWriteMaxBytes: number;
  constructor(h: fsp.FileHandle, syncWriteMaxBytes: number) {
    this.#h = h;
    this.#syncWriteMaxBytes = syncWriteMaxBytes;
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
    if (length <= this.#syncWriteMaxBytes) {
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

const isNotFound = (e: unknown): boolean => (e as { code?: string }).code === "ENOENT";

/** Options of {@link createNodeFs}. */
export interface NodeFsOptions {
  /**
   * Positional writes up to this many bytes use a synchronous `pwrite` on the event-loop thread
   * instead of a threadpool write. A page-cache write of a few hundred bytes takes microseconds, while
   * a threadpool write costs a worker wake-up, a loop wake-up and a promise: it pays off for many tiny
   * appends (one unary publish at a time). Larger writes stay asynchronous so the loop never blocks on
   * a big copy. The promise still settles after the bytes are in the file; fsync stays asynchronous.
   * Default 0 (every write on the threadpool).
   */
  readonly syncWriteMaxBytes?: number;
}

/** The real file system (node:fs/promises), with {@link NodeFsOptions}. */
export function createNodeFs(options: NodeFsOptions = {}): FileSystem {
  const syncWriteMaxBytes = options.syncWriteMaxBytes ?? 0;
  return {
    ...nodeFs,
    async open(path, flags) {
      return new NodeFileHandle(await fsp.open(path, flags, 0o644), syncWriteMaxBytes);
    },
  };
}

/** The real file system (node:fs/promises). */
export const nodeFs: FileSystem = {
  async open(path, flags) {
    return new NodeFileHandle(await fsp.open(path, flags, 0o644), 0);
  },
  async mkdir(path) {
    await fsp.mkdir(path, { recursive: true });
  },
  readdir(path) {
    return fsp.readdir(path);
  },
  rename(from, to) {
    return fsp.rename(from, to);
  },
  async unlink(path) {
    try {
      await fsp.unlink(path);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  },
  async rmdir(path) {
    await fsp.rm(path, { recursive: true, force: true });
  },
  async readFile(path) {
    try {
      return await fsp.readFile(path);
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  },
  async fileSize(path) {
    try {
      return (await fsp.stat(path)).size;
    } catch (e) {
      if (isNotFound(e)) return -1;
      throw e;
    }
  },
  async syncDir(path) {
    const h = await fsp.open(path, "r");
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  },
};
