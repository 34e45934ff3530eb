/**
 * The leader-epoch cache (spec §1.5): an ascending list of (epoch, startOffset). Pure and
 * synchronous; the log persists it to `leader-epoch-checkpoint` after every change.
 */

/** One cache entry. */
export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

/** In-memory leader-epoch cache with upstream semantics; see the operations table in spec §1.5. */
export class LeaderEpochCache {
  #entries: EpochEntry[];

  constructor(entries: readonly EpochEntry[] = []) {
    this.#entries = [...entries];
  }

  /** Entries, ascending. */
  get entries(): readonly EpochEntry[] {
    return this.#entries;
  }

  /** Latest epoch, or -1 when empty. */
  get latestEpoch(): number {
    return this.#entries.at(-1)?.epoch ?? -1;
  }

  /** Start offset of the latest epoch, or -1 when empty. */
  get latestStartOffset(): number {
    return this.#entries.at(-1)?.startOffset ?? -1;
  }

  /** Appends (e, o) if e is newer than the latest epoch and o is not before its start; returns whether it did. */
  assign(epoch: number, startOffset: number): boolean {
    if (epoch > this.latestEpoch && startOffset >= this.latestStartOffset) {
      this.#entries.push({ epoch, startOffset });
      return true;
    }
    return false;
  }

  /** Start offset of the first epoch > `epoch`, or -1 when none (the log maps -1 to its newest offset). */
  lastOffsetForLeaderEpoch(epoch: number): number {
    for (const e of this.#entries) if (e.epoch >= epoch + 1) return e.startOffset;
    return -1;
  }

  /** Drops entries starting at or after `offset` (truncation). Returns whether anything changed. */
  clearLatest(offset: number): boolean {
    if (offset > this.latestStartOffset) return false;
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((e) => e.startOffset < offset);
    return this.#entries.length !== before;
  }

  /** Drops entries before `offset`, keeping the last dropped epoch starting at `offset` (retention). */
  clearEarliest(offset: number): boolean {
    const first = this.#entries[0];
    if (first === undefined || first.startOffset >= offset) return false;
    let lastDropped: EpochEntry | undefined;
    const kept: EpochEntry[] = [];
    for (const e of this.#entries) {
      if (e.startOffset < offset) lastDropped = e;
      else kept.push(e);
    }
    if (lastDropped !== undefined && (kept.length === 0 || offset < kept[0]!.startOffset)) {
      kept.unshift({ epoch: lastDropped.epoch, startOffset: offset });
    }
    this.#entries = kept;
    return true;
  }

  /** Replaces all entries. */
  replace(entries: readonly EpochEntry[]): void {
    this.#entries = [...entries];
  }

  /** Serialises in the upstream checkpoint format: version, count, then "epoch offset" lines. */
  toCheckpoint(): string {
    return `0\n${this.#entries.length}\n${this.#entries.map((e) => `${e.epoch} ${e.startOffset}\n`).join("")}`;
  }

  /** Parses the checkpoint format; throws `Error` on a bad version, count or duplicate epoch. */
  static fromCheckpoint(text: string): LeaderEpochCache {
    const tok = text.split(/\s+/).filter((t) => t.length > 0);
    const num = (s: string | undefined): number => {
      const n = Number(s);
      if (s === undefined || !Number.isSafeInteger(n)) throw new Error(`bad number ${JSON.stringify(s)}`);
      return n;
    };
    if (tok.length === 0) return new LeaderEpochCache();
    const version = num(tok[0]);
    if (version !== 0) throw new Error(`unsupported leader-epoch checkpoint version ${version}`);
    const n = num(tok[1]);
    if (tok.length !== 2 + 2 * n) throw new Error("leader-epoch checkpoint entry count mismatch");
    const entries: EpochEntry[] = [];
    for (let i = 0; i < n; i++) {
      const epoch = num(tok[2 + 2 * i]);
      const startOffset = num(tok[3 + 2 * i]);
      if (entries.length > 0 && epoch <= entries.at(-1)!.epoch)
        throw new Error("duplicate or unordered epoch");
      entries.push({ epoch, startOffset });
    }
    return new LeaderEpochCache(entries);
  }
}
