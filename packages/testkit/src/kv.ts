/** A command of the KV state machine; `id` makes retries idempotent. */
export type KvCommand =
  | { readonly op: "put"; readonly key: string; readonly value: string; readonly id: string }
  | {
      readonly op: "cas";
      readonly key: string;
      readonly expect: string | null;
      readonly value: string;
      readonly id: string;
    };

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Encodes a KV command as log entry data. */
export function encodeKvCommand(c: KvCommand): Uint8Array {
  return enc.encode(JSON.stringify(c));
}

/** Decodes KV command data. */
export function decodeKvCommand(b: Uint8Array): KvCommand {
  return JSON.parse(dec.decode(b)) as KvCommand;
}

/**
 * A small deterministic KV state machine applied from a replicated log. Remembers the result of every
 * command id so a retried command is applied at most once.
 */
export class KvStateMachine {
  readonly data = new Map<string, string>();
  readonly results = new Map<string, boolean>();
  /** Index of the last applied log entry. */
  appliedIndex = 0;
  /** Hash chain over applied commands (for state-machine safety checks). */
  applyHash = 0;

  /** Applies a command at `index`; returns whether it took effect (cas may fail). */
  apply(index: number, data: Uint8Array): boolean {
    this.appliedIndex = index;
    const c = decodeKvCommand(data);
    const prior = this.results.get(c.id);
    if (prior !== undefined) return prior;
    let ok = true;
    if (c.op === "put") this.data.set(c.key, c.value);
    else if ((this.data.get(c.key) ?? null) === c.expect) this.data.set(c.key, c.value);
    else ok = false;
    this.results.set(c.id, ok);
    this.applyHash = hashMix(this.applyHash, `${index}:${c.id}:${ok}`);
    return ok;
  }

  /** Marks a non-command entry (noop/conf) applied. */
  skip(index: number): void {
    this.appliedIndex = index;
  }

  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  /** Serializes the state (for raft snapshots). */
  snapshot(): Uint8Array {
    return enc.encode(
      JSON.stringify({
        i: this.appliedIndex,
        h: this.applyHash,
        d: [...this.data].sort(),
        r: [...this.results].sort(),
      }),
    );
  }

  /** Replaces the state from {@link snapshot} bytes. */
  restore(b: Uint8Array): void {
    const s = JSON.parse(dec.decode(b)) as {
      i: number;
      h: number;
      d: [string, string][];
      r: [string, boolean][];
    };
    this.data.clear();
    this.results.clear();
    for (const [k, v] of s.d) this.data.set(k, v);
    for (const [k, v] of s.r) this.results.set(k, v);
    this.appliedIndex = s.i;
    this.applyHash = s.h;
  }
}

/** 32-bit FNV-style mix of a string into a hash. */
export function hashMix(h: number, s: string): number {
  let x = h ^ 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    x ^= s.charCodeAt(i);
    x = Math.imul(x, 0x01000193);
  }
  return x >>> 0;
}
