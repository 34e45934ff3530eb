import type { Ack as ApiAck, PublishRequestInit, PublishResponse } from "@liftbridge/api";
import type { ClientDuplexCall } from "@liftbridge/grpc";
import type { Api } from "./api.js";
import { LiftbridgeError, LiftbridgeErrorCode } from "./errors.js";
import { codeForAsyncError } from "./grpc-status.js";
import type { Logger } from "./options.js";

/**
 * An ack of a published message (go-liftbridge `Ack`). Timestamps are Unix nanoseconds. The object is
 * the decoded wire `Ack`; its `ackError` is always OK here (errors arrive as the handler's error).
 */
export type Ack = Readonly<Omit<ApiAck, "ackError">>;

/** Receives the outcome of one publish: an ack, or an error (`ack_timeout`, `publish_failed`, …). */
export type AckHandler = (error: LiftbridgeError | undefined, ack: Ack | undefined) => void;

interface Pending {
  readonly handler: AckHandler;
  readonly deadline: number;
}

/**
 * One broker's long-lived `PublishAsync` stream (spec §0.5, §6.6): requests are written through the
 * lean transport, which coalesces the writes of one event-loop turn; responses are correlated by id.
 * Ack contexts are registered before sending. Timeouts are swept by one timer: while every pending
 * message uses the same timeout, deadlines are in insertion order and the sweep stops at the first
 * live one.
 * @internal
 */
export class Publisher {
  readonly #api: Api;
  readonly #log: Logger;
  readonly #now: () => number;
  #call: ClientDuplexCall<PublishRequestInit, PublishResponse> | undefined;
  readonly #pending = new Map<string, Pending>();
  #uniformTimeout = -1; // -1: none yet; -2: mixed
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #closed = false;

  constructor(api: Api, log: Logger, now: () => number = performance.now.bind(performance)) {
    this.#api = api;
    this.#log = log;
    this.#now = now;
  }

  /** Number of messages waiting for an ack. */
  get pending(): number {
    return this.#pending.size;
  }

  #open(): ClientDuplexCall<PublishRequestInit, PublishResponse> {
    const call = this.#api.PublishAsync();
    call.onMessage((res) => this.#onResponse(res));
    void call.status.then((err) => {
      if (this.#call === call) this.#call = undefined;
      // Acks still pending time out (Go keeps the ack contexts until their timers fire).
      if (err !== undefined && !this.#closed) this.#log.warn({ err }, "publish stream ended");
    });
    this.#call = call;
    return call;
  }

  /**
   * Sends `req` (its `correlationId` must be set) and registers `handler` unless `handler` is undefined
   * (ack policy NONE). Returns false when the transport is backed up (the caller may `drain()`).
   */
  send(
    req: PublishRequestInit & { correlationId: string },
    timeoutMs: number,
    handler: AckHandler | undefined,
  ): boolean {
    if (this.#closed) throw new LiftbridgeError(LiftbridgeErrorCode.Closed, "client is closed");
    if (handler !== undefined) {
      const deadline = this.#now() + timeoutMs;
      this.#pending.set(req.correlationId, { handler, deadline });
      if (this.#uniformTimeout === -1) this.#uniformTimeout = timeoutMs;
      else if (this.#uniformTimeout !== timeoutMs) this.#uniformTimeout = -2;
      if (deadline < this.#timerAt) this.#arm(deadline);
    }
    const call = this.#call ?? this.#open();
    return call.send(req);
  }

  /** Resolves when the stream has room again. */
  drain(): Promise<void> {
    return this.#call?.drain() ?? Promise.resolve();
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#sweep(), Math.max(0, at - this.#now()) + 1);
    this.#timer.unref?.();
  }

  #sweep(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = this.#now();
    const ordered = this.#uniformTimeout !== -2;
    let next = Number.POSITIVE_INFINITY;
    const expired: Pending[] = [];
    for (const [id, p] of this.#pending) {
      if (p.deadline <= now) {
        this.#pending.delete(id);
        expired.push(p);
      } else {
        if (p.deadline < next) next = p.deadline;
        if (ordered) break;
      }
    }
    if (this.#pending.size === 0) this.#uniformTimeout = -1;
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
    for (const p of expired) {
      p.handler(new LiftbridgeError(LiftbridgeErrorCode.AckTimeout, "publish ack timeout"), undefined);
    }
  }

  #onResponse(res: PublishResponse): void {
    // spec §0.6: error responses are correlated by the response's id, acks by the ack's.
    const err = res.asyncError;
    const id = err !== undefined ? res.correlationId : (res.ack?.correlationId ?? "");
    const p = this.#pending.get(id);
    if (p === undefined) return; // timed out already, or ack policy NONE
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#uniformTimeout = -1;
    if (err !== undefined)
      p.handler(new LiftbridgeError(codeForAsyncError(err.code), err.message), undefined);
    else p.handler(undefined, res.ack);
  }

  /** Ends the stream; pending handlers get `closed`. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#call?.cancel();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending)
      p.handler(new LiftbridgeError(LiftbridgeErrorCode.Closed, "client closed"), undefined);
  }
}
