import * as nfs from "node:fs";
import * as npath from "node:path";

/**
 * Synchronous file-system port used by {@link FileStorage}. Writes may be volatile until `fsync`;
 * names (create, rename, unlink) until `fsyncDir`. `@liftbridge/testkit`'s SimFs implements it with
 * crash semantics; {@link nodeRaftFs} implements it with `node:fs`.
 */
export interface RaftFs {
  /** Whole content, or null if the file does not exist. */
  readFile(path: string): Uint8Array | null;
  /** Creates or truncates `path` and writes `data`. */
  writeFile(path: string, data: Uint8Array): void;
  /** Appends `data`, creating the file if needed. */
  append(path: string, data: Uint8Array): void;
  truncate(path: string, len: number): void;
  fsync(path: string): void;
  rename(from: string, to: string): void;
  fsyncDir(dir: string): void;
  unlink(path: string): void;
  mkdirp(dir: string): void;
}

/** {@link RaftFs} on `node:fs` (synchronous calls; file descriptors cached per path). */
export function nodeRaftFs(): RaftFs & { close(): void } {
  const fds = new Map<string, number>();
  const fd = (path: string): number => {
    let f = fds.get(path);
    if (f === undefined) {
      f = nfs.openSync(path, "a+");
      fds.set(path, f);
    }
    return f;
  };
  const drop = (path: string) => {
    const f = fds.get(path);
    if (f !== undefined) {
      nfs.closeSync(f);
      fds.delete(path);
    }
  };
  return {
    readFile(path) {
      try {
        return new Uint8Array(nfs.readFileSync(path));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw err;
      }
    },
    writeFile(path, data) {
      drop(path);
      nfs.writeFileSync(path, data);
    },
    append(path, data) {
      nfs.writeSync(fd(path), data);
    },
    truncate(path, len) {
      nfs.ftruncateSync(fd(path), len);
    },
    fsync(path) {
      nfs.fsyncSync(fd(path));
    },
    rename(from, to) {
      drop(from);
      drop(to);
      nfs.renameSync(from, to);
    },
    fsyncDir(dir) {
      const f = nfs.openSync(dir, "r");
      try {
        nfs.fsyncSync(f);
      } finally {
        nfs.closeSync(f);
      }
    },
    unlink(path) {
      drop(path);
      nfs.rmSync(path, { force: true });
    },
    mkdirp(dir) {
      nfs.mkdirSync(npath.resolve(dir), { recursive: true });
    },
    close() {
      for (const f of fds.values()) nfs.closeSync(f);
      fds.clear();
    },
  };
}
