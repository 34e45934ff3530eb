import type {
  PartitionEventTimestamps as ApiEventTimestamps,
  PartitionMetadata as ApiPartitionMetadata,
  FetchMetadataResponse,
} from "@liftbridge/api";
import { ConsumerGroupMetadataError, StreamMetadataError } from "@liftbridge/api";

/** A broker of the cluster (go-liftbridge `BrokerInfo`). */
export interface BrokerInfo {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** `host:port`. */
  readonly addr: string;
  readonly partitionCount: number;
  readonly leaderCount: number;
}

/** First and latest time an event happened (go-liftbridge `PartitionEventTimestamps`); `undefined` = never. */
export interface PartitionEventTimestamps {
  readonly firstTime: Date | undefined;
  readonly latestTime: Date | undefined;
}

/** A stream partition (go-liftbridge `PartitionInfo`). Offsets are -1 when the partition is empty. */
export interface PartitionInfo {
  readonly id: number;
  /** The leader, resolved from the broker list; `undefined` when unknown. */
  readonly leader: BrokerInfo | undefined;
  readonly replicas: readonly BrokerInfo[];
  readonly isr: readonly BrokerInfo[];
  readonly highWatermark: number;
  readonly newestOffset: number;
  readonly paused: boolean;
  readonly readonly: boolean;
  readonly messagesReceivedTimestamps: PartitionEventTimestamps;
  readonly pauseTimestamps: PartitionEventTimestamps;
  readonly readonlyTimestamps: PartitionEventTimestamps;
}

/** A stream (go-liftbridge `StreamInfo`). */
export interface StreamInfo {
  readonly subject: string;
  readonly name: string;
  readonly partitions: ReadonlyMap<number, PartitionInfo>;
  readonly creationTime: Date | undefined;
  getPartition(id: number): PartitionInfo | undefined;
}

/** A consumer group (go-liftbridge `ConsumerGroupInfo`). */
export interface ConsumerGroupInfo {
  readonly id: string;
  /** Broker id of the group coordinator. */
  readonly coordinator: string;
  readonly epoch: number;
}

/** A snapshot of cluster metadata (go-liftbridge `Metadata`). Immutable. */
export interface Metadata {
  readonly lastUpdated: Date;
  readonly brokers: readonly BrokerInfo[];
  readonly streams: ReadonlyMap<string, StreamInfo>;
  readonly consumerGroups: ReadonlyMap<string, ConsumerGroupInfo>;
  broker(id: string): BrokerInfo | undefined;
  /** `host:port` of every broker. */
  addrs(): string[];
  getStream(name: string): StreamInfo | undefined;
  /** Partition count of `name`; 0 when the stream is unknown. */
  partitionCountForStream(name: string): number;
  getConsumerGroup(id: string): ConsumerGroupInfo | undefined;
}

const nsToDate = (ns: bigint): Date | undefined =>
  ns === 0n ? undefined : new Date(Number(ns / 1_000_000n));

function eventTimestamps(t: ApiEventTimestamps | undefined): PartitionEventTimestamps {
  return {
    firstTime: t === undefined ? undefined : nsToDate(t.firstTimestamp),
    latestTime: t === undefined ? undefined : nsToDate(t.latestTimestamp),
  };
}

/** Builds a {@link PartitionInfo} from the wire form, resolving broker ids through `brokers`. @internal */
export function toPartitionInfo(
  p: ApiPartitionMetadata,
  brokers: ReadonlyMap<string, BrokerInfo>,
): PartitionInfo {
  const resolve = (ids: readonly string[]): BrokerInfo[] => {
    const out: BrokerInfo[] = [];
    for (const id of ids) {
      const b = brokers.get(id);
      if (b !== undefined) out.push(b);
    }
    return out;
  };
  return {
    id: p.id,
    leader: brokers.get(p.leader),
    replicas: resolve(p.replicas),
    isr: resolve(p.isr),
    highWatermark: p.highWatermark,
    newestOffset: p.newestOffset,
    paused: p.paused,
    readonly: p.readonly,
    messagesReceivedTimestamps: eventTimestamps(p.messagesReceivedTimestamps),
    pauseTimestamps: eventTimestamps(p.pauseTimestamps),
    readonlyTimestamps: eventTimestamps(p.readonlyTimestamps),
  };
}

/** Builds an immutable {@link Metadata} from a FetchMetadataResponse. @internal */
export function toMetadata(res: FetchMetadataResponse, now: Date): Metadata {
  const brokerMap = new Map<string, BrokerInfo>();
  for (const b of res.brokers) {
    brokerMap.set(b.id, {
      id: b.id,
      host: b.host,
      port: b.port,
      addr: `${b.host}:${b.port}`,
      partitionCount: b.partitionCount,
      leaderCount: b.leaderCount,
    });
  }
  const streams = new Map<string, StreamInfo>();
  for (const s of res.streamMetadata) {
    if (s.error === StreamMetadataError.UNKNOWN_STREAM) continue;
    const partitions = new Map<number, PartitionInfo>();
    const ids = [...s.partitions.keys()].sort((a, b) => a - b);
    for (const id of ids) partitions.set(id, toPartitionInfo(s.partitions.get(id)!, brokerMap));
    streams.set(s.name, {
      subject: s.subject,
      name: s.name,
      partitions,
      creationTime: nsToDate(s.creationTimestamp),
      getPartition: (id) => partitions.get(id),
    });
  }
  const groups = new Map<string, ConsumerGroupInfo>();
  for (const g of res.groupMetadata) {
    if (g.error === ConsumerGroupMetadataError.UNKNOWN_GROUP) continue;
    groups.set(g.groupId, { id: g.groupId, coordinator: g.coordinator, epoch: g.epoch });
  }
  const brokers = [...brokerMap.values()];
  return {
    lastUpdated: now,
    brokers,
    streams,
    consumerGroups: groups,
    broker: (id) => brokerMap.get(id),
    addrs: () => brokers.map((b) => b.addr),
    getStream: (name) => streams.get(name),
    partitionCountForStream: (name) => streams.get(name)?.partitions.size ?? 0,
    getConsumerGroup: (id) => groups.get(id),
  };
}
