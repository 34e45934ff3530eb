import { invariant } from "../errors.js";
import { entrySize, type Storage } from "./storage.js";
import type { Entry, Snapshot } from "./types.js";

/**
 * The log as the core sees it: durable entries in {@link Storage} followed by unstable entries (not yet
 * handed to the host, or handed but not yet acknowledged through `advance`).
 */
export class RaftLog {
  readonly storage: Storage;
  committed: number;
  applied: number;
  /** Unstable snapshot, if any (received from a leader, not yet persisted). */
  unstableSnapshot: Snapshot | null = null;
  snapshotInProgress = false;
  /** Unstable entries; `unstable[0].index === offset`. */
  unstable: Entry[] = [];
  offset: number;
  /** Entries with index < offsetInProgress were already handed out by `ready()`. */
  offsetInProgress: number;
  /** Bumped whenever unstable entries already handed out are truncated (the async-append ABA guard). */
  generation = 0;

  constructor(storage: Storage, applied: number) {
    this.storage = storage;
    const last = storage.lastIndex();
    this.offset = last + 1;
    this.offsetInProgress = last + 1;
    this.committed = storage.initialState().hardState.commit;
    const first = storage.firstIndex() - 1;
    this.applied = Math.max(applied, first);
    invariant(this.applied <= this.committed || this.committed < first, "applied beyond commit on start");
    if (this.committed < first) this.committed = first;
  }

  firstIndex(): number {
    if (this.unstableSnapshot) return this.unstableSnapshot.meta.index + 1;
    return this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstable.length > 0) return this.offset + this.unstable.length - 1;
    if (this.unstableSnapshot) return this.unstableSnapshot.meta.index;
    return this.storage.lastIndex();
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /** Term of entry `i`, or -1 if unavailable or compacted. */
  term(i: number): number {
    if (i === 0) return 0;
    if (i >= this.offset && this.unstable.length > 0) {
      const e = this.unstable[i - this.offset];
      return e ? e.term : -1;
    }
    if (this.unstableSnapshot) {
      if (i === this.unstableSnapshot.meta.index) return this.unstableSnapshot.meta.term;
      if (i < this.unstableSnapshot.meta.index) return -1;
      return -1;
    }
    if (i < this.offset) return this.storage.term(i);
    return -1;
  }

  matchTerm(i: number, t: number): boolean {
    const tt = this.term(i);
    return tt !== -1 && tt === t;
  }

  /** Raft §5.4.1: is (lastTerm, lastIndex) of a candidate at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Entries in `[lo, hi)` limited to `maxBytes` (at least one). Returns `null` if `lo` is compacted.
   */
  slice(lo: number, hi: number, maxBytes: number): Entry[] | null {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) return null;
    invariant(hi <= this.lastIndex() + 1, `slice hi ${hi} > last+1 ${this.lastIndex() + 1}`);
    const out: Entry[] = [];
    let size = 0;
    if (lo < this.offset) {
      const stored = this.storage.entries(lo, Math.min(hi, this.offset), maxBytes);
      if (stored === null) return null;
      for (const e of stored) {
        size += entrySize(e);
        out.push(e);
      }
      if (out.length < Math.min(hi, this.offset) - lo) return out;
    }
    for (let i = Math.max(lo, this.offset); i < hi; i++) {
      const e = this.unstable[i - this.offset]!;
      size += entrySize(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** Largest index ≤ `index` whose term is ≤ `term` (conflict-hint backtracking). */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    for (; i > 0; i--) {
      const t = this.term(i);
      if (t === -1 || t <= term) break;
    }
    return i;
  }

  /** First index where `ents` conflicts with the log or extends it; 0 if all already present. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Appends leader entries after checking (index, logTerm) matches (Raft §5.3). Returns the index of the
   * last new entry, or -1 on mismatch.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number {
    if (!this.matchTerm(index, logTerm)) return -1;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      invariant(ci > this.committed, `conflict at ${ci} is at or below commit ${this.committed}`);
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /** Appends entries, truncating any unstable/durable suffix they conflict with. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const first = ents[0]!.index;
    invariant(first - 1 >= this.committed, `append at ${first} would overwrite commit ${this.committed}`);
    const after = first;
    if (after === this.offset + this.unstable.length) {
      this.unstable.push(...ents);
    } else if (after <= this.offset) {
      // Replace all unstable entries; the durable suffix ≥ after is superseded (storage truncates it).
      this.offset = after;
      if (this.offsetInProgress > after) this.generation++;
      this.offsetInProgress = after;
      this.unstable = [...ents];
    } else {
      this.unstable = this.unstable.slice(0, after - this.offset).concat(ents);
      if (this.offsetInProgress > after) {
        this.offsetInProgress = after;
        this.generation++;
      }
    }
    return this.lastIndex();
  }

  commitTo(c: number): void {
    if (c > this.committed) {
      invariant(c <= this.lastIndex(), `commit ${c} beyond last index ${this.lastIndex()}`);
      this.committed = c;
    }
  }

  /** Committed entries not yet applied, limited to those already durable or in the current ready. */
  nextCommitted(maxBytes: number): Entry[] {
    const lo = this.applied + 1;
    const hi = this.committed + 1;
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) return [];
    return this.slice(lo, hi, maxBytes) ?? [];
  }

  hasNextCommitted(): boolean {
    return this.committed > this.applied && this.applied + 1 >= this.firstIndex();
  }

  /** Unstable entries not yet handed to the host. */
  unstableToPersist(): Entry[] {
    return this.unstable.slice(this.offsetInProgress - this.offset);
  }

  acceptInProgress(): void {
    if (this.unstable.length > 0) this.offsetInProgress = this.offset + this.unstable.length;
    if (this.unstableSnapshot) this.snapshotInProgress = true;
  }

  /** Marks entries up to (i, t) durable, unless the log was truncated since they were handed out. */
  stableTo(i: number, t: number, generation: number): void {
    if (generation !== this.generation) return;
    if (i < this.offset) return;
    const e = this.unstable[i - this.offset];
    if (!e || e.term !== t) return;
    this.unstable = this.unstable.slice(i + 1 - this.offset);
    this.offset = i + 1;
    if (this.offsetInProgress < this.offset) this.offsetInProgress = this.offset;
  }

  stableSnapTo(i: number): void {
    if (this.unstableSnapshot && this.unstableSnapshot.meta.index === i) {
      this.unstableSnapshot = null;
      this.snapshotInProgress = false;
    }
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  restore(snap: Snapshot): void {
    this.committed = snap.meta.index;
    this.unstableSnapshot = snap;
    this.snapshotInProgress = false;
    this.offset = snap.meta.index + 1;
    this.offsetInProgress = this.offset;
    this.unstable = [];
    this.generation++;
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    invariant(
      i <= this.committed && i >= this.applied,
      `applied ${i} outside [${this.applied}, ${this.committed}]`,
    );
    this.applied = i;
  }
}
