/**
 * The metadata Raft group of a broker: a {@link RawNode} driven by a small host loop (persist → send →
 * apply → advance, the raft README order), the on-disk {@link RaftWal}, and the {@link MetadataState}
 * FSM. This issue runs it as a cluster of one (`--raft-bootstrap-seed`): the same propose/commit/apply
 * path a cluster uses, with no peers to send to.
 * @module
 */
import * as path from "node:path";
import {
  bootstrapEntry,
  confChangeOf,
  createRawNode,
  EMPTY_CONF,
  type RawNode,
  type Ready,
} from "@liftbridge/raft";
import { BrokerError, BrokerErrorCode, invariant } from "./errors.js";
import type { Logger } from "./logger.js";
import {
  type ApplyResult,
  decodeOp,
  encodeOp,
  type MetadataListener,
  type MetadataOp,
  MetadataState,
} from "./metadata.js";
import { RaftWal } from "./raft-wal.js";

/** Options of {@link MetadataRaft.open}. */
export interface MetadataRaftOptions {
  readonly dataDir: string;
  readonly serverId: string;
  /** Bootstrap a new single-node group when there is no Raft state. */
  readonly bootstrapSeed: boolean;
  readonly listener: MetadataListener;
  readonly logger: Logger;
  /** Take a snapshot once this many WAL records accumulated. Default 1024. */
  readonly snapshotThreshold?: number;
  /** Milliseconds per Raft tick. Default 100. */
  readonly tickMs?: number;
}

interface Waiter {
  resolve(r: ApplyResult): void;
  reject(e: Error): void;
}

/** The metadata Raft group plus its FSM. */
export class MetadataRaft {
  readonly state = new MetadataState();
  readonly #node: RawNode;
  readonly #wal: RaftWal;
  readonly #opts: MetadataRaftOptions;
  readonly #waiters = new Map<number, Waiter>();
  #applied: number;
  #recovering = true;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(opts: MetadataRaftOptions, wal: RaftWal) {
    this.#opts = opts;
    this.#wal = wal;
    const snap = wal.storage.snapshot();
    this.state.restore(snap.data);
    this.#applied = snap.meta.index;
    this.#node = createRawNode({
      id: opts.serverId,
      storage: wal.storage,
      random: Math.random,
      applied: snap.meta.index,
      electionTicks: 10,
      heartbeatTicks: 1,
    });
  }

  /**
   * Opens the group: loads the WAL, bootstraps when asked and there is no state, replays the committed
   * log into the FSM (without effects: the caller reconciles from {@link state} afterwards) and
   * campaigns. Throws `raft` when there is no state and no bootstrap flag (joining a cluster is a later
   * issue).
   */
  static open(opts: MetadataRaftOptions): MetadataRaft {
    const wal = RaftWal.open(path.join(opts.dataDir, "raft"));
    if (!wal.existed) {
      if (!opts.bootstrapSeed) {
        wal.close();
        throw new BrokerError(
          BrokerErrorCode.Raft,
          "no metadata Raft state and no bootstrap seed: start with --raft-bootstrap-seed",
        );
      }
      wal.saveSnapshot({
        meta: { index: 0, term: 0, conf: { ...EMPTY_CONF, voters: [opts.serverId] } },
        data: new Uint8Array(0),
      });
      wal.save([bootstrapEntry([opts.serverId])], { term: 1, vote: null, commit: 1 }, true);
    }
    const r = new MetadataRaft(opts, wal);
    const commit = wal.storage.hardState.commit;
    r.#process();
    invariant(r.#applied >= commit, `replay stopped at ${r.#applied} < commit ${commit}`);
    r.#recovering = false;
    r.#node.campaign();
    r.#process();
    r.#timer = setInterval(() => {
      r.#node.tick();
      r.#process();
    }, opts.tickMs ?? 100);
    r.#timer.unref();
    return r;
  }

  /** Whether this server leads the metadata group (always, once elected, on a single node). */
  get isLeader(): boolean {
    return this.#node.status().leader === this.#opts.serverId;
  }

  /** Index of the last applied entry. */
  get applied(): number {
    return this.#applied;
  }

  /**
   * Proposes an op and resolves with its apply result once committed and applied. Rejects with `raft`
   * when the proposal is dropped (not leader) or the group closes first.
   */
  propose(op: MetadataOp): Promise<ApplyResult> {
    if (this.#closed)
      return Promise.reject(new BrokerError(BrokerErrorCode.Closed, "metadata raft is closed"));
    const res = this.#node.propose(encodeOp(op));
    if (!res.ok) {
      return Promise.reject(
        new BrokerError(BrokerErrorCode.Raft, `Failed to apply operation: ${res.reason}`),
      );
    }
    const p = new Promise<ApplyResult>((resolve, reject) =>
      this.#waiters.set(res.index, { resolve, reject }),
    );
    this.#process();
    return p;
  }

  #process(): void {
    while (this.#node.hasReady()) {
      const rd = this.#node.ready();
      this.#handle(rd);
      this.#node.advance(rd);
    }
  }

  #handle(rd: Ready): void {
    if (rd.snapshot !== null) {
      this.#wal.saveSnapshot(rd.snapshot);
      this.state.restore(rd.snapshot.data);
      this.#applied = rd.snapshot.meta.index;
    }
    this.#wal.save(rd.entries, rd.hardState, rd.mustSync);
    // A cluster of one has no peers: any message is a bug in the wiring.
    invariant(
      rd.messages.every((m) => m.to === this.#opts.serverId),
      "raft message to an unknown peer",
    );
    for (const e of rd.committed) {
      if (e.index <= this.#applied) continue;
      if (e.kind === "conf") this.#node.applyConf(confChangeOf(e));
      let result: ApplyResult = { ok: true };
      if (e.kind === "normal" && e.data.byteLength > 0) {
        const op = decodeOp(e.data);
        result = this.state.apply(e.index, op, this.#recovering ? undefined : this.#opts.listener);
        if (!result.ok && !this.#recovering) {
          this.#opts.logger.warn({ index: e.index, op: op.op, reason: result.reason }, "metadata op skipped");
        }
      }
      this.#applied = e.index;
      const w = this.#waiters.get(e.index);
      if (w !== undefined) {
        this.#waiters.delete(e.index);
        w.resolve(result);
      }
    }
    const threshold = this.#opts.snapshotThreshold ?? 1024;
    if (this.#wal.records >= threshold && this.#applied > this.#wal.storage.snapshot().meta.index) {
      const conf = this.#node.status().conf;
      this.#wal.snapshot(this.#applied, conf, this.state.toSnapshot());
    }
  }

  /** Stops ticking, fails pending proposals and closes the WAL. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const w of this.#waiters.values())
      w.reject(new BrokerError(BrokerErrorCode.Closed, "metadata raft closed"));
    this.#waiters.clear();
    this.#wal.close();
  }
}
