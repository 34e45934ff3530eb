import type { KvOp } from "./history.js";

/** Result of a linearizability check. */
export interface LinearizabilityResult {
  readonly ok: boolean;
  /** True if the search hit its step budget for some key (then `ok` only means "no violation found"). */
  readonly exhausted: boolean;
  readonly badKey?: string;
  readonly steps: number;
}

interface Ev {
  op: KvOp;
  isCall: boolean;
  match: Ev | null;
  prev: Ev | null;
  next: Ev | null;
}

/** Register model step: returns the new state, or undefined if `op` cannot take effect in `state`. */
function stepModel(state: string | null, op: KvOp): { ok: boolean; state: string | null } {
  switch (op.f) {
    case "write":
      return { ok: true, state: op.value };
    case "read":
      return { ok: op.value === state, state };
    case "cas":
      if (op.outcome === "info")
        return state === op.expect ? { ok: true, state: op.value } : { ok: false, state };
      // A completed cas reports success in `value !== null`; a failed compare is recorded as outcome fail.
      return state === op.expect ? { ok: true, state: op.value } : { ok: false, state };
  }
}

/**
 * Wing-Gong-Lowe linearizability search for one key's register history (Knossos/Porcupine style).
 * `fail` ops are dropped (never took effect); `info` ops may take effect at any time after their
 * invocation or never; `info` reads are dropped. Bounded by `maxSteps`.
 */
export function checkRegister(
  ops: readonly KvOp[],
  maxSteps = 2_000_000,
): { ok: boolean; exhausted: boolean; steps: number } {
  const used = ops.filter((o) => o.outcome === "ok" || (o.outcome === "info" && o.f !== "read"));
  if (used.length === 0) return { ok: true, exhausted: false, steps: 0 };
  const events: { seq: number; ev: Ev }[] = [];
  for (const op of used) {
    const call: Ev = { op, isCall: true, match: null, prev: null, next: null };
    const ret: Ev = { op, isCall: false, match: null, prev: null, next: null };
    call.match = ret;
    events.push({ seq: op.invokeSeq, ev: call });
    events.push({ seq: op.outcome === "ok" ? op.completeSeq : Number.POSITIVE_INFINITY, ev: ret });
  }
  events.sort(
    (a, b) => a.seq - b.seq || (a.ev.isCall ? 1 : 0) - (b.ev.isCall ? 1 : 0) || a.ev.op.id - b.ev.op.id,
  );
  const head: Ev = { op: used[0]!, isCall: false, match: null, prev: null, next: null };
  let prev = head;
  for (const { ev } of events) {
    prev.next = ev;
    ev.prev = prev;
    prev = ev;
  }
  const index = new Map<number, number>();
  for (let i = 0; i < used.length; i++) index.set(used[i]!.id, i);
  const words = Math.ceil(used.length / 32);
  const lin = new Uint32Array(words);
  let determinateLeft = used.filter((o) => o.outcome === "ok").length;
  const cache = new Set<string>();
  const stack: { ev: Ev; state: string | null }[] = [];
  let state: string | null = null;
  let cur = head.next;
  let steps = 0;
  const lift = (e: Ev) => {
    e.prev!.next = e.next;
    if (e.next) e.next.prev = e.prev;
    const m = e.match!;
    m.prev!.next = m.next;
    if (m.next) m.next.prev = m.prev;
  };
  const unlift = (e: Ev) => {
    const m = e.match!;
    m.prev!.next = m;
    if (m.next) m.next.prev = m;
    e.prev!.next = e;
    if (e.next) e.next.prev = e;
  };
  while (determinateLeft > 0) {
    if (++steps > maxSteps) return { ok: true, exhausted: true, steps };
    if (cur === null) return { ok: false, exhausted: false, steps };
    if (cur.isCall) {
      const r = stepModel(state, cur.op);
      const bit = index.get(cur.op.id)!;
      if (r.ok) {
        lin[bit >> 5]! |= 1 << (bit & 31);
        const key = `${lin.join(",")}|${r.state}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ ev: cur, state });
          state = r.state;
          if (cur.op.outcome === "ok") determinateLeft--;
          lift(cur);
          cur = head.next;
          continue;
        }
        lin[bit >> 5]! &= ~(1 << (bit & 31));
      }
      cur = cur.next;
    } else {
      const top = stack.pop();
      if (!top) return { ok: false, exhausted: false, steps };
      state = top.state;
      const bit = index.get(top.ev.op.id)!;
      lin[bit >> 5]! &= ~(1 << (bit & 31));
      if (top.ev.op.outcome === "ok") determinateLeft++;
      unlift(top.ev);
      cur = top.ev.next;
    }
  }
  return { ok: true, exhausted: false, steps };
}

/** Checks a KV history key by key (linearizability is compositional). */
export function checkKvLinearizable(ops: readonly KvOp[], maxStepsPerKey = 2_000_000): LinearizabilityResult {
  const byKey = new Map<string, KvOp[]>();
  for (const op of ops) {
    const a = byKey.get(op.key);
    if (a) a.push(op);
    else byKey.set(op.key, [op]);
  }
  let steps = 0;
  let exhausted = false;
  for (const key of [...byKey.keys()].sort()) {
    const r = checkRegister(byKey.get(key)!, maxStepsPerKey);
    steps += r.steps;
    exhausted ||= r.exhausted;
    if (!r.ok) return { ok: false, exhausted, badKey: key, steps };
  }
  return { ok: true, exhausted, steps };
}
