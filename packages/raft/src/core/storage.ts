import { invariant, RaftError, RaftErrorCode } from "../errors.js";
import { type ConfState, EMPTY_CONF, type Entry, type HardState, type Snapshot } from "./types.js";

/**
 * Synchronous, read-only view of the durable log that the core reads from. The host writes to it
 * (append, hard state, snapshot) while handling a {@link Ready}; the core never mutates it.
 */
export interface Storage {
  /** Durable hard state and the configuration as of the storage's snapshot. */
  initialState(): { hardState: HardState; conf: ConfState };
  /**
   * Entries in `[lo, hi)`, at least one if any is available, then up to `maxBytes` of data in total.
   * Returns `null` if `lo` was compacted. Throws `unavailable` if `hi > lastIndex() + 1`.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[] | null;
  /** Term of entry `i`, valid for `firstIndex() - 1 ..= lastIndex()`; -1 when compacted or unavailable. */
  term(i: number): number;
  /** Index of the first available entry (snapshot index + 1). */
  firstIndex(): number;
  /** Index of the last entry, or the snapshot index when the log is empty. */
  lastIndex(): number;
  /** The most recent snapshot. */
  snapshot(): Snapshot;
}

/** Size of an entry for flow control purposes. */
export const entrySize = (e: Entry): number => e.data.length + 16;

/** Sum of {@link entrySize} over entries. */
export function entriesSize(ents: readonly Entry[]): number {
  let s = 0;
  for (const e of ents) s += entrySize(e);
  return s;
}

/**
 * In-memory {@link Storage} with the write methods a host needs (etcd's MemoryStorage).
 * Index `offset` holds a dummy entry carrying the snapshot's index and term.
 */
export class MemoryStorage implements Storage {
  #hardState: HardState = { term: 0, vote: null, commit: 0 };
  #snapshot: Snapshot = { meta: { index: 0, term: 0, conf: EMPTY_CONF }, data: new Uint8Array(0) };
  /** ents[0] is a dummy at the snapshot index. */
  #ents: Entry[] = [{ index: 0, term: 0, kind: "noop", data: new Uint8Array(0) }];

  /** The current durable hard state. */
  get hardState(): HardState {
    return this.#hardState;
  }

  initialState(): { hardState: HardState; conf: ConfState } {
    return { hardState: this.#hardState, conf: this.#snapshot.meta.conf };
  }

  /** Replaces the hard state. */
  setHardState(hs: HardState): void {
    this.#hardState = hs;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] | null {
    const offset = this.#ents[0]!.index;
    if (lo <= offset) return null;
    if (hi > this.lastIndex() + 1) {
      throw new RaftError(RaftErrorCode.Unavailable, `entries hi ${hi} beyond last ${this.lastIndex()}`);
    }
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.#ents[i - offset]!;
      size += entrySize(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  term(i: number): number {
    const offset = this.#ents[0]!.index;
    if (i < offset || i > this.lastIndex()) return -1;
    return this.#ents[i - offset]!.term;
  }

  firstIndex(): number {
    return this.#ents[0]!.index + 1;
  }

  lastIndex(): number {
    return this.#ents[0]!.index + this.#ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  /** Installs a snapshot, discarding the whole log. Throws `snapshot_out_of_date` if older than the current one. */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index < this.#snapshot.meta.index) {
      throw new RaftError(
        RaftErrorCode.SnapshotOutOfDate,
        `snapshot ${snap.meta.index} is older than current`,
      );
    }
    this.#snapshot = snap;
    this.#ents = [{ index: snap.meta.index, term: snap.meta.term, kind: "noop", data: new Uint8Array(0) }];
  }

  /**
   * Records a snapshot at `index` (≤ last index) with the app's state and the config at that index.
   * Does not compact; call {@link compact} afterwards.
   */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.#snapshot.meta.index) {
      throw new RaftError(RaftErrorCode.SnapshotOutOfDate, `snapshot ${index} is not newer than current`);
    }
    if (index > this.lastIndex())
      throw new RaftError(RaftErrorCode.Unavailable, `snapshot ${index} beyond log`);
    const term = this.term(index);
    this.#snapshot = { meta: { index, term, conf }, data };
    return this.#snapshot;
  }

  /** Discards entries before `compactIndex` (the entry at `compactIndex` becomes the dummy, keeping its term). */
  compact(compactIndex: number): void {
    const offset = this.#ents[0]!.index;
    if (compactIndex <= offset) return;
    if (compactIndex > this.lastIndex()) {
      throw new RaftError(
        RaftErrorCode.Unavailable,
        `compact ${compactIndex} beyond last ${this.lastIndex()}`,
      );
    }
    const dummy = this.#ents[compactIndex - offset]!;
    this.#ents = [
      { index: dummy.index, term: dummy.term, kind: "noop", data: new Uint8Array(0) },
      ...this.#ents.slice(compactIndex - offset + 1),
    ];
  }

  /** No-op: memory is as durable as it gets (satisfies the Ready loop's `DurableStorage`). */
  sync(): void {}

  /** Appends entries, first removing any existing entries at or after `entries[0].index` (Raft §5.3). */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[entries.length - 1]!.index;
    if (last < first) return;
    let ents = entries;
    if (first > ents[0]!.index) ents = ents.slice(first - ents[0]!.index);
    const offset = ents[0]!.index - this.#ents[0]!.index;
    invariant(
      offset <= this.#ents.length,
      `append gap: first new ${ents[0]!.index}, last ${this.lastIndex()}`,
    );
    this.#ents = this.#ents.slice(0, offset).concat(ents);
  }
}

/**
 * The first entry of a fresh cluster: one conf entry adding every initial voter at index 1, term 1.
 * Nodes that join later replay it, so every node derives the same configuration from the log.
 */
export function bootstrapEntry(voters: readonly string[]): Entry {
  const data = new TextEncoder().encode(
    JSON.stringify({ changes: voters.map((node) => ({ type: "add_voter", node })), transition: "auto" }),
  );
  return { index: 1, term: 1, kind: "conf", data };
}

/** Creates a {@link MemoryStorage} for a founding member of a new cluster with the given voters. */
export function bootstrapMemoryStorage(voters: readonly string[]): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot({
    meta: { index: 0, term: 0, conf: { ...EMPTY_CONF, voters: [...voters].sort() } },
    data: new Uint8Array(0),
  });
  s.append([bootstrapEntry(voters)]);
  s.setHardState({ term: 1, vote: null, commit: 1 });
  return s;
}
