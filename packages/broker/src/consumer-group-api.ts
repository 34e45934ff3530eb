/**
 * The consumer-group RPCs of `proto.API` (JoinConsumerGroup, LeaveConsumerGroup,
 * FetchConsumerGroupAssignments, ReportConsumerGroupCoordinator) with the status codes of spec §5,
 * group metadata for FetchMetadata, and the Subscribe-side group fence.
 * @module
 */
import {
  type ConsumerGroupMetadata,
  ConsumerGroupMetadataError,
  type FetchConsumerGroupAssignmentsRequest,
  type FetchConsumerGroupAssignmentsResponse,
  type JoinConsumerGroupRequest,
  type JoinConsumerGroupResponse,
  type LeaveConsumerGroupRequest,
  type LeaveConsumerGroupResponse,
  LiftbridgeErrors,
  type ReportConsumerGroupCoordinatorRequest,
  type ReportConsumerGroupCoordinatorResponse,
  type SubscribeRequest,
} from "@liftbridge/api";
import { GrpcError, Status } from "@liftbridge/grpc";
import type { BrokerCore } from "./broker.js";
import type { GroupSubscriberSlot } from "./consumer-group-coordinator.js";
import type { ConsumerGroupError } from "./consumer-groups.js";
import { isBrokerError } from "./errors.js";
import type { ApplyResult, MetadataOp } from "./metadata.js";

const precondition = (message: string): GrpcError => new GrpcError(Status.FAILED_PRECONDITION, message);
const invalid = (message: string): GrpcError => new GrpcError(Status.INVALID_ARGUMENT, message);
const notFound = (): GrpcError => new GrpcError(Status.NOT_FOUND, LiftbridgeErrors.groupNotExist.message);

function reasonText(reason: ApplyResult & { ok: false }, groupId: string, consumerId: string): string {
  switch (reason.reason as ConsumerGroupError | string) {
    case "group_exists":
      return `consumer group ${groupId} already exists`;
    case "no_such_group":
      return `No such consumer group ${groupId}`;
    case "already_member":
      return `consumer ${consumerId} is already a member of consumer group ${groupId}`;
    case "not_member":
      return `consumer ${consumerId} is not a member of consumer group ${groupId}`;
    case "no_such_stream":
      return "stream does not exist";
    default:
      return reason.reason;
  }
}

/** Durations in the Join response are Go `time.Duration`s: nanoseconds. */
const ns = (ms: number): bigint => BigInt(Math.round(ms)) * 1_000_000n;

/** The four consumer-group handlers of `proto.API` plus the helpers `api-service.ts` uses. */
export interface ConsumerGroupHandlers {
  JoinConsumerGroup(req: JoinConsumerGroupRequest): Promise<JoinConsumerGroupResponse>;
  LeaveConsumerGroup(req: LeaveConsumerGroupRequest): Promise<LeaveConsumerGroupResponse>;
  FetchConsumerGroupAssignments(
    req: FetchConsumerGroupAssignmentsRequest,
  ): FetchConsumerGroupAssignmentsResponse;
  ReportConsumerGroupCoordinator(
    req: ReportConsumerGroupCoordinatorRequest,
  ): Promise<ReportConsumerGroupCoordinatorResponse>;
}

/** Builds the consumer-group RPC handlers of a broker. */
export function createConsumerGroupHandlers(b: BrokerCore): ConsumerGroupHandlers {
  /** Proposes through the broker; a Raft failure (or a closing broker) is Internal (spec §5). */
  const propose = async (op: MetadataOp, what: string): Promise<ApplyResult> => {
    try {
      return await b.propose(op);
    } catch (e) {
      if (isBrokerError(e))
        throw new GrpcError(Status.INTERNAL, `Failed to ${what}`, undefined, { cause: e });
      throw e;
    }
  };
  const groups = () => b.raft.state.groups.groups;
  const timeouts = () => ({
    consumerTimeout: ns(b.groups.options.consumerTimeoutMs),
    coordinatorTimeout: ns(b.groups.options.coordinatorTimeoutMs),
  });
  const requireIds = (groupId: string, consumerId: string): void => {
    if (groupId === "") throw invalid(LiftbridgeErrors.noGroupId.message);
    if (consumerId === "") throw invalid(LiftbridgeErrors.noConsumerId.message);
  };

  return {
    async JoinConsumerGroup(req) {
      requireIds(req.groupId, req.consumerId);
      if (req.streams.length === 0) throw invalid(LiftbridgeErrors.noStreams.message);
      const streams = [...req.streams];
      if (!groups().has(req.groupId)) {
        const coordinator = b.pickGroupCoordinator();
        const res = await propose(
          {
            op: "create_consumer_group",
            groupId: req.groupId,
            consumerId: req.consumerId,
            streams,
            coordinator,
          },
          "create consumer group",
        );
        if (res.ok) return { coordinator, epoch: 0, ...timeouts() };
        // Created concurrently by another member: join it instead.
        if (res.reason !== "group_exists")
          throw precondition(
            `Failed to create consumer group: ${reasonText(res, req.groupId, req.consumerId)}`,
          );
      }
      const res = await propose(
        { op: "join_consumer_group", groupId: req.groupId, consumerId: req.consumerId, streams },
        "join consumer group",
      );
      if (!res.ok) {
        if (res.reason === "no_such_group") throw notFound();
        throw precondition(reasonText(res, req.groupId, req.consumerId));
      }
      const g = groups().get(req.groupId);
      if (g === undefined) throw notFound();
      return { coordinator: g.coordinator, epoch: g.epoch, ...timeouts() };
    },

    async LeaveConsumerGroup(req) {
      requireIds(req.groupId, req.consumerId);
      const res = await propose(
        { op: "leave_consumer_group", groupId: req.groupId, consumerId: req.consumerId, expired: false },
        "leave consumer group",
      );
      if (!res.ok) {
        if (res.reason === "no_such_group") throw notFound();
        throw precondition(reasonText(res, req.groupId, req.consumerId));
      }
      return {};
    },

    FetchConsumerGroupAssignments(req) {
      requireIds(req.groupId, req.consumerId);
      const g = groups().get(req.groupId);
      if (g === undefined) throw notFound();
      const member = g.members.find((m) => m.id === req.consumerId);
      if (member === undefined)
        throw precondition(`consumer ${req.consumerId} is not a member of consumer group ${req.groupId}`);
      if (g.coordinator !== b.options.serverId)
        throw precondition(
          `broker ${b.options.serverId} is not the coordinator of consumer group ${req.groupId}`,
        );
      // Any call from a live member counts as its heartbeat, even one with a stale epoch.
      b.groups.heartbeat(g.id, member.id);
      if (req.epoch !== g.epoch)
        throw precondition(`consumer group epoch mismatch: current ${g.epoch}, request ${req.epoch}`);
      return {
        epoch: g.epoch,
        assignments: member.assignments
          .filter((a) => a.partitions.length > 0)
          .map((a) => ({ stream: a.stream, partitions: [...a.partitions] })),
      };
    },

    async ReportConsumerGroupCoordinator(req) {
      if (req.groupId === "") throw invalid(LiftbridgeErrors.noGroupId.message);
      if (req.consumerId === "") throw invalid(LiftbridgeErrors.noConsumerId.message);
      if (req.coordinator === "") throw invalid(LiftbridgeErrors.noCoordinator.message);
      const g = groups().get(req.groupId);
      if (g === undefined) throw precondition(`${LiftbridgeErrors.noSuchGroupReport.message} ${req.groupId}`);
      if (g.coordinator !== req.coordinator || g.epoch !== req.epoch) {
        throw precondition(
          `${LiftbridgeErrors.coordinatorMismatch.message}, current (${g.coordinator}, ${g.epoch}), reported (${req.coordinator}, ${req.epoch})`,
        );
      }
      if (!g.members.some((m) => m.id === req.consumerId))
        throw precondition(`consumer ${req.consumerId} is not a member of consumer group ${req.groupId}`);
      let out: Awaited<ReturnType<typeof b.groups.report>>;
      try {
        out = await b.groups.report(g, req.consumerId);
      } catch (e) {
        if (isBrokerError(e))
          throw new GrpcError(Status.INTERNAL, "Failed to change coordinator", undefined, { cause: e });
        throw e;
      }
      if (out.kind === "no_candidates") throw precondition("No coordinator candidates");
      return {};
    },
  };
}

/** `FetchMetadataResponse.groupMetadata` for the requested ids, in request order (spec §2.3). */
export function consumerGroupMetadata(b: BrokerCore, ids: readonly string[]): ConsumerGroupMetadata[] {
  return ids.map((groupId) => {
    const g = b.raft.state.groups.groups.get(groupId);
    return g === undefined
      ? { groupId, error: ConsumerGroupMetadataError.UNKNOWN_GROUP, coordinator: "", epoch: 0 }
      : { groupId, error: ConsumerGroupMetadataError.OK, coordinator: g.coordinator, epoch: g.epoch };
  });
}

/**
 * The Subscribe-side group checks (spec §5, internals §5.7), run on the partition leader before the
 * reader starts: no group -> `undefined`; otherwise the subscriber takes the (group, partition) slot,
 * replacing an older or equal epoch, or the call fails with FailedPrecondition "Consumer is not
 * currently assigned this partition" when a newer epoch holds it. The replaced subscription is closed:
 * its stream ends with status OK (spec: "replaces the old subscription (closing it)"), so a member
 * that reconciles a rebalance sees no error; it learns the new epoch from its next assignment fetch.
 */
export function admitGroupSubscriber(b: BrokerCore, req: SubscribeRequest): GroupSubscriberSlot | undefined {
  const c = req.consumer;
  if (c === undefined || c.groupId === "") return undefined;
  const slot = b.groupSubscribers.admit(c.groupId, req.stream, req.partition, c.groupEpoch);
  if (slot === undefined)
    throw new GrpcError(Status.FAILED_PRECONDITION, LiftbridgeErrors.consumerNotAssigned.message);
  return slot;
}
