/**
 * A small in-memory Liftbridge peer on @liftbridge/grpc, for what the real single-node server does not
 * do yet (cursors, consumer groups) and for multi-broker routing (leader changes, selection, hashing).
 * It is a wire peer: the client talks to it over gRPC exactly as to a server.
 */
import {
  type Ack,
  APIService,
  type FetchMetadataResponseInit,
  type Message,
  type MessageInit,
  type PartitionMetadataInit,
  type PublishRequest,
  type PublishResponseInit,
  StartPosition,
} from "@liftbridge/api";
import { createServer, GrpcError, type GrpcServer, type ServerDuplexCall, Status } from "@liftbridge/grpc";
import { crc32 } from "../src/index.js";

export interface FakeStream {
  subject: string;
  partitions: number;
  /** Leader broker id per partition (a change is seen by a client at its next metadata refresh). */
  leader: string[];
  log: MessageInit[][];
  waiters: (() => void)[];
}

export interface FakeGroup {
  members: Map<string, string[]>;
  epoch: number;
  coordinator: string;
}

export interface Call {
  broker: string;
  rpc: string;
  req: unknown;
}

/** Shared state of a fake cluster. */
export class FakeCluster {
  readonly brokers: FakeBroker[] = [];
  readonly streams = new Map<string, FakeStream>();
  readonly cursors = new Map<string, number>();
  readonly groups = new Map<string, FakeGroup>();
  readonly calls: Call[] = [];
  consumerTimeoutMs = 1000;
  coordinatorTimeoutMs = 500;
  /** Broker ids whose FetchConsumerGroupAssignments fail with UNAVAILABLE (a failed coordinator). */
  readonly failedCoordinators = new Set<string>();
  reports: { consumerId: string; coordinator: string; epoch: number }[] = [];
  /** While set, FetchCursor answers only once it resolves (a slow cursors partition). */
  cursorGate: Promise<void> | undefined;
  /** Called on each ReportConsumerGroupCoordinator (e.g. to elect a new coordinator). */
  onReport: ((groupId: string) => void) | undefined;

  static async start(n: number, delays: number[] = []): Promise<FakeCluster> {
    const c = new FakeCluster();
    for (let i = 0; i < n; i++) c.brokers.push(await FakeBroker.start(c, `b${i}`, delays[i] ?? 0));
    return c;
  }

  get addrs(): string[] {
    return this.brokers.map((b) => b.addr);
  }

  addStream(name: string, partitions: number, leaders?: string[]): FakeStream {
    const leader =
      leaders ?? Array.from({ length: partitions }, (_, i) => this.brokers[i % this.brokers.length]!.id);
    const s: FakeStream = {
      subject: name,
      partitions,
      leader,
      log: Array.from({ length: partitions }, () => []),
      waiters: [],
    };
    this.streams.set(name, s);
    return s;
  }

  append(stream: string, partition: number, value: string): number {
    const s = this.streams.get(stream)!;
    const log = s.log[partition]!;
    log.push({
      offset: log.length,
      value: Buffer.from(value),
      stream,
      partition,
      timestamp: BigInt(Date.now()) * 1_000_000n,
    });
    for (const w of s.waiters.splice(0)) w();
    return log.length - 1;
  }

  callsOf(rpc: string): Call[] {
    return this.calls.filter((c) => c.rpc === rpc);
  }

  /** Rebalance per spec §6.8: each partition to the member with the fewest assignments, ties by smaller id. */
  assignments(groupId: string, consumerId: string): { stream: string; partitions: number[] }[] {
    const g = this.groups.get(groupId)!;
    const counts = new Map<string, number>([...g.members.keys()].map((m) => [m, 0]));
    const out = new Map<string, Map<string, number[]>>();
    const streams = [...new Set([...g.members.values()].flat())].sort();
    for (const stream of streams) {
      const s = this.streams.get(stream);
      if (s === undefined) continue;
      const members = [...g.members].filter(([, st]) => st.includes(stream)).map(([m]) => m);
      for (let p = 0; p < s.partitions; p++) {
        members.sort((a, b) => counts.get(a)! - counts.get(b)! || (a < b ? -1 : 1));
        const m = members[0]!;
        counts.set(m, counts.get(m)! + 1);
        if (!out.has(m)) out.set(m, new Map());
        const perStream = out.get(m)!;
        perStream.set(stream, [...(perStream.get(stream) ?? []), p]);
      }
    }
    return [...(out.get(consumerId) ?? new Map<string, number[]>())].map(([stream, partitions]) => ({
      stream,
      partitions,
    }));
  }

  async close(): Promise<void> {
    await Promise.all(this.brokers.map((b) => b.server.close({ graceMs: 100 })));
  }
}

export class FakeBroker {
  readonly cluster: FakeCluster;
  readonly id: string;
  readonly server: GrpcServer;
  port = 0;
  /** Extra delay of FetchMetadata (latency-based selection). */
  readonly delayMs: number;
  partitionCount = 0;
  leaderCount = 0;

  private constructor(cluster: FakeCluster, id: string, delayMs: number) {
    this.cluster = cluster;
    this.id = id;
    this.delayMs = delayMs;
    this.server = createServer();
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(cluster: FakeCluster, id: string, delayMs: number): Promise<FakeBroker> {
    const b = new FakeBroker(cluster, id, delayMs);
    b.server.addService(APIService, b.handlers() as never);
    b.port = await b.server.listen(0, "127.0.0.1");
    return b;
  }

  private record(rpc: string, req: unknown): void {
    this.cluster.calls.push({ broker: this.id, rpc, req });
  }

  private leaderCheck(stream: string, partition: number): FakeStream {
    const s = this.cluster.streams.get(stream);
    if (s === undefined || partition >= s.partitions)
      throw new GrpcError(Status.NOT_FOUND, "No such partition");
    if (s.leader[partition] !== this.id)
      throw new GrpcError(Status.FAILED_PRECONDITION, "Server not partition leader");
    return s;
  }

  private metadata(streams: string[], groups: string[]): FetchMetadataResponseInit {
    const c = this.cluster;
    const names = streams.length > 0 ? streams : [...c.streams.keys()];
    return {
      brokers: c.brokers.map((b) => ({
        id: b.id,
        host: "127.0.0.1",
        port: b.port,
        partitionCount: b.partitionCount,
        leaderCount: b.leaderCount,
      })),
      streamMetadata: names.map((name) => {
        const s = c.streams.get(name);
        if (s === undefined) return { name, error: 1 };
        const partitions = new Map<number, PartitionMetadataInit>();
        for (let p = 0; p < s.partitions; p++) {
          partitions.set(p, {
            id: p,
            leader: s.leader[p],
            replicas: [s.leader[p]!],
            isr: [s.leader[p]!],
            highWatermark: s.log[p]!.length - 1,
            newestOffset: s.log[p]!.length - 1,
          });
        }
        return { name, subject: s.subject, partitions };
      }),
      groupMetadata: groups.map((groupId) => {
        const g = c.groups.get(groupId);
        return g === undefined
          ? { groupId, error: 1 }
          : { groupId, coordinator: g.coordinator, epoch: g.epoch };
      }),
    };
  }

  private handlers(): Record<string, unknown> {
    const c = this.cluster;
    return {
      CreateStream: (req: { name: string; partitions: number }) => {
        this.record("CreateStream", req);
        if (c.streams.has(req.name)) throw new GrpcError(Status.ALREADY_EXISTS, "stream already exists");
        c.addStream(req.name, Math.max(1, req.partitions));
        return {};
      },
      DeleteStream: (req: unknown) => {
        this.record("DeleteStream", req);
        return {};
      },
      PauseStream: (req: unknown) => {
        this.record("PauseStream", req);
        return {};
      },
      SetStreamReadonly: (req: unknown) => {
        this.record("SetStreamReadonly", req);
        return {};
      },
      FetchMetadata: async (req: { streams: string[]; groups: string[] }) => {
        this.record("FetchMetadata", req);
        if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
        return this.metadata(req.streams, req.groups);
      },
      FetchPartitionMetadata: (req: { stream: string; partition: number }) => {
        this.record("FetchPartitionMetadata", req);
        const s = this.leaderCheck(req.stream, req.partition);
        const n = s.log[req.partition]!.length - 1;
        return {
          metadata: {
            id: req.partition,
            leader: this.id,
            replicas: [this.id],
            isr: [this.id],
            highWatermark: n,
            newestOffset: n,
          },
        };
      },
      SetCursor: (req: { cursorId: string; stream: string; partition: number; offset: number }) => {
        this.record("SetCursor", req);
        this.cursorCheck(req);
        c.cursors.set(`${req.cursorId},${req.stream},${req.partition}`, req.offset);
        return {};
      },
      FetchCursor: async (req: { cursorId: string; stream: string; partition: number }) => {
        this.record("FetchCursor", req);
        if (c.cursorGate !== undefined) await c.cursorGate;
        this.cursorCheck(req);
        return { offset: c.cursors.get(`${req.cursorId},${req.stream},${req.partition}`) ?? -1 };
      },
      JoinConsumerGroup: (req: { groupId: string; consumerId: string; streams: string[] }) => {
        this.record("JoinConsumerGroup", req);
        let g = c.groups.get(req.groupId);
        if (g === undefined) {
          g = { members: new Map(), epoch: 0, coordinator: c.brokers[c.brokers.length - 1]!.id };
          c.groups.set(req.groupId, g);
        }
        if (g.members.has(req.consumerId))
          throw new GrpcError(Status.FAILED_PRECONDITION, "already a member");
        g.members.set(req.consumerId, req.streams);
        g.epoch++;
        return {
          coordinator: g.coordinator,
          epoch: g.epoch,
          consumerTimeout: BigInt(c.consumerTimeoutMs) * 1_000_000n,
          coordinatorTimeout: BigInt(c.coordinatorTimeoutMs) * 1_000_000n,
        };
      },
      LeaveConsumerGroup: (req: { groupId: string; consumerId: string }) => {
        this.record("LeaveConsumerGroup", req);
        const g = c.groups.get(req.groupId);
        if (g === undefined) throw new GrpcError(Status.NOT_FOUND, "consumer group does not exist");
        if (!g.members.delete(req.consumerId))
          throw new GrpcError(Status.FAILED_PRECONDITION, "not a member");
        g.epoch++;
        if (g.members.size === 0) c.groups.delete(req.groupId);
        return {};
      },
      FetchConsumerGroupAssignments: (req: { groupId: string; consumerId: string; epoch: number }) => {
        this.record("FetchConsumerGroupAssignments", req);
        if (c.failedCoordinators.has(this.id)) throw new GrpcError(Status.UNAVAILABLE, "coordinator down");
        const g = c.groups.get(req.groupId);
        if (g === undefined) throw new GrpcError(Status.NOT_FOUND, "no such group");
        if (g.coordinator !== this.id) throw new GrpcError(Status.FAILED_PRECONDITION, "not coordinator");
        if (!g.members.has(req.consumerId)) throw new GrpcError(Status.FAILED_PRECONDITION, "not a member");
        if (g.epoch !== req.epoch) throw new GrpcError(Status.FAILED_PRECONDITION, "epoch differs");
        return { epoch: g.epoch, assignments: c.assignments(req.groupId, req.consumerId) };
      },
      ReportConsumerGroupCoordinator: (req: {
        groupId: string;
        consumerId: string;
        coordinator: string;
        epoch: number;
      }) => {
        this.record("ReportConsumerGroupCoordinator", req);
        c.reports.push({ consumerId: req.consumerId, coordinator: req.coordinator, epoch: req.epoch });
        c.onReport?.(req.groupId);
        return {};
      },
      Subscribe: async (
        req: { stream: string; partition: number; startPosition: number; startOffset: number },
        call: { send(m: MessageInit): boolean; write(m: MessageInit): Promise<void>; signal: AbortSignal },
      ) => {
        this.record("Subscribe", req);
        const s = this.leaderCheck(req.stream, req.partition);
        const log = s.log[req.partition]!;
        let next =
          req.startPosition === StartPosition.OFFSET
            ? req.startOffset
            : req.startPosition === StartPosition.EARLIEST
              ? 0
              : req.startPosition === StartPosition.LATEST
                ? Math.max(0, log.length - 1)
                : log.length;
        call.send({});
        while (!call.signal.aborted) {
          while (next < log.length) await call.write(log[next++]!);
          await new Promise<void>((resolve) => {
            s.waiters.push(resolve);
            call.signal.addEventListener("abort", () => resolve(), { once: true });
          });
        }
      },
      PublishAsync: async (call: ServerDuplexCall<PublishRequest, PublishResponseInit>) => {
        for await (const req of call) {
          this.record("PublishAsync", {
            stream: req.stream,
            partition: req.partition,
            correlationId: req.correlationId,
          });
          const offset = c.append(req.stream, req.partition, Buffer.from(req.value).toString());
          const ack: Partial<Ack> = {
            stream: req.stream,
            offset,
            correlationId: req.correlationId,
            partitionSubject: req.stream,
          };
          if (req.ackPolicy !== 2) call.send({ ack });
        }
      },
      PublishToSubject: (req: unknown) => {
        this.record("PublishToSubject", req);
        return {};
      },
      Publish: () => {
        throw new GrpcError(Status.UNIMPLEMENTED, "use PublishAsync");
      },
    };
  }

  /** spec §0.9: the client must route to the leader of crc32(key) mod n of __cursors. */
  private cursorCheck(req: { cursorId: string; stream: string; partition: number }): void {
    const s = this.cluster.streams.get("__cursors");
    if (s === undefined) throw new GrpcError(Status.INTERNAL, "Cursors stream does not exist");
    const p = crc32(Buffer.from(`${req.cursorId},${req.stream},${req.partition}`)) % s.partitions;
    if (s.leader[p] !== this.id)
      throw new GrpcError(Status.FAILED_PRECONDITION, `Server not leader for cursors partition ${p}`);
  }
}

export type { Message };
