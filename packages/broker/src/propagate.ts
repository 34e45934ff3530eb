/**
 * Forwarding metadata writes to the controller (spec internals §3.6): a server that does not lead
 * the metadata group sends the op on `<ns>.raft.metadata.propagate`; the leader proposes it as if it
 * came from its own API and answers with the apply result and the entry's index, or with a gRPC
 * status code and message that the forwarding server passes through unchanged.
 * @module
 */
import { GrpcError, Status } from "@liftbridge/grpc";
import { clusterSubjects } from "./cluster-membership.js";
import { isBrokerError } from "./errors.js";
import type { Logger } from "./logger.js";
import type { ApplyResult, MetadataOp } from "./metadata.js";
import type { MetadataRaft } from "./metadata-raft.js";
import type { NatsConnection, NatsSubscriptionHandle } from "./nats.js";
import { fromJsonBytes, natsRequest, toJsonBytes } from "./nats-request.js";

/** Default time to find the controller and get its answer (upstream's propagate timeout). */
export const DEFAULT_PROPAGATE_TIMEOUT_MS = 5000;

/** The controller's answer to a forwarded op. */
export type PropagatedResponse =
  | { readonly result: ApplyResult; readonly index: number }
  | { readonly error: { readonly code: number; readonly message: string } };

/**
 * The gRPC status of an error raised while proposing (spec §5: Raft failures are `Internal`,
 * validation at the controller `InvalidArgument`; a {@link GrpcError} keeps its code).
 */
export function toGrpcError(e: unknown): GrpcError {
  if (e instanceof GrpcError) return e;
  if (isBrokerError(e)) {
    const status =
      e.code === "invalid_argument"
        ? Status.INVALID_ARGUMENT
        : e.code === "closed"
          ? Status.UNAVAILABLE
          : e.code === "stream_exists"
            ? Status.ALREADY_EXISTS
            : e.code === "no_such_stream" || e.code === "no_such_partition"
              ? Status.NOT_FOUND
              : Status.INTERNAL;
    // The message without the "[code] " prefix: it is what the client sees.
    return new GrpcError(status, e.message.replace(/^\[[a-z_]+\] /u, ""));
  }
  return new GrpcError(Status.INTERNAL, e instanceof Error ? e.message : String(e));
}

/** What {@link Propagator} needs from its broker. */
export interface PropagateHost {
  readonly raft: MetadataRaft;
  /** Proposes on this server, which leads the metadata group. */
  proposeLocal(op: MetadataOp, timeoutMs: number): Promise<{ result: ApplyResult; index: number }>;
}

/** Options of {@link Propagator}. */
export interface PropagatorOptions {
  readonly nats: NatsConnection;
  readonly namespace: string;
  readonly serverId: string;
  readonly logger: Logger;
}

/** Both sides of forwarding: the controller's responder and the follower's {@link forward}. */
export class Propagator {
  readonly #o: PropagatorOptions;
  readonly #host: PropagateHost;
  readonly #sub: NatsSubscriptionHandle;
  readonly #subjects: ReturnType<typeof clusterSubjects>;

  constructor(o: PropagatorOptions, host: PropagateHost) {
    this.#o = o;
    this.#host = host;
    this.#subjects = clusterSubjects(o.namespace);
    // Every server listens; only the current leader answers (upstream subscribes on election).
    this.#sub = o.nats.subscribe(this.#subjects.propagate, {
      callback: (m) => void this.#onRequest(m.data, m.reply),
    });
  }

  async #onRequest(data: Uint8Array, reply: string | undefined): Promise<void> {
    if (reply === undefined || reply === "" || !this.#host.raft.isLeader) return;
    const req = fromJsonBytes(data) as { op?: MetadataOp; timeoutMs?: number } | undefined;
    let res: PropagatedResponse;
    if (req?.op === undefined || typeof req.op !== "object") {
      res = { error: { code: Status.INVALID_ARGUMENT, message: "malformed propagated request" } };
    } else {
      try {
        res = await this.#host.proposeLocal(req.op, req.timeoutMs ?? DEFAULT_PROPAGATE_TIMEOUT_MS);
      } catch (e) {
        const g = toGrpcError(e);
        res = { error: { code: g.code, message: g.details } };
      }
    }
    try {
      this.#o.nats.publish(reply, toJsonBytes(res));
    } catch (err) {
      this.#o.logger.warn({ err }, "propagated response not sent");
    }
  }

  /**
   * Runs `op` on the controller (spec internals §3.6): waits for a known metadata leader until
   * `deadline` (a `Date.now()` time), proposes locally if this server became leader, else sends it
   * on the propagate subject; sends it again when another controller is elected before an answer
   * (the one asked may have died). Rejects with a {@link GrpcError}: `Internal` "no known metadata
   * leader" when none appears in time, `Internal` when the controller does not answer, or the
   * controller's own status and message.
   */
  async forward(op: MetadataOp, deadline: number): Promise<{ result: ApplyResult; index: number }> {
    const raft = this.#host.raft;
    let reply: Uint8Array | undefined;
    for (;;) {
      for (;;) {
        const leader = raft.leader;
        if (leader !== null) break;
        if (Date.now() >= deadline) throw new GrpcError(Status.INTERNAL, "no known metadata leader");
        await new Promise((r) => setTimeout(r, 10));
      }
      const remaining = Math.max(1, deadline - Date.now());
      if (raft.isLeader) return this.#host.proposeLocal(op, remaining);
      const askedLeader = raft.leader;
      const newLeader = new AbortController();
      const poll = setInterval(() => {
        if (raft.leader !== null && raft.leader !== askedLeader) newLeader.abort();
      }, 50);
      reply = await natsRequest(
        this.#o.nats,
        this.#subjects.propagate,
        toJsonBytes({ op, timeoutMs: remaining }),
        {
          inboxPrefix: this.#subjects.inbox(this.#o.serverId),
          timeoutMs: remaining,
          signal: newLeader.signal,
        },
      ).finally(() => clearInterval(poll));
      if (reply !== undefined || !newLeader.signal.aborted || Date.now() >= deadline) break;
    }
    if (reply === undefined) {
      throw new GrpcError(Status.INTERNAL, "failed to propagate request to metadata leader: timeout");
    }
    const res = fromJsonBytes(reply) as PropagatedResponse | undefined;
    if (res === undefined) throw new GrpcError(Status.INTERNAL, "malformed propagated response");
    if ("error" in res) throw new GrpcError(res.error.code as Status, res.error.message);
    return res;
  }

  /** Stops answering. */
  close(): void {
    this.#sub.unsubscribe();
  }
}
