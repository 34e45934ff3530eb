/**
 * The metadata Raft group of a broker: `@liftbridge/raft`'s {@link RaftNode} driver over its durable
 * {@link FileStorage} (`<data.dir>/raft/`), with the {@link MetadataState} FSM as the state machine.
 * A cluster of one (`--raft-bootstrap-seed`) uses a transport with no peers; a cluster gets the NATS
 * transport (`raft-nats-transport.ts`), bootstraps with its peers or joins (spec internals §3.5).
 * @module
 */
import { existsSync, rmSync } from "node:fs";
import * as path from "node:path";
import {
  createRaftNode,
  type Entry,
  FileStorage,
  isRaftError,
  type NodeId,
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
   * Called after the FSM was replaced by a snapshot from the leader (a lagging or new member): the
   * listener heard no per-op effects for it, so the owner reconciles with {@link MetadataRaft.state}.
   */
  readonly onRestore?: () => void;
  /** The Raft transport. Default: none (a cluster of one). */
  readonly transport?: RaftTransport;
  /**
   * `clustering.raft.bootstrap.peers`: bootstrap with these servers plus this one when there is no
   * state. With {@link maxQuorumSize} Q > 0 only the first Q ids (sorted) bootstrap as voters; a
   * server outside them joins instead (and is added as a non-voter).
   */
  readonly bootstrapPeers?: readonly string[];
  /** `clustering.raft.max.quorum.size` (0 = no limit). */
  readonly maxQuorumSize?: number;
  /**
   * Called when there is no state and no bootstrap setting: asks the metadata leader to add this
   * server (spec internals §3.5 join) and resolves once it did. Without it, such a start fails.
   */
  readonly join?: () => Promise<void>;
  /**
   * Hears every applied command entry, during recovery too (the activity stream's signal, spec
   * internals §3.2 "every apply also signals the activity manager"). Must not throw.
   */
  readonly onApply?: (index: number, op: MetadataOp, result: ApplyResult) => void;
}

/** What a server without Raft state does (spec internals §3.5). */
export type BootstrapPlan =
  | { readonly kind: "bootstrap"; readonly voters: string[] }
  | { readonly kind: "join" };

/**
 * Decides how a server with no Raft state starts: bootstrap alone (seed), bootstrap with its peers
 * (the first `maxQuorumSize` sorted ids as voters; a server outside them joins), or join.
 */
export function planBootstrap(
  serverId: string,
  seed: boolean,
  peers: readonly string[],
  maxQuorumSize: number,
): BootstrapPlan {
  if (peers.length === 0) return seed ? { kind: "bootstrap", voters: [serverId] } : { kind: "join" };
  const all = [...new Set([serverId, ...peers])].sort();
  const voters = maxQuorumSize > 0 ? all.slice(0, maxQuorumSize) : all;
  // Upstream swaps the local server into the voters, so servers bootstrap with different
  // configurations; here a server outside the quorum joins instead, keeping one configuration.
  return voters.includes(serverId) ? { kind: "bootstrap", voters } : { kind: "join" };
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
  #fs: ReturnType<typeof nodeRaftFs>;
  readonly #storage: FileStorage;
  readonly #serverId: string;
  /** Joins the cluster once started (no state, no bootstrap setting). */
  readonly #mustJoin: boolean;
  /** Commit index found on disk: local recovery is done once it is applied. */
  readonly #recoveredCommit: number;
  readonly #appliedWaiters: { index: number; resolve: () => void }[] = [];
  #recovering = true;
  #closed = false;

  private constructor(opts: MetadataRaftOptions) {
    const dir = path.join(opts.dataDir, "raft");
    this.#serverId = opts.serverId;
    this.#fs = nodeRaftFs();
    const hasFiles = existsSync(path.join(dir, "wal")) || existsSync(path.join(dir, "snap"));
    let storage = hasFiles ? FileStorage.open(this.#fs, dir) : undefined;
    // "State" means something to recover: a joiner that never heard from a leader has none.
    const hasState =
      storage !== undefined && (storage.lastIndex() > 0 || storage.initialState().hardState.term > 0);
    this.#mustJoin = false;
    if (!hasState) {
      const plan = planBootstrap(
        opts.serverId,
        opts.bootstrapSeed,
        opts.bootstrapPeers ?? [],
        opts.maxQuorumSize ?? 0,
      );
      if (plan.kind === "join" && opts.join === undefined) {
        this.#fs.close();
        throw new BrokerError(
          BrokerErrorCode.Raft,
          "no metadata Raft state and no bootstrap seed: start with --raft-bootstrap-seed",
        );
      }
      if (plan.kind === "bootstrap") {
        if (storage !== undefined) {
          // An empty directory left by a join that never completed: start over as a founder.
          this.#fs.close();
          rmSync(dir, { recursive: true, force: true });
          this.#fs = nodeRaftFs();
        }
        storage = FileStorage.open(this.#fs, dir, { voters: plan.voters });
      } else {
        storage ??= FileStorage.open(this.#fs, dir);
        this.#mustJoin = true;
      }
    }
    if (storage === undefined) storage = FileStorage.open(this.#fs, dir);
    this.#recoveredCommit = storage.initialState().hardState.commit;
    this.#storage = storage;
    const state = this.state;
    const log = opts.logger.child({ component: "metadata", nodeId: opts.serverId });
    this.#node = createRaftNode({
      id: opts.serverId,
      storage,
      transport: opts.transport ?? NO_PEERS,
      tickMs: opts.tickMs ?? 100,
      snapshotEvery: opts.snapshotThreshold ?? 8192,
      keepEntries: Math.min(1024, opts.snapshotThreshold ?? 1024),
      logger: opts.logger, // raft binds its own component and nodeId
      // NATS' default max_payload is 1 MiB: keep appends well under it.
      raft: { maxSizePerMsg: 256 * 1024 },
      stateMachine: {
        apply: (e: Entry): ApplyResult => {
          if (this.#appliedWaiters.length > 0) queueMicrotask(() => this.#wakeApplied());
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
        restore: (data) => {
          state.restore(data);
          if (!this.#recovering) queueMicrotask(() => opts.onRestore?.());
        },
      },
    });
  }

  /**
   * Opens the group: loads `<dataDir>/raft`, bootstraps when asked and there is no state, and
   * resolves once the committed log is applied (without effects: the caller reconciles from
   * {@link state}). A cluster of one campaigns and reads the log through a barrier; a member of a
   * larger cluster replays its own committed log without waiting for a leader; a server without state
   * and bootstrap settings then runs `join`. Throws `raft` when there is no state, no bootstrap setting
   * and no `join`, or when the group does not become ready; `join`'s error when joining fails.
   */
  static async open(opts: MetadataRaftOptions): Promise<MetadataRaft> {
    const r = new MetadataRaft(opts);
    try {
      // Replay the own committed log first: its configuration changes decide whether this is still a
      // cluster of one (a restarted seed starts from its bootstrap configuration of one voter).
      await r.waitApplied(r.#recoveredCommit, 10_000);
      const conf = r.#node.status().conf;
      if (conf.voters.length === 1 && conf.voters[0] === opts.serverId && conf.learners.length === 0) {
        // A cluster of one: elect now and read the whole log (the single-node path, unchanged).
        r.#node.campaign();
        await r.#node.readBarrier({ timeoutMs: 10_000 });
      }
      // A member of a cluster does not wait for a leader: it has rebuilt the FSM from its own
      // committed log, and later entries are applied with effects as they arrive.
    } catch (e) {
      await r.close();
      throw new BrokerError(BrokerErrorCode.Raft, "metadata Raft group did not become ready", { cause: e });
    }
    r.#recovering = false;
    if (r.#mustJoin) {
      try {
        await opts.join!();
        // The leader answered once it applied the change; wait until this server has it too, so it
        // knows the cluster (and its log up to there) when it starts serving.
        const end = Date.now() + 10_000;
        while (!r.members.includes(opts.serverId)) {
          if (Date.now() > end)
            throw new BrokerError(BrokerErrorCode.Raft, "joined but not in the configuration");
          await new Promise((res) => setTimeout(res, 10));
        }
      } catch (e) {
        await r.close();
        throw e;
      }
    }
    return r;
  }

  /** Whether this server leads the metadata group (always, once elected, on a single node). */
  get isLeader(): boolean {
    return this.#node.status().leader === this.#serverId;
  }

  /** The known metadata leader (the controller), or `null` during an election. */
  get leader(): NodeId | null {
    return this.#node.status().leader;
  }

  /**
   * Every server of the Raft configuration (voters, then non-voters), as placement and
   * FetchMetadata count them (spec internals §3.5).
   */
  get members(): string[] {
    const c = this.#node.status().conf;
    return [...new Set([...c.voters, ...c.votersOutgoing, ...c.learners, ...c.learnersNext])];
  }

  /** Number of voters in the Raft configuration. */
  get voterCount(): number {
    return this.#node.status().conf.voters.length;
  }

  /**
   * Leader only: adds `id` to the configuration as a voter or a non-voter (idempotent: a member
   * is left as it is). Rejects with `raft` when refused (not leader, a change pending, timeout).
   */
  async addMember(id: string, voter: boolean, timeoutMs = 5000): Promise<void> {
    if (this.members.includes(id)) return;
    try {
      await this.#node.proposeConf(
        { changes: [{ type: voter ? "add_voter" : "add_learner", node: id }] },
        { timeoutMs },
      );
    } catch (e) {
      throw new BrokerError(BrokerErrorCode.Raft, "failed to add server to the metadata group", { cause: e });
    }
  }

  /** Resolves once the entry at `index` is applied here; rejects with `raft` after `timeoutMs`. */
  waitApplied(index: number, timeoutMs: number): Promise<void> {
    if (this.#node.status().applied >= index) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = {
        index,
        resolve: () => {
          clearTimeout(timer);
          clearInterval(poll);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        clearInterval(poll);
        const i = this.#appliedWaiters.indexOf(w);
        if (i >= 0) this.#appliedWaiters.splice(i, 1);
        reject(new BrokerError(BrokerErrorCode.Raft, `metadata entry ${index} not applied in time`));
      }, timeoutMs);
      // Conf and no-op entries do not reach the state machine's apply: look at the index too.
      const poll = setInterval(() => this.#wakeApplied(), 10);
      this.#appliedWaiters.push(w);
      this.#wakeApplied();
    });
  }

  #wakeApplied(): void {
    const applied = this.#node.status().applied;
    for (let i = this.#appliedWaiters.length - 1; i >= 0; i--) {
      const w = this.#appliedWaiters[i]!;
      if (w.index <= applied) {
        this.#appliedWaiters.splice(i, 1);
        w.resolve();
      }
    }
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
  async propose(op: MetadataOp, timeoutMs?: number): Promise<ApplyResult> {
    return (await this.proposeIndexed(op, timeoutMs)).result;
  }

  /** {@link propose}, also returning the Raft index of the entry. */
  async proposeIndexed(op: MetadataOp, timeoutMs?: number): Promise<{ result: ApplyResult; index: number }> {
    if (this.#closed) throw new BrokerError(BrokerErrorCode.Closed, "metadata raft is closed");
    try {
      const { result, index } = await this.#node.propose(
        encodeOp(op),
        timeoutMs === undefined ? undefined : { timeoutMs },
      );
      return { result: result as ApplyResult, index };
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
