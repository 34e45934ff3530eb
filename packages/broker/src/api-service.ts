/**
 * The `proto.API` gRPC service of a single-node broker: validation and status codes of spec §5, the
 * publish paths through NATS with ack inboxes, and Subscribe over the committed log reader.
 * @module
 */
import {
  ACK_ERROR_STATUS,
  type Ack,
  AckError,
  AckPolicy,
  type APIServiceDefinition,
  ackErrorToAsyncCode,
  type CreateStreamRequest,
  type DeleteStreamRequest,
  type ErrorCondition,
  encodePublish,
  type FetchCursorRequest,
  type FetchMetadataRequest,
  type FetchMetadataResponse,
  type FetchPartitionMetadataRequest,
  LiftbridgeErrors,
  Message,
  type PartitionMetadata,
  type PauseStreamRequest,
  PUBLISH_ASYNC_ERRORS,
  type PublishAsyncErrorCode,
  type PublishRequest,
  type PublishResponse,
  type PublishToSubjectRequest,
  type SetCursorRequest,
  type SetStreamReadonlyRequest,
  StartPosition,
  StopPosition,
  type StreamMetadata,
  StreamMetadataError,
  type SubscribeRequest,
  unmarshalAck,
} from "@liftbridge/api";
import { isCommitLogError } from "@liftbridge/commitlog";
import {
  GrpcError,
  type ServerCall,
  type ServerDuplexCall,
  type ServerWritableCall,
  type ServiceHandlers,
  Status,
} from "@liftbridge/grpc";
import { type Authorizer, type AuthzAction, authzError, clientIdOf } from "./authz.js";
import type { BrokerCore } from "./broker.js";
import {
  admitGroupSubscriber,
  consumerGroupMetadata,
  createConsumerGroupHandlers,
} from "./consumer-group-api.js";
import { valueOpener } from "./encrypted-reads.js";
import { isBrokerError } from "./errors.js";
import { type FrameBufferLease, FrameBufferPool } from "./frame-buffer-pool.js";
import { createMessageEncoder } from "./message-encoder.js";
import type {
  ApplyResult,
  EventTimestamps,
  MetadataOp,
  PartitionState,
  StreamConfig,
  StreamState,
} from "./metadata.js";
import type { Partition } from "./partition.js";
import { createPublishResponseEncoder } from "./publish-response-encoder.js";
import { subscribeReverse } from "./reverse-subscribe.js";
import { isValidStreamSubject, nowNs, partitionSubject, streamDirName } from "./util.js";

const RESERVED = new Set(["__activity", "__cursors"]);
/** Upper bound on partitions per stream (a TS-port guard; upstream has none). */
export const MAX_PARTITIONS = 4096;
/** How long PublishAsync waits for in-flight acks after the client half-closes (spec §5). */
const ASYNC_DRAIN_MS = 5000;

/**
 * Bytes a catching-up subscriber reads and encodes per batch: twice the client's HTTP/2 stream window,
 * between 64 KiB and 1 MiB. Behind a small window (grpc-js: 64 KiB) the client only gets more data
 * once the server has answered its WINDOW_UPDATE, which waits while the event loop encodes a batch:
 * 1 MiB of 128-byte messages is ~2 ms of encoding, longer than the client needs to drain its window.
 */
export function subscribeBatchBytes(peerStreamWindowBytes: number): number {
  return Math.min(1 << 20, Math.max(64 << 10, 2 * peerStreamWindowBytes));
}

function fail(cond: ErrorCondition, detail?: string): GrpcError {
  let msg = cond.message;
  if (detail !== undefined) msg = msg === "" ? detail : `${msg}: ${detail}`;
  if (msg === "") msg = "error";
  return new GrpcError(cond.status as Status, msg);
}

function withDetail(cond: ErrorCondition, detail: string): GrpcError {
  return new GrpcError(cond.status as Status, `${cond.message} ${detail}`);
}

function eventTimestamps(t: EventTimestamps) {
  return { firstTimestamp: BigInt(t.first), latestTimestamp: BigInt(t.latest) };
}

function isLiteralSubject(s: string): boolean {
  if (s === "" || /[\s*>]/u.test(s)) return false;
  for (const token of s.split(".")) if (token === "") return false;
  return true;
}

function streamConfigOf(req: CreateStreamRequest): StreamConfig | string {
  const c: Record<string, number | boolean> = {};
  const nonNeg: [keyof StreamConfig, { value: number } | undefined][] = [
    ["retentionMaxBytes", req.retentionMaxBytes],
    ["retentionMaxMessages", req.retentionMaxMessages],
    ["retentionMaxAgeMs", req.retentionMaxAge],
    ["cleanerIntervalMs", req.cleanerInterval],
    ["segmentMaxAgeMs", req.segmentMaxAge],
    ["compactMaxGoroutines", req.compactMaxGoroutines],
    ["autoPauseTimeMs", req.autoPauseTime],
    ["minIsr", req.minIsr],
  ];
  for (const [k, v] of nonNeg) {
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v.value) || v.value < 0) return `${k} must be >= 0`;
    c[k] = v.value;
  }
  if (req.segmentMaxBytes !== undefined) {
    const v = req.segmentMaxBytes.value;
    if (!Number.isSafeInteger(v) || v < 0) return "segmentMaxBytes must be >= 0";
    if (v > 0) c.segmentMaxBytes = v;
  }
  const bools: [keyof StreamConfig, { value: boolean } | undefined][] = [
    ["compactEnabled", req.compactEnabled],
    ["autoPauseDisableIfSubscribers", req.autoPauseDisableIfSubscribers],
    ["optimisticConcurrencyControl", req.optimisticConcurrencyControl],
    ["encryption", req.encryption],
  ];
  for (const [k, v] of bools) if (v !== undefined) c[k] = v.value;
  return c as StreamConfig;
}

/** Options of {@link createApiHandlers}. */
export interface ApiHandlerOptions {
  /** Authorization (spec §5 "authz denied" rows); off when absent. */
  readonly authz?: Authorizer;
}

/** Builds the handlers of `proto.API` for a broker. */
export function createApiHandlers(
  broker: BrokerCore,
  options: ApiHandlerOptions = {},
): ServiceHandlers<APIServiceDefinition> {
  const b = broker;
  const authz = options.authz;
  /** Output buffers of catching-up subscribers, reused once written. */
  const frameBuffers = new FrameBufferPool();
  /** Throws the spec §5 authz error unless the call's client may do `action` on `resource`. */
  const authorize = (call: ServerCall, action: AuthzAction, resource: string): void => {
    if (authz === undefined) return;
    const err = authzError(authz, clientIdOf(call), action, resource);
    if (err !== undefined) throw err;
  };
  /** A metadata write; a Raft failure (closed, refused, timed out) becomes `Internal` (spec §5). */
  const proposeWrite = async (failure: string, op: MetadataOp, deadline?: number): Promise<ApplyResult> => {
    try {
      // Forwarded to the controller when this server does not lead the metadata group (propagate.ts).
      return await b.propose(op, deadline === undefined ? undefined : { deadline });
    } catch (e) {
      if (isBrokerError(e)) throw fail(LiftbridgeErrors.raftFailed, `${failure}: ${e.message}`);
      throw e;
    }
  };

  const partitionMetadata = (p: PartitionState, part: Partition | undefined): PartitionMetadata => ({
    id: p.id,
    leader: p.leader,
    replicas: [...p.replicas],
    isr: [...p.isr],
    highWatermark: part?.log?.highWatermark ?? part?.lastHighWatermark ?? -1,
    newestOffset: part?.log?.newestOffset ?? part?.lastNewestOffset ?? -1,
    paused: p.paused,
    readonly: p.readonly,
    messagesReceivedTimestamps: eventTimestamps(part?.messagesReceived ?? { first: "0", latest: "0" }),
    pauseTimestamps: eventTimestamps(p.pauseTimestamps),
    readonlyTimestamps: eventTimestamps(p.readonlyTimestamps),
  });

  const streamMetadata = (s: StreamState): StreamMetadata => {
    const partitions = new Map<number, PartitionMetadata>();
    for (const p of s.partitions) partitions.set(p.id, partitionMetadata(p, b.partition(s.name, p.id)));
    return {
      name: s.name,
      subject: s.subject,
      error: StreamMetadataError.OK,
      partitions,
      creationTimestamp: BigInt(s.creationTimestamp),
    };
  };

  /** Resumes paused partitions before an API publish (spec internals §3.9). */
  const resumeFor = async (s: StreamState, p: PartitionState): Promise<void> => {
    const ids = s.resumeAll ? s.partitions.filter((x) => x.paused).map((x) => x.id) : [p.id];
    const res = await proposeWrite("Failed to resume stream", {
      op: "resume_stream",
      name: s.name,
      partitions: ids,
      timestamp: nowNs().toString(),
    });
    if (!res.ok)
      throw fail(
        res.reason === "no_such_stream"
          ? LiftbridgeErrors.noSuchStream
          : LiftbridgeErrors.noSuchPartitionPublish,
      );
  };

  /** Waits for the first ack on `inbox`; resolves `undefined` when the call ends first. */
  const waitAck = (inbox: string, call: ServerCall, publish: () => void): Promise<Ack | undefined> =>
    new Promise((resolve) => {
      let done = false;
      let off: () => void = () => {};
      const finish = (ack: Ack | undefined): void => {
        if (done) return;
        done = true;
        off();
        call.signal.removeEventListener("abort", onAbort);
        resolve(ack);
      };
      const onAbort = (): void => finish(undefined);
      if (inbox.startsWith(`${b.ackPrefix}.`)) {
        off = b.onAck(inbox, finish);
      } else {
        const sub = b.options.nats.subscribe(inbox, {
          callback: (m) => {
            try {
              finish(unmarshalAck(m.data));
            } catch {
              // Not an ack envelope: ignore it, as upstream's ack inbox does.
            }
          },
        });
        off = () => sub.unsubscribe();
      }
      call.signal.addEventListener("abort", onAbort);
      if (call.signal.aborted) return finish(undefined);
      publish();
    });

  /** Validation shared by Publish and PublishAsync; returns the target or an error description. */
  type Target = { s: StreamState; p: PartitionState } | { code: PublishAsyncErrorCode; error: GrpcError };
  const publishTarget = (req: PublishRequest, requireName: boolean, call?: ServerCall): Target => {
    if (requireName && req.stream === "") {
      return { code: PUBLISH_ASYNC_ERRORS.notFound, error: fail(LiftbridgeErrors.noStreamProvided) };
    }
    const s = b.stream(req.stream);
    if (s === undefined) {
      return { code: PUBLISH_ASYNC_ERRORS.notFound, error: fail(LiftbridgeErrors.noSuchStream, req.stream) };
    }
    if (call !== undefined) authorize(call, "Publish", req.stream); // spec §5: after the stream lookup
    const p = s.partitions[req.partition];
    if (p === undefined || req.partition < 0) {
      return {
        code: PUBLISH_ASYNC_ERRORS.notFound,
        error: fail(LiftbridgeErrors.noSuchPartitionPublish, String(req.partition)),
      };
    }
    if (p.readonly) {
      return {
        code: PUBLISH_ASYNC_ERRORS.readonly,
        error: fail(LiftbridgeErrors.readonlyPartition, String(p.id)),
      };
    }
    if (s.config.optimisticConcurrencyControl === true && req.ackPolicy === AckPolicy.NONE) {
      return {
        code: PUBLISH_ASYNC_ERRORS.concurrencyControlNeedsAck,
        error: fail(LiftbridgeErrors.concurrencyControlNeedsAck),
      };
    }
    return { s, p };
  };

  const envelopeOf = (req: PublishRequest, inbox: string): Buffer =>
    encodePublish({
      offset: req.expectedOffset,
      key: req.key,
      value: req.value,
      headers: req.headers,
      ackInbox: inbox,
      correlationId: req.correlationId,
      ackPolicy: req.ackPolicy,
    });

  const subscribe = async (req: SubscribeRequest, call: ServerWritableCall<Message>): Promise<void> => {
    const inGroup = req.consumer !== undefined && req.consumer.groupId !== "";
    if (inGroup && req.consumer!.consumerId === "") throw fail(LiftbridgeErrors.consumerIdEmpty);
    const s = b.stream(req.stream);
    let part = b.partition(req.stream, req.partition);
    if (s === undefined || part === undefined || req.partition < 0)
      throw fail(LiftbridgeErrors.noSuchPartition);
    if (!part.isLeader && !req.readISRReplica) throw fail(LiftbridgeErrors.notPartitionLeader);
    if (!part.isLeader && inGroup) throw fail(LiftbridgeErrors.groupsWithReadIsrReplica);
    // Spec §5 reports a denial after the whole setup; unlike upstream, a denied client never gets to
    // resume a paused partition first.
    const denied =
      authz === undefined ? undefined : authzError(authz, clientIdOf(call), "Subscribe", req.stream);
    if (req.resume && part.meta.paused) {
      if (denied !== undefined) throw denied;
      try {
        await b.propose({
          op: "resume_stream",
          name: s.name,
          partitions: [part.meta.id],
          timestamp: nowNs().toString(),
        });
      } catch (e) {
        throw fail(LiftbridgeErrors.resumeFailed, e instanceof Error ? e.message : String(e));
      }
      part = b.partition(req.stream, req.partition);
      if (part === undefined) throw fail(LiftbridgeErrors.noSuchPartition);
    }
    const log = part.log;
    if (log === undefined) {
      if (part.meta.paused) throw new GrpcError(Status.FAILED_PRECONDITION, "partition is paused");
      throw fail(LiftbridgeErrors.logClosed, "partition log is not open");
    }
    let start: number;
    switch (req.startPosition) {
      case StartPosition.NEW_ONLY:
        start = log.newestOffset + 1;
        break;
      case StartPosition.OFFSET:
        start = req.startOffset;
        break;
      case StartPosition.EARLIEST:
        start = log.oldestOffset;
        break;
      case StartPosition.LATEST:
        start = log.newestOffset;
        break;
      case StartPosition.TIMESTAMP:
        try {
          start = await log.offsetForTimestamp(req.startTimestamp);
        } catch (e) {
          throw fail(LiftbridgeErrors.timestampLookupFailed, e instanceof Error ? e.message : String(e));
        }
        break;
      default:
        throw fail(LiftbridgeErrors.unknownStartPosition, String(req.startPosition));
    }
    if (start < 0) start = 0;
    if (req.reverse) {
      const reversing = part;
      reversing.activeSubscribers++; // auto.pause.disable.if.subscribers
      try {
        return await subscribeReverse(b, part, log, req, start, call, denied);
      } finally {
        reversing.activeSubscribers--;
      }
    }
    let stop = -1;
    let readonlyEnd = false;
    switch (req.stopPosition) {
      case StopPosition.STOP_ON_CANCEL:
        if (part.meta.readonly) {
          stop = log.newestOffset;
          readonlyEnd = true;
        }
        break;
      case StopPosition.STOP_OFFSET:
        stop = req.stopOffset;
        break;
      case StopPosition.STOP_LATEST:
        if (log.newestOffset < 0) throw fail(LiftbridgeErrors.streamEmpty);
        stop = log.newestOffset;
        break;
      case StopPosition.STOP_TIMESTAMP: {
        let after: number;
        try {
          after = await log.offsetForTimestamp(req.stopTimestamp + 1n);
        } catch (e) {
          throw fail(LiftbridgeErrors.timestampLookupFailed, e instanceof Error ? e.message : String(e));
        }
        stop = after - 1;
        if (stop < Math.max(log.oldestOffset, 0)) {
          throw fail(LiftbridgeErrors.timestampLookupFailed, "stop timestamp is before the first message");
        }
        break;
      }
      default:
        throw fail(LiftbridgeErrors.unknownStopPosition, String(req.stopPosition));
    }
    if (stop !== -1 && stop < start) throw fail(LiftbridgeErrors.stopBeforeStart, `${stop} < ${start}`);
    if (readonlyEnd && stop < 0) throw fail(LiftbridgeErrors.endOfReadonlyPartition);
    if (denied !== undefined) throw denied;
    // Consumer-group fence (spec internals §5.7): a newer subscriber of the group closes this one (OK).
    const group = admitGroupSubscriber(b, req);
    const signal = group === undefined ? call.signal : AbortSignal.any([call.signal, group.signal]);
    // One read buffer for the whole subscription: each batch is encoded (copied) before the next read.
    const batchBytes = subscribeBatchBytes(call.peerStreamWindowBytes);
    const reader = log.readRaw({
      offset: start,
      committed: true,
      signal,
      reuseBuffer: true,
      maxBatchBytes: batchBytes,
    });
    // Subscription established: the empty first message (spec §0.2).
    call.send(EMPTY_MESSAGE);
    // Hot path: every raw batch (up to 1 MiB of entries) is encoded into one buffer of gRPC-framed
    // messages straight from the log bytes (values opened first on encrypted streams) and handed to the
    // transport as one write (`sendFramed`, no copy). Backpressure is awaited before sending the next
    // batch, not after sending this one, so the log read and the encoding of the next batch overlap the
    // transmission of this one (at most about two batches buffered).
    const encoder = createMessageEncoder(s.name, part.meta.id, { grpcFramed: true });
    const reading = part;
    reading.activeSubscribers++; // auto.pause.disable.if.subscribers
    const opener = valueOpener(b, part);
    let blocked = false;
    try {
      for await (const batch of reader) {
        const opened = opener(batch.bytes, batch.count);
        let lease: FrameBufferLease | undefined;
        const enc = encoder.encode(opened.bytes, opened.count, (size) => {
          lease = frameBuffers.take(size);
          return lease.bytes;
        });
        let n = enc.count;
        let stopped = false;
        if (stop !== -1 && n > 0 && enc.offsets[n - 1]! >= stop) {
          // Send up to and including the first message at or past the stop offset, then end.
          n = 0;
          while (enc.offsets[n]! < stop) n++;
          n++;
          stopped = true;
        }
        // Wait for room only now (the previous batch kept the peer busy while this one was encoded), and
        // only until at most one batch is still queued: the transport then always has bytes to send when
        // the client opens its window, instead of idling while this loop refills an empty queue.
        if (blocked) await call.drain(batchBytes);
        if (n === 0) lease?.release();
        const ok =
          n === 0 ||
          call.sendFramed(
            n === enc.count ? enc.bytes : enc.bytes.subarray(0, enc.ends[n - 1]!),
            lease?.release,
          );
        if (stopped) {
          throw fail(
            readonlyEnd ? LiftbridgeErrors.endOfReadonlyPartition : LiftbridgeErrors.stopOffsetReached,
          );
        }
        if (opened.error !== undefined) throw opened.error;
        blocked = !ok;
      }
    } catch (e) {
      if (e instanceof GrpcError) throw e;
      if (signal.aborted) return;
      if (isCommitLogError(e, "deleted")) throw new GrpcError(Status.NOT_FOUND, "partition was deleted");
      if (isCommitLogError(e, "readonly")) throw fail(LiftbridgeErrors.endOfReadonlyPartition);
      throw fail(LiftbridgeErrors.logClosed, e instanceof Error ? e.message : String(e));
    } finally {
      reading.activeSubscribers--;
      group?.release();
    }
    if (signal.aborted) return;
    if (part.stopReason === "paused") throw new GrpcError(Status.FAILED_PRECONDITION, "partition was paused");
    if (part.stopReason === "deleted") throw new GrpcError(Status.NOT_FOUND, "partition was deleted");
    throw fail(LiftbridgeErrors.logClosed, "partition log closed");
  };

  return {
    async CreateStream(req: CreateStreamRequest, call: ServerCall) {
      if (req.name === "") throw fail(LiftbridgeErrors.nameEmpty);
      if (!isValidStreamSubject(req.subject)) throw fail(LiftbridgeErrors.subjectInvalid);
      if (RESERVED.has(req.name)) throw fail(LiftbridgeErrors.streamReserved);
      authorize(call, "CreateStream", req.name); // spec §5: after name, subject and reserved checks
      if (streamDirName(req.name).length > 255)
        throw new GrpcError(Status.INVALID_ARGUMENT, "Name is too long");
      // The effective flag is fixed in the stream's config at creation (spec api §4.4).
      const encrypt = req.encryption?.value ?? b.options.streams.encryption;
      if (encrypt && b.encryptionUnavailable !== undefined) {
        throw fail(LiftbridgeErrors.encryptionPrecondition, b.encryptionUnavailable);
      }
      if (req.partitions < 0 || req.partitions > MAX_PARTITIONS) {
        throw withDetail(LiftbridgeErrors.invalidPartitions, String(req.partitions));
      }
      const size = b.clusterSize;
      let rf = req.replicationFactor;
      if (rf === 0) rf = 1;
      if (rf === -1) rf = size;
      if (rf <= 0 || rf > size) {
        throw withDetail(
          LiftbridgeErrors.invalidReplicationFactor,
          `${req.replicationFactor}, cluster size ${size}`,
        );
      }
      const parsed = streamConfigOf(req);
      if (typeof parsed === "string") throw new GrpcError(Status.INVALID_ARGUMENT, parsed);
      const config: StreamConfig = encrypt ? { ...parsed, encryption: true } : parsed;
      // Replicas and leader are placed by the controller (spec internals §3.7, placement.ts).
      const res = await proposeWrite(
        "Failed to create stream",
        {
          op: "create_stream",
          name: req.name,
          subject: req.subject,
          group: req.group,
          partitions: req.partitions === 0 ? 1 : req.partitions,
          replicationFactor: rf,
          replicas: [],
          leader: "",
          config,
          creationTimestamp: nowNs().toString(),
        },
        call.deadline,
      );
      if (!res.ok) throw fail(LiftbridgeErrors.streamExists);
      return {};
    },

    async DeleteStream(req: DeleteStreamRequest, call: ServerCall) {
      authorize(call, "DeleteStream", req.name); // spec §5: checked first
      if (RESERVED.has(req.name)) throw fail(LiftbridgeErrors.streamReserved);
      const res = await proposeWrite(
        "Failed to delete stream",
        { op: "delete_stream", name: req.name },
        call.deadline,
      );
      if (!res.ok) throw fail(LiftbridgeErrors.streamNotExist);
      return {};
    },

    async PauseStream(req: PauseStreamRequest, call: ServerCall) {
      authorize(call, "PauseStream", req.name); // spec §5: checked first
      const stream = b.stream(req.name);
      if (stream === undefined && req.partitions.length === 0) throw fail(LiftbridgeErrors.streamNotFound);
      // No partitions = all of them, listed in the op as upstream does (activity events carry them).
      const partitions =
        req.partitions.length > 0 ? [...req.partitions] : stream!.partitions.map((p) => p.id);
      const res = await proposeWrite(
        "Failed to pause stream",
        {
          op: "pause_stream",
          name: req.name,
          partitions,
          resumeAll: req.resumeAll,
          timestamp: nowNs().toString(),
        },
        call.deadline,
      );
      if (!res.ok) {
        throw fail(
          res.reason === "no_such_partition"
            ? LiftbridgeErrors.partitionNotExist
            : LiftbridgeErrors.streamNotExist,
        );
      }
      return {};
    },

    async SetStreamReadonly(req: SetStreamReadonlyRequest, call: ServerCall) {
      authorize(call, "SetStreamReadonly", req.name); // spec §5: checked first
      const stream = b.stream(req.name);
      if (stream === undefined && req.partitions.length === 0) throw fail(LiftbridgeErrors.streamNotFound);
      // No partitions = all of them, listed in the op as upstream does (activity events carry them).
      const partitions =
        req.partitions.length > 0 ? [...req.partitions] : stream!.partitions.map((p) => p.id);
      const res = await proposeWrite(
        "Failed to set stream readonly",
        {
          op: "set_stream_readonly",
          name: req.name,
          partitions,
          readonly: req.readonly,
          timestamp: nowNs().toString(),
        },
        call.deadline,
      );
      if (!res.ok) {
        throw fail(
          res.reason === "no_such_partition"
            ? LiftbridgeErrors.partitionNotExist
            : LiftbridgeErrors.streamNotExist,
        );
      }
      return {};
    },

    Subscribe: subscribe,

    async FetchMetadata(req: FetchMetadataRequest, call: ServerCall) {
      authorize(call, "FetchMetadata", "*");
      // Every server of the cluster (cluster-membership.ts), with its partition and leader counts.
      const servers = await b.fetchBrokers(
        Number.isFinite(call.deadline) ? Math.min(1000, Math.max(1, call.deadline - Date.now() - 100)) : 1000,
      );
      const counts = new Map(servers.map((x) => [x.id, { partitionCount: 0, leaderCount: 0 }]));
      for (const s of b.raft.state.streams.values()) {
        for (const p of s.partitions) {
          if (p.paused) continue;
          for (const r of p.replicas) {
            const c = counts.get(r);
            if (c !== undefined) c.partitionCount++;
          }
          const c = counts.get(p.leader);
          if (c !== undefined) c.leaderCount++;
        }
      }
      const res: FetchMetadataResponse = {
        brokers: servers.map((x) => ({ id: x.id, host: x.host, port: x.port, ...counts.get(x.id)! })),
        streamMetadata: [],
        groupMetadata: [],
      };
      if (req.streams.length === 0) {
        for (const s of b.raft.state.streams.values()) res.streamMetadata.push(streamMetadata(s));
      } else {
        for (const name of req.streams) {
          const s = b.stream(name);
          res.streamMetadata.push(
            s === undefined
              ? {
                  name,
                  subject: "",
                  error: StreamMetadataError.UNKNOWN_STREAM,
                  partitions: new Map(),
                  creationTimestamp: 0n,
                }
              : streamMetadata(s),
          );
        }
      }
      res.groupMetadata.push(...consumerGroupMetadata(b, req.groups));
      return res;
    },

    FetchPartitionMetadata(req: FetchPartitionMetadataRequest, call: ServerCall) {
      authorize(call, "FetchPartitionMetadata", req.stream); // spec §5: before the partition lookup
      const s = b.stream(req.stream);
      const p = s?.partitions[req.partition];
      if (s === undefined || p === undefined || req.partition < 0)
        throw fail(LiftbridgeErrors.partitionNotFound);
      if (p.leader !== b.options.serverId) throw fail(LiftbridgeErrors.notLeaderForPartitionMetadata);
      return { metadata: partitionMetadata(p, b.partition(s.name, p.id)) };
    },

    async Publish(req: PublishRequest, call: ServerCall) {
      const t = publishTarget(req, true, call);
      if ("error" in t) throw t.error;
      if (t.p.paused) await resumeFor(t.s, t.p);
      const inbox = req.ackInbox !== "" ? req.ackInbox : b.newAckInbox();
      const subject = partitionSubject(t.s.subject, t.p.id);
      const data = envelopeOf(req, inbox);
      const wait = req.ackPolicy !== AckPolicy.NONE && Number.isFinite(call.deadline);
      if (!wait) {
        b.options.nats.publish(subject, data);
        return { ack: undefined, asyncError: undefined, correlationId: "" } as PublishResponse;
      }
      const ack = await waitAck(inbox, call, () => b.options.nats.publish(subject, data));
      if (ack === undefined) throw fail(LiftbridgeErrors.ackTimeout, "timed out waiting for ack");
      if (ack.ackError !== AckError.OK) {
        const cond = ACK_ERROR_STATUS[ack.ackError] ?? { status: Status.UNKNOWN, message: "", rpcs: [] };
        throw fail(cond, cond.message === "" ? "ack error" : undefined);
      }
      return { ack, asyncError: undefined, correlationId: "" };
    },

    PublishAsync: (call: ServerDuplexCall<PublishRequest, PublishResponse>) => publishAsync(call),

    async PublishToSubject(req: PublishToSubjectRequest, call: ServerCall) {
      authorize(call, "PublishToSubject", req.subject);
      if (!isLiteralSubject(req.subject)) throw new GrpcError(Status.INVALID_ARGUMENT, "Subject is invalid");
      const inbox = req.ackInbox !== "" ? req.ackInbox : b.newAckInbox();
      const data = encodePublish({
        offset: -1,
        key: req.key,
        value: req.value,
        headers: req.headers,
        ackInbox: inbox,
        correlationId: req.correlationId,
        ackPolicy: req.ackPolicy,
      });
      const wait = req.ackPolicy !== AckPolicy.NONE && Number.isFinite(call.deadline);
      if (!wait) {
        b.options.nats.publish(req.subject, data);
        return { ack: undefined };
      }
      const ack = await waitAck(inbox, call, () => b.options.nats.publish(req.subject, data));
      if (ack === undefined) throw fail(LiftbridgeErrors.ackTimeout, "timed out waiting for ack");
      return { ack };
    },

    async SetCursor(req: SetCursorRequest, call: ServerCall) {
      // spec §5: after the empty stream / cursorId checks (made by the cursors module), before the rest
      if (req.stream !== "" && req.cursorId !== "") authorize(call, "SetCursor", req.stream);
      await b.cursors.setCursor(req, call);
      return {};
    },
    async FetchCursor(req: FetchCursorRequest, call: ServerCall) {
      // spec §5: after the empty stream / cursorId checks (made by the cursors module), before the rest
      if (req.stream !== "" && req.cursorId !== "") authorize(call, "FetchCursor", req.stream);
      return { offset: await b.cursors.fetchCursor(req, call) };
    },
    ...createConsumerGroupHandlers(b),
  };

  function publishAsync(call: ServerDuplexCall<PublishRequest, PublishResponse>): Promise<void> {
    const inbox = b.newAckInbox();
    const clientId = authz === undefined ? undefined : clientIdOf(call);
    let inflight = 0;
    let idle: (() => void) | undefined;
    let gate: Promise<void> | undefined;
    let draining = false;
    const send = (res: PublishResponse): void => {
      if (!call.send(res) && !draining) {
        // The client is not reading its acks: stop reading its publishes until it catches up.
        draining = true;
        call.pause();
        void call.drain().then(() => {
          draining = false;
          call.resume();
        });
      }
    };
    const sendError = (correlationId: string, code: PublishAsyncErrorCode, message: string): void => {
      send({ ack: EMPTY_ACK, asyncError: { code, message }, correlationId });
    };
    // Successful acks are the hot path: encoded by hand, handed to the transport as bytes (serve.ts).
    const encodeOk = createPublishResponseEncoder();
    const sendBytes = send as unknown as (res: Buffer) => void;
    const off = b.onAck(inbox, (ack) => {
      inflight--;
      if (ack.ackError !== AckError.OK) {
        sendError(ack.correlationId, ackErrorToAsyncCode(ack.ackError), `ack error ${ack.ackError}`);
      } else {
        sendBytes(encodeOk(ack, ack.correlationId));
      }
      if (inflight <= 0 && idle !== undefined) idle();
    });
    const publish = (req: PublishRequest, s: StreamState, p: PartitionState): void => {
      const expectAck = req.ackPolicy !== AckPolicy.NONE;
      if (expectAck) inflight++;
      b.options.nats.publish(partitionSubject(s.subject, p.id), envelopeOf(req, inbox));
    };
    /** Handles one request; returns a promise only when it must wait (resuming a paused partition). */
    const handle = (req: PublishRequest): Promise<void> | undefined => {
      if (authz !== undefined) {
        // Checked first, as "Publish" (spec §5). Upstream still publishes a denied message; we do not.
        const denied = authzError(authz, clientId, "Publish", req.stream);
        if (denied !== undefined) {
          sendError(req.correlationId, PUBLISH_ASYNC_ERRORS.notAuthorized, denied.details);
          return undefined;
        }
      }
      const t = publishTarget(req, false);
      if ("error" in t) {
        sendError(req.correlationId, t.code, t.error.details);
        return undefined;
      }
      if (!t.p.paused) {
        publish(req, t.s, t.p);
        return undefined;
      }
      return resumeFor(t.s, t.p).then(
        () => publish(req, t.s, t.p),
        (e: unknown) =>
          sendError(
            req.correlationId,
            PUBLISH_ASYNC_ERRORS.internal,
            e instanceof GrpcError ? e.details : e instanceof Error ? e.message : String(e),
          ),
      );
    };
    // Resuming is asynchronous: later requests wait behind it (and behind each other) so that order is
    // kept. `gate` is the tail of that queue and clears itself once drained (the end-of-call loop below
    // waits for it).
    const track = (p: Promise<void>): void => {
      const g: Promise<void> = p.finally(() => {
        if (gate === g) gate = undefined;
      });
      gate = g;
    };
    call.onMessage((req) => {
      if (gate !== undefined) {
        track(gate.then(() => handle(req)));
        return;
      }
      const waiting = handle(req);
      if (waiting !== undefined) track(waiting);
    });
    return (async () => {
      try {
        await call.ended;
        while (gate !== undefined) await gate;
        if (inflight > 0 && !call.signal.aborted) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, ASYNC_DRAIN_MS);
            idle = () => {
              clearTimeout(timer);
              resolve();
            };
            call.signal.addEventListener("abort", idle, { once: true });
          });
        }
      } finally {
        off();
      }
    })();
  }
}

const EMPTY_MESSAGE: Message = Message.create();
const EMPTY_ACK = {} as Ack;
