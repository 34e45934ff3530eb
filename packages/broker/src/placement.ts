/**
 * Placement of a new stream's partitions (spec internals §3.7), run by the controller: replicas are
 * the servers with the lowest partition load, the leader is the replica with the lowest leader load.
 * Pure: it reads the metadata state and the cluster's server list.
 * @module
 */
import { BrokerError, BrokerErrorCode } from "./errors.js";
import type { StreamState } from "./metadata.js";

/** Replicas and leader chosen for a stream. */
export interface Placement {
  readonly replicas: string[];
  readonly leader: string;
}

/** Partitions each server holds a replica of, and leads (paused partitions count too). */
export function serverLoads(streams: Iterable<StreamState>): {
  partitions: Map<string, number>;
  leaders: Map<string, number>;
} {
  const partitions = new Map<string, number>();
  const leaders = new Map<string, number>();
  for (const s of streams) {
    for (const p of s.partitions) {
      for (const r of p.replicas) partitions.set(r, (partitions.get(r) ?? 0) + 1);
      leaders.set(p.leader, (leaders.get(p.leader) ?? 0) + 1);
    }
  }
  return { partitions, leaders };
}

/**
 * Data replication between servers is a later issue: until it exists a partition has exactly one
 * replica, its leader. Throws `invalid_argument` for a replication factor above 1. The replication
 * work removes this gate; placement already chooses `rf` replicas.
 */
export function assertReplicationAvailable(rf: number): void {
  if (rf > 1) {
    throw new BrokerError(
      BrokerErrorCode.InvalidArgument,
      `replication factor ${rf} needs data replication, not available yet: use 1`,
    );
  }
}

/**
 * Places a stream: stable-sorts `servers` (Raft configuration order) by partition load and takes
 * the first `rf` as replicas, then picks the replica with the lowest leader load as leader (ties:
 * the earlier one). Like upstream, all partitions of one stream get the same placement (the loads
 * are not updated between them).
 */
export function placeStream(
  servers: readonly string[],
  streams: Iterable<StreamState>,
  rf: number,
): Placement {
  if (rf < 1 || rf > servers.length) {
    throw new BrokerError(
      BrokerErrorCode.InvalidArgument,
      `Invalid replicationFactor ${rf}, cluster size ${servers.length}`,
    );
  }
  const { partitions, leaders } = serverLoads(streams);
  const replicas = servers
    .map((id, i) => ({ id, i, load: partitions.get(id) ?? 0 }))
    .sort((a, b) => a.load - b.load || a.i - b.i)
    .slice(0, rf)
    .map((x) => x.id);
  let leader = replicas[0]!;
  for (const r of replicas) if ((leaders.get(r) ?? 0) < (leaders.get(leader) ?? 0)) leader = r;
  return { replicas, leader };
}
