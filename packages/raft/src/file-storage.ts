import { decodeEntries, decodeSnapshotMeta, encodeEntries, encodeSnapshotMeta } from "./core/codec.js";
import { MemoryStorage, type Storage } from "./core/storage.js";
import type { ConfState, Entry, HardState, Snapshot } from "./core/types.js";
import { crc32 } from "./crc32.js";
import { RaftError, RaftErrorCode } from "./errors.js";
import type { RaftFs } from "./fs.js";

const REC_ENTRIES = 1;
const REC_HARD_STATE = 2;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** What recovery found when opening a {@link FileStorage}. */
export interface RecoveryInfo {
  /** Bytes of an incomplete or CRC-failing tail that were dropped. */
  readonly tornBytesDropped: number;
  readonly records: number;
}

/**
 * Durable raft storage on a {@link RaftFs}: a CRC-checked write-ahead log of entry and hard-state
 * records plus an atomically replaced snapshot file. Reads are served from memory.
 *
 * Recovery replays records in order, so an append that truncated a suffix is replayed as a truncation:
 * truncated entries never come back (etcd #22442). An incomplete or CRC-failing last record is a torn
 * tail and is cut off; a CRC failure before the tail throws `corrupt` (fail-stop). A snapshot is made durable (temp file, fsync, rename, fsync dir)
 * before the log prefix it covers is removed. Errors from the fs (e.g. a failed fsync) propagate and
 * must be treated as fatal by the host.
 *
 * Layout (`dir/wal`): repeated `[u32 payloadLen][u32 crc32(payload)][payload]`, payload =
 * `[u8 type][body]`; type 1 = entries (first index implies truncation of anything at or after it),
 * type 2 = hard state (JSON). `dir/snap`: `[u32 crc32(rest)][u32 metaLen][meta][data]`.
 */
export class FileStorage implements Storage {
  readonly #fs: RaftFs;
  readonly #dir: string;
  readonly #mem: MemoryStorage;
  #dirty = false;
  /** Whether the wal's name is durable (its directory was fsynced after creation). */
  #walNamed: boolean;
  /** What recovery found on open. */
  readonly recovery: RecoveryInfo;

  private constructor(
    fs: RaftFs,
    dir: string,
    mem: MemoryStorage,
    recovery: RecoveryInfo,
    walNamed: boolean,
  ) {
    this.#walNamed = walNamed;
    this.#fs = fs;
    this.#dir = dir;
    this.#mem = mem;
    this.recovery = recovery;
  }

  get #wal(): string {
    return `${this.#dir}/wal`;
  }

  /**
   * Opens (or creates) the storage in `dir`. If the directory is new and `bootstrap` is given, the
   * founding state (initial voters) is written durably. Throws `corrupt` if the snapshot fails its CRC.
   */
  static open(fs: RaftFs, dir: string, bootstrap?: { voters: readonly string[] }): FileStorage {
    fs.mkdirp(dir);
    const mem = new MemoryStorage();
    const snapBytes = fs.readFile(`${dir}/snap`);
    if (snapBytes !== null) mem.applySnapshot(decodeSnapshotFile(snapBytes));
    const wal = fs.readFile(`${dir}/wal`);
    let pos = 0;
    let records = 0;
    if (wal !== null) {
      const view = new DataView(wal.buffer, wal.byteOffset, wal.byteLength);
      while (pos + 8 <= wal.length) {
        const len = view.getUint32(pos);
        const crc = view.getUint32(pos + 4);
        if (len < 1 || pos + 8 + len > wal.length) break;
        const payload = wal.subarray(pos + 8, pos + 8 + len);
        if (crc32(payload) !== crc) {
          // A bad record with more data after it is not a torn tail: the log is corrupt (fail-stop),
          // since cutting it off could drop entries or votes that were already acknowledged.
          if (pos + 8 + len < wal.length) {
            throw new RaftError(
              RaftErrorCode.Corrupt,
              `wal record at byte ${pos} fails its CRC before the tail`,
            );
          }
          break;
        }
        applyRecord(mem, payload);
        records++;
        pos += 8 + len;
      }
      if (pos < wal.length) {
        fs.truncate(`${dir}/wal`, pos);
        fs.fsync(`${dir}/wal`);
      }
    }
    const s = new FileStorage(
      fs,
      dir,
      mem,
      { tornBytesDropped: wal === null ? 0 : wal.length - pos, records },
      wal !== null,
    );
    if (wal === null && snapBytes === null && bootstrap) {
      s.#bootstrap(bootstrap.voters);
    }
    return s;
  }

  #bootstrap(voters: readonly string[]): void {
    const conf: ConfState = {
      voters: [...voters].sort(),
      votersOutgoing: [],
      learners: [],
      learnersNext: [],
      autoLeave: false,
    };
    this.#writeSnapshotFile({ meta: { index: 0, term: 0, conf }, data: new Uint8Array(0) });
    this.#mem.applySnapshot({ meta: { index: 0, term: 0, conf }, data: new Uint8Array(0) });
    const data = enc.encode(
      JSON.stringify({ changes: voters.map((node) => ({ type: "add_voter", node })), transition: "auto" }),
    );
    this.append([{ index: 1, term: 1, kind: "conf", data }]);
    this.setHardState({ term: 1, vote: null, commit: 1 });
    this.sync();
  }

  initialState(): { hardState: HardState; conf: ConfState } {
    return this.#mem.initialState();
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] | null {
    return this.#mem.entries(lo, hi, maxBytes);
  }
  term(i: number): number {
    return this.#mem.term(i);
  }
  firstIndex(): number {
    return this.#mem.firstIndex();
  }
  lastIndex(): number {
    return this.#mem.lastIndex();
  }
  snapshot(): Snapshot {
    return this.#mem.snapshot();
  }
  /** The current hard state (as written, possibly not yet synced). */
  get hardState(): HardState {
    return this.#mem.hardState;
  }

  /** Appends entries (truncating any conflicting suffix). Durable after {@link sync}. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    this.#mem.append(entries);
    const first = this.#mem.firstIndex();
    const ents = entries.filter((e) => e.index >= first);
    if (ents.length > 0) this.#record(REC_ENTRIES, encodeEntries(ents));
  }

  /** Records the hard state. Durable after {@link sync}. */
  setHardState(hs: HardState): void {
    this.#mem.setHardState(hs);
    this.#record(REC_HARD_STATE, enc.encode(JSON.stringify(hs)));
  }

  /** Installs a snapshot from the leader: durable on return (the whole log is replaced). */
  applySnapshot(snap: Snapshot): void {
    this.#writeSnapshotFile(snap);
    this.#mem.applySnapshot(snap);
    this.#rewriteWal();
  }

  /** Records a local snapshot of the state machine at `index`; durable on return. */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Snapshot {
    const snap = this.#mem.createSnapshot(index, conf, data);
    this.#writeSnapshotFile(snap);
    return snap;
  }

  /** Drops entries before `index` (≤ snapshot index); durable on return. */
  compact(index: number): void {
    if (index > this.#mem.snapshot().meta.index) {
      throw new RaftError(RaftErrorCode.InvalidArgument, `compact ${index} beyond snapshot`);
    }
    this.#mem.compact(index);
    this.#rewriteWal();
  }

  /** Makes all writes durable (fsync). */
  sync(): void {
    if (!this.#dirty) return;
    this.#fs.fsync(this.#wal);
    if (!this.#walNamed) {
      this.#fs.fsyncDir(this.#dir);
      this.#walNamed = true;
    }
    this.#dirty = false;
  }

  #record(type: number, body: Uint8Array): void {
    this.#fs.append(this.#wal, frame(type, body));
    this.#dirty = true;
  }

  #writeSnapshotFile(snap: Snapshot): void {
    const meta = encodeSnapshotMeta(snap.meta);
    const rest = new Uint8Array(4 + meta.length + snap.data.length);
    new DataView(rest.buffer).setUint32(0, meta.length);
    rest.set(meta, 4);
    rest.set(snap.data, 4 + meta.length);
    const file = new Uint8Array(4 + rest.length);
    new DataView(file.buffer).setUint32(0, crc32(rest));
    file.set(rest, 4);
    const tmp = `${this.#dir}/snap.tmp`;
    this.#fs.writeFile(tmp, file);
    this.#fs.fsync(tmp);
    this.#fs.rename(tmp, `${this.#dir}/snap`);
    this.#fs.fsyncDir(this.#dir);
  }

  #rewriteWal(): void {
    const parts: Uint8Array[] = [];
    const first = this.#mem.firstIndex();
    const last = this.#mem.lastIndex();
    if (last >= first)
      parts.push(
        frame(REC_ENTRIES, encodeEntries(this.#mem.entries(first, last + 1, Number.MAX_SAFE_INTEGER)!)),
      );
    parts.push(frame(REC_HARD_STATE, enc.encode(JSON.stringify(this.#mem.hardState))));
    let n = 0;
    for (const p of parts) n += p.length;
    const all = new Uint8Array(n);
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    const tmp = `${this.#dir}/wal.tmp`;
    this.#fs.writeFile(tmp, all);
    this.#fs.fsync(tmp);
    this.#fs.rename(tmp, this.#wal);
    this.#fs.fsyncDir(this.#dir);
    this.#walNamed = true;
    this.#dirty = false;
  }
}

function frame(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 1 + body.length);
  out[8] = type;
  out.set(body, 9);
  const payload = out.subarray(8);
  const v = new DataView(out.buffer);
  v.setUint32(0, payload.length);
  v.setUint32(4, crc32(payload));
  return out;
}

function applyRecord(mem: MemoryStorage, payload: Uint8Array): void {
  const body = payload.subarray(1);
  try {
    if (payload[0] === REC_ENTRIES) {
      const ents = decodeEntries(body).filter((e) => e.index > mem.snapshot().meta.index);
      if (ents.length === 0) return;
      if (ents[0]!.index > mem.lastIndex() + 1) throw new Error(`gap before ${ents[0]!.index}`);
      mem.append(ents);
    } else if (payload[0] === REC_HARD_STATE) {
      mem.setHardState(JSON.parse(dec.decode(body)) as HardState);
    } else {
      throw new Error(`unknown record type ${payload[0]}`);
    }
  } catch (err) {
    throw new RaftError(RaftErrorCode.Corrupt, "bad wal record", { cause: err });
  }
}

function decodeSnapshotFile(b: Uint8Array): Snapshot {
  if (b.length < 8) throw new RaftError(RaftErrorCode.Corrupt, "snapshot file too short");
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const rest = b.subarray(4);
  if (crc32(rest) !== v.getUint32(0)) throw new RaftError(RaftErrorCode.Corrupt, "snapshot CRC mismatch");
  const metaLen = v.getUint32(4);
  if (8 + metaLen > b.length) throw new RaftError(RaftErrorCode.Corrupt, "snapshot meta truncated");
  const meta = decodeSnapshotMeta(b.subarray(8, 8 + metaLen));
  return { meta, data: b.slice(8 + metaLen) };
}
