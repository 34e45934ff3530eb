import type { Prng } from "./prng.js";

interface Inode {
  data: Uint8Array;
  durable: Uint8Array;
  pending: ({ kind: "write"; pos: number; bytes: Uint8Array } | { kind: "truncate"; len: number })[];
}

/** Crash behaviour of a {@link SimFs}. */
export interface CrashOptions {
  /** Tear the last surviving unsynced write (keep a random prefix of its bytes). */
  torn?: boolean;
}

/** Counters of a {@link SimFs}. */
export interface SimFsStats {
  writes: number;
  fsyncs: number;
  crashes: number;
  tornWrites: number;
  bitFlips: number;
}

/** Thrown by {@link SimFs} operations when an fsync error is injected (must be fatal to the caller). */
export class SimFsError extends Error {
  override readonly name = "SimFsError";
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function applyOp(data: Uint8Array, op: Inode["pending"][number]): Uint8Array {
  if (op.kind === "truncate") return data.slice(0, Math.min(op.len, data.length));
  const end = op.pos + op.bytes.length;
  const out = new Uint8Array(Math.max(end, data.length));
  out.set(data);
  out.set(op.bytes, op.pos);
  return out;
}

/**
 * A synchronous in-memory file system with crash semantics. Writes land in a volatile view; `fsync`
 * makes a file's content durable, `fsyncDir` makes names (creates, renames, unlinks) durable. `crash`
 * keeps the durable state plus a random prefix of each file's unsynced writes, optionally tearing the
 * last one. `flipBit` corrupts durable data (corruption profiles only).
 */
export class SimFs {
  readonly #inodes = new Map<number, Inode>();
  #dir = new Map<string, number>();
  #durableDir = new Map<string, number>();
  #nextInode = 1;
  readonly stats: SimFsStats = { writes: 0, fsyncs: 0, crashes: 0, tornWrites: 0, bitFlips: 0 };
  /** Probability that an fsync fails (the caller must treat it as fatal). */
  fsyncErrorRate = 0;
  #prng: Prng | null;

  constructor(prng: Prng | null = null) {
    this.#prng = prng;
  }

  #inode(path: string, create: boolean): Inode | null {
    let id = this.#dir.get(path);
    if (id === undefined) {
      if (!create) return null;
      id = this.#nextInode++;
      this.#inodes.set(id, { data: new Uint8Array(0), durable: new Uint8Array(0), pending: [] });
      this.#dir.set(path, id);
    }
    return this.#inodes.get(id)!;
  }

  exists(path: string): boolean {
    return this.#dir.has(path);
  }

  readFile(path: string): Uint8Array | null {
    const n = this.#inode(path, false);
    return n ? n.data.slice() : null;
  }

  /** Creates or truncates `path` and writes `data` (unsynced). */
  writeFile(path: string, data: Uint8Array): void {
    const n = this.#inode(path, true)!;
    this.#op(n, { kind: "truncate", len: 0 });
    this.#op(n, { kind: "write", pos: 0, bytes: data.slice() });
  }

  /** Appends `data` to `path`, creating it if needed (unsynced). */
  append(path: string, data: Uint8Array): void {
    const n = this.#inode(path, true)!;
    this.#op(n, { kind: "write", pos: n.data.length, bytes: data.slice() });
  }

  truncate(path: string, len: number): void {
    const n = this.#inode(path, false);
    if (!n) throw new SimFsError("ENOENT", `no such file ${path}`);
    this.#op(n, { kind: "truncate", len });
  }

  fsync(path: string): void {
    const n = this.#inode(path, false);
    if (!n) throw new SimFsError("ENOENT", `no such file ${path}`);
    if (this.#prng?.chance(this.fsyncErrorRate)) throw new SimFsError("EIO", `fsync failed on ${path}`);
    this.stats.fsyncs++;
    n.durable = n.data.slice();
    n.pending = [];
  }

  rename(from: string, to: string): void {
    const id = this.#dir.get(from);
    if (id === undefined) throw new SimFsError("ENOENT", `no such file ${from}`);
    this.#dir.delete(from);
    this.#dir.set(to, id);
  }

  unlink(path: string): void {
    this.#dir.delete(path);
  }

  /** Makes the names in `dir` durable. */
  fsyncDir(dir: string): void {
    for (const [p] of [...this.#durableDir]) if (dirOf(p) === dir) this.#durableDir.delete(p);
    for (const [p, id] of this.#dir) if (dirOf(p) === dir) this.#durableDir.set(p, id);
    this.stats.fsyncs++;
  }

  /** Paths directly inside `dir`, sorted. */
  list(dir: string): string[] {
    return [...this.#dir.keys()].filter((p) => dirOf(p) === dir).sort();
  }

  mkdirp(_dir: string): void {
    // Directories are implicit.
  }

  #op(n: Inode, op: Inode["pending"][number]): void {
    this.stats.writes++;
    n.data = applyOp(n.data, op);
    n.pending.push(op);
  }

  /** Number of unsynced operations across all files. */
  unsyncedOps(): number {
    let c = 0;
    for (const n of this.#inodes.values()) c += n.pending.length;
    return c;
  }

  /**
   * Simulates power loss: names revert to the last `fsyncDir`, each file keeps its durable content plus
   * a random prefix of its unsynced operations (all of them lost without a PRNG), the last kept write
   * possibly torn.
   */
  crash(opts: CrashOptions = {}): void {
    this.stats.crashes++;
    this.#dir = new Map(this.#durableDir);
    const live = new Set(this.#dir.values());
    for (const [id, n] of [...this.#inodes]) {
      if (!live.has(id)) {
        this.#inodes.delete(id);
        continue;
      }
      let data = n.durable;
      const keep = this.#prng ? this.#prng.int(n.pending.length + 1) : 0;
      for (let i = 0; i < keep; i++) data = applyOp(data, n.pending[i]!);
      const next = n.pending[keep];
      if (opts.torn && this.#prng && next && next.kind === "write" && next.bytes.length > 1) {
        const cut = 1 + this.#prng.int(next.bytes.length - 1);
        data = applyOp(data, { kind: "write", pos: next.pos, bytes: next.bytes.subarray(0, cut) });
        this.stats.tornWrites++;
      }
      n.data = data;
      n.durable = data.slice();
      n.pending = [];
    }
  }

  /** Flips one random bit of the durable content of `path` (corruption profiles). Returns the byte offset. */
  flipBit(path: string, prng: Prng): number {
    const n = this.#inode(path, false);
    if (!n || n.data.length === 0) return -1;
    const off = prng.int(n.data.length);
    n.data[off]! ^= 1 << prng.int(8);
    n.durable = n.data.slice();
    this.stats.bitFlips++;
    return off;
  }

  /** Deletes everything (disk wiped). */
  wipe(): void {
    this.#dir.clear();
    this.#durableDir.clear();
    this.#inodes.clear();
  }
}
