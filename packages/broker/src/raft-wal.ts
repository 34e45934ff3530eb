/**
 * Durable storage of the metadata Raft log for a broker: a record file (`raft/wal`) holding appended
 * entries and hard states, plus an atomically replaced snapshot file (`raft/snapshot`). Records are
 * `[u32 length][u32 CRC-32C][JSON]`; a torn or corrupt tail is cut on open. Metadata writes are rare
 * and small, so this uses synchronous file I/O (fsync before the broker acts on a Ready), which keeps
 * the Raft driver free of interleavings.
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { crc32c } from "@liftbridge/commitlog";
import type { ConfState, Entry, HardState, Snapshot } from "@liftbridge/raft";
import { MemoryStorage } from "@liftbridge/raft";

interface EntryJson {
  i: number;
  t: number;
  k: Entry["kind"];
  d: string;
}
type RecordJson = { e: EntryJson[] } | { h: HardState };
interface SnapshotJson {
  index: number;
  term: number;
  conf: ConfState;
  data: string;
}

const toJson = (e: Entry): EntryJson => ({
  i: e.index,
  t: e.term,
  k: e.kind,
  d: Buffer.from(e.data).toString("base64"),
});
const fromJson = (e: EntryJson): Entry => ({
  index: e.i,
  term: e.t,
  kind: e.k,
  data: Buffer.from(e.d, "base64"),
});

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function writeAtomic(file: string, data: Uint8Array): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

function frame(rec: RecordJson): Buffer {
  const body = Buffer.from(JSON.stringify(rec), "utf8");
  const out = Buffer.allocUnsafe(8 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.writeUInt32BE(crc32c(body), 4);
  body.copy(out, 8);
  return out;
}

/** The on-disk Raft log of one broker, loaded into a {@link MemoryStorage}. */
export class RaftWal {
  readonly dir: string;
  readonly storage: MemoryStorage;
  #fd: number;
  /** Whether any Raft state existed on disk when opened. */
  readonly existed: boolean;
  #records = 0;

  private constructor(dir: string, storage: MemoryStorage, fd: number, existed: boolean, records: number) {
    this.dir = dir;
    this.storage = storage;
    this.#fd = fd;
    this.existed = existed;
    this.#records = records;
  }

  /** Opens (creating) `dir`, loads the snapshot and replays the WAL, cutting a torn tail. */
  static open(dir: string): RaftWal {
    fs.mkdirSync(dir, { recursive: true });
    const storage = new MemoryStorage();
    const snapFile = path.join(dir, "snapshot");
    const walFile = path.join(dir, "wal");
    let existed = false;
    if (fs.existsSync(snapFile)) {
      existed = true;
      const s = JSON.parse(fs.readFileSync(snapFile, "utf8")) as SnapshotJson;
      storage.applySnapshot({
        meta: { index: s.index, term: s.term, conf: s.conf },
        data: Buffer.from(s.data, "base64"),
      });
    }
    let records = 0;
    if (fs.existsSync(walFile)) {
      const buf = fs.readFileSync(walFile);
      let pos = 0;
      while (pos + 8 <= buf.length) {
        const len = buf.readUInt32BE(pos);
        const crc = buf.readUInt32BE(pos + 4);
        if (pos + 8 + len > buf.length) break;
        const body = buf.subarray(pos + 8, pos + 8 + len);
        if (crc32c(body) !== crc) break;
        let rec: RecordJson;
        try {
          rec = JSON.parse(body.toString("utf8")) as RecordJson;
        } catch {
          break;
        }
        existed = true;
        if ("e" in rec) storage.append(rec.e.map(fromJson));
        else storage.setHardState(rec.h);
        records++;
        pos += 8 + len;
      }
      if (pos < buf.length) fs.truncateSync(walFile, pos);
    }
    const fd = fs.openSync(walFile, "a");
    return new RaftWal(dir, storage, fd, existed, records);
  }

  /** Number of records in the WAL file since the last compaction. */
  get records(): number {
    return this.#records;
  }

  /** Persists what a Ready carries (entries, hard state); fsyncs when `sync`. */
  save(entries: readonly Entry[], hardState: HardState | null, sync: boolean): void {
    const parts: Buffer[] = [];
    if (entries.length > 0) {
      this.storage.append(entries);
      parts.push(frame({ e: entries.map(toJson) }));
    }
    if (hardState !== null) {
      this.storage.setHardState(hardState);
      parts.push(frame({ h: hardState }));
    }
    if (parts.length === 0) return;
    fs.writeSync(this.#fd, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    this.#records += parts.length;
    if (sync) fs.fsyncSync(this.#fd);
  }

  /** Installs a snapshot received from a leader (not used by a single node, kept for completeness). */
  saveSnapshot(snap: Snapshot): void {
    this.storage.applySnapshot(snap);
    this.compactFiles();
  }

  /**
   * Takes a snapshot of the FSM at `index` (applied) and rewrites the WAL with only what follows it.
   */
  snapshot(index: number, conf: ConfState, data: Uint8Array): void {
    if (index <= this.storage.snapshot().meta.index) return;
    this.storage.createSnapshot(index, conf, data);
    this.storage.compact(index);
    this.compactFiles();
  }

  private compactFiles(): void {
    const snap = this.storage.snapshot();
    const json: SnapshotJson = {
      index: snap.meta.index,
      term: snap.meta.term,
      conf: snap.meta.conf,
      data: Buffer.from(snap.data).toString("base64"),
    };
    writeAtomic(path.join(this.dir, "snapshot"), Buffer.from(JSON.stringify(json), "utf8"));
    const rest =
      this.storage.lastIndex() >= this.storage.firstIndex()
        ? (this.storage.entries(
            this.storage.firstIndex(),
            this.storage.lastIndex() + 1,
            Number.MAX_SAFE_INTEGER,
          ) ?? [])
        : [];
    const parts = [frame({ h: this.storage.hardState })];
    if (rest.length > 0) parts.push(frame({ e: rest.map(toJson) }));
    fs.closeSync(this.#fd);
    writeAtomic(path.join(this.dir, "wal"), Buffer.concat(parts));
    this.#fd = fs.openSync(path.join(this.dir, "wal"), "a");
    this.#records = parts.length;
  }

  /** Closes the WAL file. */
  close(): void {
    if (this.#fd < 0) return;
    fs.closeSync(this.#fd);
    this.#fd = -1;
  }
}
