import { subjectMatches } from "./subject.js";

/** Anything stored in a {@link Sublist}: a subject and an optional queue group. */
export interface SublistEntry {
  readonly subject: string;
  readonly queue: string | undefined;
}

/**
 * The subscriptions interested in one literal subject: plain subscriptions, and one array per queue
 * group (one member of each group gets the message). Results are immutable snapshots: the sublist never
 * mutates a result it returned, so callers may iterate while subscriptions come and go.
 */
export interface SublistResult<T extends SublistEntry> {
  readonly psubs: readonly T[];
  readonly qsubs: readonly (readonly T[])[];
}

interface Level<T extends SublistEntry> {
  literal: Map<string, Node<T>>;
  pwc: Node<T> | undefined;
  fwc: Node<T> | undefined;
  count: number;
}

interface Node<T extends SublistEntry> {
  next: Level<T> | undefined;
  psubs: Set<T>;
  qsubs: Map<string, Set<T>>;
}

const newLevel = <T extends SublistEntry>(): Level<T> => ({
  literal: new Map(),
  pwc: undefined,
  fwc: undefined,
  count: 0,
});
const newNode = <T extends SublistEntry>(): Node<T> => ({
  next: undefined,
  psubs: new Set(),
  qsubs: new Map(),
});

/** Default number of literal subjects whose match result is cached. */
export const DEFAULT_SUBLIST_CACHE_SIZE = 4096;

const EMPTY: SublistResult<never> = Object.freeze({ psubs: Object.freeze([]), qsubs: Object.freeze([]) });

/**
 * Subject index: a trie with one level per token (`*` and `>` held apart from literal tokens) plus a
 * cache of match results keyed by literal subject, so routing a literal subject is one `Map` lookup
 * however many subscriptions exist. Inserting or removing a subscription drops only the cached
 * subjects it matches (the nats-server sublist design, re-stated). Not safe to share across threads;
 * all calls are synchronous.
 */
export class Sublist<T extends SublistEntry> {
  private readonly root: Level<T> = newLevel();
  private readonly cache = new Map<string, SublistResult<T>>();
  private readonly cacheSize: number;
  private total = 0;

  constructor(cacheSize = DEFAULT_SUBLIST_CACHE_SIZE) {
    this.cacheSize = cacheSize;
  }

  /** Number of entries stored. */
  get count(): number {
    return this.total;
  }

  /** Number of cached match results (for tests and stats). */
  get cacheCount(): number {
    return this.cache.size;
  }

  /** Adds an entry; the subject must already be valid (see `isValidSubject`). */
  insert(entry: T): void {
    const tokens = entry.subject.split(".");
    let level = this.root;
    let node: Node<T> | undefined;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i] as string;
      if (t === "*") {
        node = level.pwc ??= newNode();
      } else if (t === ">") {
        node = level.fwc ??= newNode();
      } else {
        node = level.literal.get(t);
        if (node === undefined) {
          node = newNode();
          level.literal.set(t, node);
        }
      }
      level.count++;
      if (i < tokens.length - 1) level = node.next ??= newLevel();
    }
    const n = node as Node<T>;
    if (entry.queue === undefined) {
      n.psubs.add(entry);
    } else {
      let set = n.qsubs.get(entry.queue);
      if (set === undefined) {
        set = new Set();
        n.qsubs.set(entry.queue, set);
      }
      set.add(entry);
    }
    this.total++;
    this.invalidate(entry.subject);
  }

  /** Removes an entry; returns false when it was not stored. */
  remove(entry: T): boolean {
    const tokens = entry.subject.split(".");
    const path: { level: Level<T>; token: string; node: Node<T> }[] = [];
    let level: Level<T> | undefined = this.root;
    for (let i = 0; i < tokens.length; i++) {
      if (level === undefined) return false;
      const t = tokens[i] as string;
      const node: Node<T> | undefined = t === "*" ? level.pwc : t === ">" ? level.fwc : level.literal.get(t);
      if (node === undefined) return false;
      path.push({ level, token: t, node });
      level = node.next;
    }
    const last = path[path.length - 1];
    if (last === undefined) return false;
    const n = last.node;
    if (entry.queue === undefined) {
      if (!n.psubs.delete(entry)) return false;
    } else {
      const set = n.qsubs.get(entry.queue);
      if (set === undefined || !set.delete(entry)) return false;
      if (set.size === 0) n.qsubs.delete(entry.queue);
    }
    this.total--;
    // Prune empty nodes bottom-up so the trie does not grow with churned subjects.
    for (let i = path.length - 1; i >= 0; i--) {
      const p = path[i] as { level: Level<T>; token: string; node: Node<T> };
      p.level.count--;
      const empty =
        p.node.psubs.size === 0 &&
        p.node.qsubs.size === 0 &&
        (p.node.next === undefined || p.node.next.count === 0);
      if (empty) {
        if (p.token === "*") p.level.pwc = undefined;
        else if (p.token === ">") p.level.fwc = undefined;
        else p.level.literal.delete(p.token);
      }
    }
    this.invalidate(entry.subject);
    return true;
  }

  /** Returns the entries whose subject matches the literal `subject`. */
  match(subject: string): SublistResult<T> {
    const cached = this.cache.get(subject);
    if (cached !== undefined) return cached;
    const tokens = subject.split(".");
    for (const t of tokens) if (t.length === 0) return EMPTY;
    const psubs: T[] = [];
    const groups = new Map<string, T[]>();
    matchLevel(this.root, tokens, 0, psubs, groups);
    const result: SublistResult<T> =
      psubs.length === 0 && groups.size === 0 ? EMPTY : { psubs, qsubs: [...groups.values()] };
    if (this.cache.size >= this.cacheSize) {
      // Evict the oldest entries in insertion order; a quarter at a time keeps this amortised O(1).
      let drop = this.cacheSize >> 2 || 1;
      for (const k of this.cache.keys()) {
        this.cache.delete(k);
        if (--drop === 0) break;
      }
    }
    this.cache.set(subject, result);
    return result;
  }

  private invalidate(pattern: string): void {
    if (this.cache.size === 0) return;
    if (pattern.indexOf("*") === -1 && pattern.indexOf(">") === -1) {
      this.cache.delete(pattern);
      return;
    }
    for (const k of this.cache.keys()) if (subjectMatches(pattern, k)) this.cache.delete(k);
  }
}

function collect<T extends SublistEntry>(node: Node<T>, psubs: T[], groups: Map<string, T[]>): void {
  for (const s of node.psubs) psubs.push(s);
  for (const [q, set] of node.qsubs) {
    let arr = groups.get(q);
    if (arr === undefined) {
      arr = [];
      groups.set(q, arr);
    }
    for (const s of set) arr.push(s);
  }
}

function matchLevel<T extends SublistEntry>(
  level: Level<T>,
  tokens: string[],
  i: number,
  psubs: T[],
  groups: Map<string, T[]>,
): void {
  const last = i === tokens.length - 1;
  if (level.fwc !== undefined) collect(level.fwc, psubs, groups);
  if (level.pwc !== undefined) {
    if (last) collect(level.pwc, psubs, groups);
    else if (level.pwc.next !== undefined) matchLevel(level.pwc.next, tokens, i + 1, psubs, groups);
  }
  const node = level.literal.get(tokens[i] as string);
  if (node !== undefined) {
    if (last) collect(node, psubs, groups);
    else if (node.next !== undefined) matchLevel(node.next, tokens, i + 1, psubs, groups);
  }
}
