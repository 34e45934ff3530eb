/**
 * The metadata Raft group of a broker: `@liftbridge/raft`'s {@link RaftNode} driver over its durable
 * {@link FileStorage} (`<data.dir>/raft/`), with the {@link MetadataState} FSM as the state machine.
 * This issue runs it as a cluster of one (`--raft-bootstrap-seed`): the same propose/commit/apply path
 * a cluster uses, with a transport that has no peers.
 * @module
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import {
  createRaftNode,
  type Entry,
  FileStorage,
  isRaftError,
  nodeRaftFs,
  type RaftNode,
  type RaftTransport,
} from "@liftbridge/raft";
import { BrokerError, BrokerErrorCode } from "./errors.js";
import type { Logger } from "./logger.js";
import {
  type ApplyResult,
  decodeOp,
  encodeOp,
  type MetadataListener,
  type MetadataOp,
  MetadataState,
} from "./metadata.js";

/** Options of {@link MetadataRaft.open}. */
export interface MetadataRaftOptions {
  readonly dataDir: string;
  readonly serverId: string;
  /** Bootstrap a new single-node group when there is no Raft state. */
  readonly bootstrapSeed: boolean;
  /** Hears the effects of ops applied after recovery. */
  readonly listener: MetadataListener;
  readonly logger: Logger;
  /** Take a snapshot every this many applied entries. Default 8192 (hashicorp's threshold). */
  readonly snapshotThreshold?: number;
  /** Milliseconds per Raft tick. Default 100. */
  readonly tickMs?: number;
  /**
   * Hears every applied command entry, during recovery too (the activity stream's signal, spec
   * internals §3.2 "every apply also signals the activity manager"). Must not throw.
   */
  readonly onApply?: (index: number, op: MetadataOp, result: ApplyResult) => void;
}

/** A transport for a group of one: there is nobody to send to. */
const NO_PEERS: RaftTransport = {
  send: () => {},
  setHandler: () => {},
  close: async () => {},
};

/** The metadata Raft group plus its FSM. */
export class MetadataRaft {
  readonly state = new MetadataState();
  readonly #node: RaftNode;
  readonly #fs: ReturnType<typeof nodeRaftFs>;
  readonly #storage: FileStorage;
  readonly #serverId: string;
  #recovering = true;
  #closed = false;

  private constructor(opts: MetadataRaftOptions) {
    const dir = path.join(opts.dataDir, "raft");
    const hasState = existsSync(path.join(dir, "wal")) || existsSync(path.join(dir, "snap"));
    if (!hasState && !opts.bootstrapSeed) {
      throw new BrokerError(
        BrokerErrorCode.Raft,
        "no metadata Raft state and no bootstrap seed: start with --raft-bootstrap-seed",
      );
    }
    this.#serverId = opts.serverId;
    this.#fs = nodeRaftFs();
    const storage = FileStorage.open(this.#fs, dir, hasState ? undefined : { voters: [opts.serverId] });
    this.#storage = storage;
    const state = this.state;
    const log = opts.logger.child({ component: "metadata", nodeId: opts.serverId });
    this.#node = createRaftNode({
      id: opts.serverId,
      storage,
      transport: NO_PEERS,
      tickMs: opts.tickMs ?? 100,
      snapshotEvery: opts.snapshotThreshold ?? 8192,
      keepEntries: Math.min(1024, opts.snapshotThreshold ?? 1024),
      logger: opts.logger, // raft binds its own component and nodeId
      stateMachine: {
        apply: (e: Entry): ApplyResult => {
          if (e.data.byteLength === 0) return { ok: true };
          const op = decodeOp(e.data);
          // While recovering the FSM is rebuilt without effects; the broker reconciles afterwards.
          const res = state.apply(e.index, op, this.#recovering ? undefined : opts.listener);
          if (!res.ok && !this.#recovering)
            log.warn({ index: e.index, op: op.op, reason: res.reason }, "metadata op skipped");
          opts.onApply?.(e.index, op, res);
          return res;
        },
        snapshot: () => state.toSnapshot(),
        restore: (data) => state.restore(data),
      },
    });
  }

  /**
   * Opens the group: loads `<dataDir>/raft`, bootstraps when asked and there is no state, campaigns,
   * and resolves once the committed log is applied (without effects: the caller reconciles from
   * {@link state}). Throws `raft` when there is no state and no bootstrap flag (joining a cluster is a
   * later issue) or when the group does not become ready.
   */
  static async open(opts: MetadataRaftOptions): Promise<MetadataRaft> {
    const r = new MetadataRaft(opts);
    try {
      r.#node.campaign();
      await r.#node.readBarrier({ timeoutMs: 10_000 });
    } catch (e) {
      await r.close();
      throw new BrokerError(BrokerErrorCode.Raft, "metadata Raft group did not become ready", { cause: e });
    }
    r.#recovering = false;
    return r;
  }

  /** Whether this server leads the metadata group (always, once elected, on a single node). */
  get isLeader(): boolean {
    return this.#node.status().leader === this.#serverId;
  }

  /** Index of the last applied entry. */
  get applied(): number {
    return this.#node.status().applied;
  }

  /** Index of the first entry still in the log (older ones are compacted into the snapshot). */
  get firstIndex(): number {
    return this.#storage.firstIndex();
  }

  /**
   * The op of the log entry at `index` (at most {@link applied}): `undefined` for a non-command entry
   * (no-op, membership change), `null` when the entry was compacted away.
   */
  entryOp(index: number): MetadataOp | null | undefined {
    const ents = this.#storage.entries(index, index + 1, 0);
    if (ents === null) return null;
    const e = ents[0];
    if (e === undefined || e.kind !== "normal" || e.data.byteLength === 0) return undefined;
    return decodeOp(e.data);
  }

  /**
   * Proposes an op and resolves with its apply result once committed and applied. Rejects with `raft`
   * when the proposal is refused or times out, `closed` when the group is closed.
   */
  async propose(op: MetadataOp): Promise<ApplyResult> {
    if (this.#closed) throw new BrokerError(BrokerErrorCode.Closed, "metadata raft is closed");
    try {
      const { result } = await this.#node.propose(encodeOp(op));
      return result as ApplyResult;
    } catch (e) {
      if (isRaftError(e, "closed"))
        throw new BrokerError(BrokerErrorCode.Closed, "metadata raft is closed", { cause: e });
      throw new BrokerError(BrokerErrorCode.Raft, "Failed to apply operation", { cause: e });
    }
  }

  /** Stops the node and closes its files. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#node.close();
    this.#fs.close();
  }
}
