/** Outcome of an operation (Jepsen): ok, fail (definitely not applied), info (indeterminate). */
export type OpOutcome = "ok" | "fail" | "info";

/** One KV operation in a history. `value` for reads is the value observed (null = absent). */
export interface KvOp {
  readonly id: number;
  readonly process: string;
  readonly f: "write" | "read" | "cas";
  readonly key: string;
  /** write: value written; cas: [expected, new]; read: value read (set on completion). */
  value: string | null;
  readonly expect: string | null;
  outcome: OpOutcome | null;
  /** Global sequence numbers of invocation and completion (a total order of real time). */
  readonly invokeSeq: number;
  completeSeq: number;
  readonly invokeMs: number;
  completeMs: number;
}

/** A Jepsen-style history: invoke → ok/fail/info, ordered by a global sequence. */
export class History {
  readonly ops: KvOp[] = [];
  #seq = 0;

  /** Records an invocation; complete it with {@link complete}. */
  invoke(
    process: string,
    f: KvOp["f"],
    key: string,
    value: string | null,
    nowMs: number,
    expect: string | null = null,
  ): KvOp {
    const op: KvOp = {
      id: this.ops.length,
      process,
      f,
      key,
      value,
      expect,
      outcome: null,
      invokeSeq: this.#seq++,
      completeSeq: Number.POSITIVE_INFINITY,
      invokeMs: nowMs,
      completeMs: Number.POSITIVE_INFINITY,
    };
    this.ops.push(op);
    return op;
  }

  /** Completes an op. For reads pass the observed value. */
  complete(op: KvOp, outcome: OpOutcome, nowMs: number, readValue?: string | null): void {
    if (op.outcome !== null) return;
    op.outcome = outcome;
    if (outcome !== "info") {
      op.completeSeq = this.#seq++;
      op.completeMs = nowMs;
    }
    if (op.f === "read" && readValue !== undefined) op.value = readValue;
  }

  /** Marks every pending op indeterminate (end of test). */
  closeAll(): void {
    for (const op of this.ops) if (op.outcome === null) op.outcome = "info";
  }

  /** Jepsen-style line per op, for traces. */
  format(op: KvOp): string {
    return `${op.process} ${op.f} ${op.key}=${op.expect !== null ? `${op.expect}->` : ""}${op.value} ${op.outcome ?? "pending"}`;
  }
}
