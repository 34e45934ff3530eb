/**
 * Reverse subscriptions (`SubscribeRequest.reverse`, API v2; spec internals §5.1 step 6, api §3):
 * committed messages newest to oldest, from min(start, high watermark) down to the stop offset or the
 * oldest message, then the stream ends. Never waits for new messages.
 *
 * Choices where upstream is unclear or a quirk (documented in the README):
 * - the start position is computed as for forward reads, then capped at the HW (NEW_ONLY, the proto
 *   default, therefore means "from the newest committed message");
 * - stop positions are lower bounds: STOP_OFFSET the oldest offset to deliver; STOP_TIMESTAMP the
 *   oldest message with timestamp >= stopTimestamp; STOP_LATEST the newest offset (only meaningful
 *   with a LATEST start); a stop above the start is InvalidArgument;
 * - the end is ResourceExhausted: "Stop offset reached" at the stop offset, "Oldest offset reached"
 *   at the oldest message (upstream sends Go's io.EOF, seen as Unknown "EOF");
 * - an empty partition (or HW −1) is ResourceExhausted "Stream is empty" at setup, like STOP_LATEST
 *   on an empty partition (upstream: Internal "Failed to create stream reader").
 * @module
 */
import {
  type ErrorCondition,
  LiftbridgeErrors,
  Message,
  StopPosition,
  type SubscribeRequest,
} from "@liftbridge/api";
import { type CommitLog, isCommitLogError } from "@liftbridge/commitlog";
import { GrpcError, type ServerWritableCall, Status } from "@liftbridge/grpc";
import type { BrokerCore } from "./broker.js";
import { admitGroupSubscriber } from "./consumer-group-api.js";
import { valueOpener } from "./encrypted-reads.js";
import { createMessageEncoder } from "./message-encoder.js";
import type { Partition } from "./partition.js";

const EMPTY_MESSAGE: Message = Message.create();

function fail(cond: ErrorCondition, detail?: string): GrpcError {
  let msg = cond.message;
  if (detail !== undefined) msg = msg === "" ? detail : `${msg}: ${detail}`;
  return new GrpcError(cond.status as Status, msg === "" ? "error" : msg);
}

/**
 * The lowest offset a reverse subscription delivers (−1 = down to the oldest), from the request's
 * stop position. Throws the setup statuses of spec §5.
 */
export async function reverseStopOffset(log: CommitLog, req: SubscribeRequest): Promise<number> {
  switch (req.stopPosition) {
    case StopPosition.STOP_ON_CANCEL:
      return -1;
    case StopPosition.STOP_OFFSET:
      return req.stopOffset;
    case StopPosition.STOP_LATEST:
      return log.newestOffset;
    case StopPosition.STOP_TIMESTAMP:
      try {
        // The oldest message at or after the stop time (an earliest-after lookup).
        return await log.offsetForTimestamp(req.stopTimestamp);
      } catch (e) {
        throw fail(LiftbridgeErrors.timestampLookupFailed, e instanceof Error ? e.message : String(e));
      }
    default:
      throw fail(LiftbridgeErrors.unknownStopPosition, String(req.stopPosition));
  }
}

/**
 * Serves a reverse subscription on `part` (this server leads it, or `readISRReplica`), `start` being
 * the start offset computed from the start position. Sends the empty "established" message, then
 * the messages newest first, then ends with the statuses described in the module comment. `denied`
 * (an authorization failure) is thrown once the setup checks passed, as for forward reads (spec §5).
 */
export async function subscribeReverse(
  b: BrokerCore,
  part: Partition,
  log: CommitLog,
  req: SubscribeRequest,
  start: number,
  call: ServerWritableCall<Message>,
  denied?: GrpcError,
): Promise<void> {
  const hw = Math.min(log.highWatermark, log.newestOffset);
  if (hw < 0) throw fail(LiftbridgeErrors.streamEmpty);
  const from = Math.min(start, hw);
  const stop = await reverseStopOffset(log, req);
  if (stop > from) {
    throw new GrpcError(
      Status.INVALID_ARGUMENT,
      `Stop offset is after start offset (reverse): ${stop} > ${from}`,
    );
  }
  if (denied !== undefined) throw denied;
  // Consumer-group fence (spec internals §5.7), as for forward reads.
  const group = admitGroupSubscriber(b, req);
  const signal = group === undefined ? call.signal : AbortSignal.any([call.signal, group.signal]);
  const reader = log.readRawReverse({ offset: from, stopOffset: Math.max(stop, 0), committed: true, signal });
  call.send(EMPTY_MESSAGE);
  const encoder = createMessageEncoder(part.stream.name, part.meta.id);
  const opener = valueOpener(b, part);
  const send = call.send as unknown as (m: Buffer) => boolean;
  let last = -1;
  try {
    for await (const batch of reader) {
      const opened = opener(batch.bytes, batch.count);
      const enc = encoder.encode(opened.bytes, opened.count);
      const bytes = enc.bytes;
      const ends = enc.ends;
      let at = 0;
      for (let i = 0; i < enc.count; i++) {
        const to = ends[i]!;
        if (!send.call(call, bytes.subarray(at, to))) await call.drain();
        at = to;
        last = enc.offsets[i]!;
      }
      if (opened.error !== undefined) throw opened.error;
    }
  } catch (e) {
    if (e instanceof GrpcError) throw e;
    if (signal.aborted) return;
    if (isCommitLogError(e, "deleted")) throw new GrpcError(Status.NOT_FOUND, "partition was deleted");
    throw fail(LiftbridgeErrors.logClosed, e instanceof Error ? e.message : String(e));
  } finally {
    group?.release();
  }
  if (signal.aborted) return;
  if (part.log !== log) {
    if (part.stopReason === "paused") throw new GrpcError(Status.FAILED_PRECONDITION, "partition was paused");
    if (part.stopReason === "deleted") throw new GrpcError(Status.NOT_FOUND, "partition was deleted");
    if (part.stopReason !== undefined) throw fail(LiftbridgeErrors.logClosed, "partition log closed");
  }
  if (last !== -1 && stop >= 0 && stop >= log.oldestOffset) throw fail(LiftbridgeErrors.stopOffsetReached);
  throw fail(LiftbridgeErrors.reverseEnd);
}
