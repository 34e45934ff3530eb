/**
 * Cluster membership over NATS (spec internals §2.5, §3.5, §3.7): joining the metadata group, the
 * leader answering joins, server info for FetchMetadata's broker list, and partition status (has the
 * partition's leader started?). Payloads are our own JSON; wire compatibility with Go nodes is not
 * a goal.
 * @module
 */
import { BrokerError, BrokerErrorCode } from "./errors.js";
import type { Logger } from "./logger.js";
import type { MetadataRaft } from "./metadata-raft.js";
import type { NatsConnection, NatsSubscriptionHandle } from "./nats.js";
import { fromJsonBytes, natsCollect, natsRequest, toJsonBytes } from "./nats-request.js";

/** One server as FetchMetadata lists it. */
export interface ServerInfo {
  readonly id: string;
  readonly host: string;
  readonly port: number;
}

/** Timing of the join loop (spec: 30 attempts, 1 s timeout, 1 s apart). */
export interface JoinOptions {
  readonly nats: NatsConnection;
  readonly namespace: string;
  readonly serverId: string;
  readonly logger: Logger;
  /** Default 30. */
  readonly attempts?: number;
  /** Per-attempt request timeout. Default 1000 ms. */
  readonly timeoutMs?: number;
  /** Pause between attempts. Default 1000 ms. */
  readonly intervalMs?: number;
  /** Stops the loop early (server shutdown). */
  readonly signal?: AbortSignal;
}

/** Subjects of the metadata group in namespace `ns`. */
export const clusterSubjects = (ns: string) => ({
  join: `${ns}.raft.metadata.join`,
  propagate: `${ns}.raft.metadata.propagate`,
  info: `${ns}.raft.metadata.info`,
  infoInbox: `${ns}.raft.metadata.fetch`,
  status: (id: string) => `${ns}.raft.metadata.status.${id}`,
  inbox: (id: string) => `${ns}.raft.metadata.${id}.reply`,
});

/**
 * Asks the metadata leader to add this server (spec internals §3.5): a request on
 * `<ns>.raft.metadata.join`, retried up to `attempts` times. Rejects with `raft` "failed to join
 * metadata Raft group" when no leader accepted it.
 */
export async function joinCluster(o: JoinOptions): Promise<void> {
  const s = clusterSubjects(o.namespace);
  const log = o.logger.child({ component: "cluster", nodeId: o.serverId });
  const attempts = o.attempts ?? 30;
  let lastError = "no metadata leader answered";
  for (let i = 0; i < attempts; i++) {
    if (o.signal?.aborted === true) break;
    const reply = await natsRequest(o.nats, s.join, toJsonBytes({ nodeId: o.serverId }), {
      inboxPrefix: s.inbox(o.serverId),
      timeoutMs: o.timeoutMs ?? 1000,
    });
    if (reply !== undefined) {
      const r = fromJsonBytes(reply) as { error?: string } | undefined;
      if (r !== undefined && (r.error ?? "") === "") {
        log.info({ attempt: i + 1 }, "joined metadata raft group");
        return;
      }
      lastError = r?.error ?? "malformed join response";
    }
    log.warn({ attempt: i + 1, reason: lastError }, "metadata raft join failed, retrying");
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 1000));
  }
  throw new BrokerError(BrokerErrorCode.Raft, `failed to join metadata Raft group: ${lastError}`);
}

/** What {@link ClusterMembership} needs from its broker. */
export interface MembershipHost {
  readonly raft: MetadataRaft;
  /** This server's advertised address. */
  info(): ServerInfo;
  /** Whether a partition exists here and its leader runs here (started, subscribed). */
  partitionStatus(stream: string, partition: number): { exists: boolean; isLeader: boolean };
}

/** Options of {@link ClusterMembership}. */
export interface ClusterMembershipOptions {
  readonly nats: NatsConnection;
  readonly namespace: string;
  readonly serverId: string;
  readonly logger: Logger;
  /** `clustering.raft.max.quorum.size` (0 = no limit): joiners beyond it become non-voters. */
  readonly maxQuorumSize: number;
  /** How long broker info is kept for servers that stop answering. Default 2 min. */
  readonly metadataCacheMaxAgeMs?: number;
}

/**
 * The membership responders of one server (join: leader only; info and status: everyone) plus the
 * queries FetchMetadata and CreateStream make.
 */
export class ClusterMembership {
  readonly #o: ClusterMembershipOptions;
  readonly #host: MembershipHost;
  readonly #log: Logger;
  readonly #subs: NatsSubscriptionHandle[] = [];
  readonly #subjects: ReturnType<typeof clusterSubjects>;
  readonly #infoCache = new Map<string, { info: ServerInfo; at: number }>();

  constructor(o: ClusterMembershipOptions, host: MembershipHost) {
    this.#o = o;
    this.#host = host;
    this.#log = o.logger.child({ component: "cluster", nodeId: o.serverId });
    this.#subjects = clusterSubjects(o.namespace);
    const s = this.#subjects;
    this.#subs.push(o.nats.subscribe(s.join, { callback: (m) => void this.#onJoin(m.data, m.reply) }));
    this.#subs.push(
      o.nats.subscribe(s.info, {
        callback: (m) => {
          const req = fromJsonBytes(m.data) as { id?: string } | undefined;
          if (m.reply === undefined || m.reply === "" || req?.id === o.serverId) return;
          this.#reply(m.reply, this.#host.info());
        },
      }),
    );
    this.#subs.push(
      o.nats.subscribe(s.status(o.serverId), {
        callback: (m) => {
          const req = fromJsonBytes(m.data) as { stream?: string; partition?: number } | undefined;
          if (m.reply === undefined || m.reply === "" || req === undefined) return;
          const st = this.#host.partitionStatus(String(req.stream), Number(req.partition));
          this.#reply(m.reply, st);
        },
      }),
    );
  }

  /** The leader adds the joiner as a voter while voters < max quorum size, else as a non-voter. */
  async #onJoin(data: Uint8Array, reply: string | undefined): Promise<void> {
    const raft = this.#host.raft;
    if (reply === undefined || reply === "" || !raft.isLeader) return;
    const req = fromJsonBytes(data) as { nodeId?: unknown } | undefined;
    const id = req?.nodeId;
    let error = "";
    if (typeof id !== "string" || id === "" || /[\s.*>]/u.test(id)) {
      error = "invalid node id";
    } else if (id !== this.#o.serverId) {
      const q = this.#o.maxQuorumSize;
      const voter = q === 0 || raft.voterCount < q;
      try {
        await raft.addMember(id, voter);
        this.#log.info({ peer: id, voter }, "server joined metadata raft group");
      } catch (err) {
        this.#log.warn({ err, peer: id }, "failed to add server to metadata raft group");
        error = err instanceof Error ? err.message : String(err);
      }
    }
    this.#reply(reply, { error });
  }

  /** Answers a request; a closed connection only loses the answer (the requester times out). */
  #reply(subject: string, body: unknown): void {
    try {
      this.#o.nats.publish(subject, toJsonBytes(body));
    } catch (err) {
      this.#log.debug({ err }, "cluster reply not sent");
    }
  }

  /**
   * Every server of the metadata group with its advertised address, this one first: asks the others
   * on `<ns>.raft.metadata.info` and waits until all answered or `timeoutMs` passed; a server that
   * does not answer is listed from the cache (`metadata.cache.max.age`) or left out.
   */
  async fetchBrokers(timeoutMs: number): Promise<ServerInfo[]> {
    const self = this.#host.info();
    const members = this.#host.raft.members;
    const others = members.filter((id) => id !== self.id);
    if (others.length > 0) {
      const pending = new Set(others);
      const replies = await natsCollect(this.#o.nats, this.#subjects.info, toJsonBytes({ id: self.id }), {
        inboxPrefix: this.#subjects.infoInbox,
        timeoutMs,
        done: (rs) => {
          const last = fromJsonBytes(rs[rs.length - 1]!) as Partial<ServerInfo> | undefined;
          if (typeof last?.id === "string") pending.delete(last.id);
          return pending.size === 0;
        },
      });
      const now = Date.now();
      for (const r of replies) {
        const info = fromJsonBytes(r) as Partial<ServerInfo> | undefined;
        if (typeof info?.id === "string" && typeof info.host === "string" && typeof info.port === "number") {
          this.#infoCache.set(info.id, { info: { id: info.id, host: info.host, port: info.port }, at: now });
        }
      }
    }
    const maxAge = this.#o.metadataCacheMaxAgeMs ?? 120_000;
    const out: ServerInfo[] = [self];
    for (const id of others) {
      const c = this.#infoCache.get(id);
      if (c !== undefined && Date.now() - c.at <= maxAge) out.push(c.info);
    }
    return out;
  }

  /**
   * Best-effort wait (spec internals §3.7) until the leader of each named partition reports it has
   * started: PartitionStatus requests to `<ns>.raft.metadata.status.<leader>`, every 100 ms until
   * `timeoutMs`. Never throws.
   */
  async waitForPartitionLeaders(
    partitions: readonly { stream: string; id: number; leader: string }[],
    timeoutMs: number,
  ): Promise<void> {
    const end = Date.now() + timeoutMs;
    await Promise.all(
      partitions.map(async (p) => {
        while (Date.now() < end) {
          const r = await natsRequest(
            this.#o.nats,
            this.#subjects.status(p.leader),
            toJsonBytes({ stream: p.stream, partition: p.id }),
            {
              inboxPrefix: this.#subjects.inbox(this.#o.serverId),
              timeoutMs: Math.min(1000, end - Date.now()),
            },
          );
          const st =
            r === undefined ? undefined : (fromJsonBytes(r) as { exists?: boolean; isLeader?: boolean });
          if (st?.exists === true && st.isLeader === true) return;
          await new Promise((res) => setTimeout(res, 100));
        }
        this.#log.warn({ stream: p.stream, partition: p.id }, "partition leader did not start in time");
      }),
    );
  }

  /** Unsubscribes the responders. */
  close(): void {
    for (const s of this.#subs.splice(0)) s.unsubscribe();
  }
}
