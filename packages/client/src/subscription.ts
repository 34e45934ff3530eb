import type { Message as ApiMessage, ConsumerInit, SubscribeRequestInit } from "@liftbridge/api";
import { StartPosition, StopPosition } from "@liftbridge/api";
import type { ClientReadableCall } from "@liftbridge/grpc";
import { isGrpcError, Status } from "@liftbridge/grpc";
import { LiftbridgeErrorCode as C, isLiftbridgeError, LiftbridgeError, statusOf } from "./errors.js";
import { fromGrpcError } from "./grpc-status.js";
import type { Logger, StartAt, StopAt } from "./options.js";
import { assertSafeInteger } from "./options.js";

/**
 * A message read from a stream partition (go-liftbridge `Message`). `timestamp` is Unix nanoseconds.
 * `headers` include the server-added `subject` and `reply` keys (spec §0.8). Byte fields are views
 * into the received frame: copy them to keep them past the next message if you need a private copy.
 */
export interface Message {
  readonly offset: number;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly timestamp: bigint;
  readonly stream: string;
  readonly partition: number;
  readonly subject: string;
  readonly replySubject: string;
  readonly headers: ReadonlyMap<string, Uint8Array>;
}

/** Options of `subscribe` (go-liftbridge `SubscriptionOptions`). */
export interface SubscribeOptions {
  /** Go `Partition`; default 0. */
  readonly partition?: number;
  /** Go `StartAt*`; default `"newOnly"`. `timeDeltaMs` is computed on the client (now − delta). */
  readonly startAt?: StartAt;
  /** Go `StopAt*`; default: tail until closed. Reaching it ends the iteration normally. */
  readonly stopAt?: StopAt;
  /** Go `ReadISRReplica()`: read from a random in-sync replica instead of the leader. */
  readonly readIsrReplica?: boolean;
  /** Go `Resume()`: resume a paused partition. */
  readonly resume?: boolean;
  /**
   * Callback mode (Go `Handler`): each message is passed as `(undefined, message)`; a final error, if the
   * subscription ends with one, as `(error, undefined)`. Do not iterate the subscription in this mode.
   */
  readonly callback?: (error: LiftbridgeError | undefined, message: Message | undefined) => void;
  /** Cancels the subscription (like cancelling Go's ctx). */
  readonly signal?: AbortSignal;
}

/**
 * A live subscription to one stream partition: an `AsyncIterable` of messages (iterate it once), or
 * callback mode (`callback` option). It resubscribes from the last offset + 1 when the server becomes
 * unavailable, for up to the client's `resubscribeWaitTimeMs`.
 */
export interface Subscription extends AsyncIterable<Message> {
  readonly stream: string;
  readonly partition: number;
  /** Stops the subscription. Idempotent; iteration then ends normally. */
  close(): Promise<void>;
  /** Resolves (never rejects) when the subscription is over: the error that ended it, or undefined. */
  readonly closed: Promise<LiftbridgeError | undefined>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** What a subscription needs from the client. @internal */
export interface SubscribeHost {
  readonly log: Logger;
  readonly resubscribeWaitTimeMs: number;
  readonly isClosed: () => boolean;
  /** Opens the Subscribe call on the right broker, with the Go setup retries; resolves after the first (empty) frame. */
  openSubscribe(
    req: SubscribeRequestInit,
    signal: AbortSignal,
  ): Promise<{ call: ClientReadableCall<ApiMessage>; iterator: AsyncIterator<ApiMessage> | undefined }>;
  /** Registers a subscription so `client.close()` closes it. */
  track(sub: { close(): Promise<void> }): () => void;
}

/** Builds the wire request from options (validating them). @internal */
export function buildSubscribeRequest(
  stream: string,
  options: SubscribeOptions,
  consumer: ConsumerInit | undefined,
  nowMs: number,
): SubscribeRequestInit {
  const partition = options.partition ?? 0;
  assertSafeInteger("partition", partition, 0);
  const req: {
    -readonly [K in keyof SubscribeRequestInit]: SubscribeRequestInit[K];
  } = { stream, partition, readISRReplica: options.readIsrReplica ?? false, resume: options.resume ?? false };
  const start = options.startAt ?? "newOnly";
  if (start === "newOnly") req.startPosition = StartPosition.NEW_ONLY;
  else if (start === "earliest") req.startPosition = StartPosition.EARLIEST;
  else if (start === "latest") req.startPosition = StartPosition.LATEST;
  else if ("offset" in start) {
    assertSafeInteger("startAt.offset", start.offset, 0);
    req.startPosition = StartPosition.OFFSET;
    req.startOffset = start.offset;
  } else if ("time" in start) {
    req.startPosition = StartPosition.TIMESTAMP;
    req.startTimestamp = toNanos(start.time);
  } else if ("timeDeltaMs" in start) {
    assertSafeInteger("startAt.timeDeltaMs", start.timeDeltaMs, 0);
    req.startPosition = StartPosition.TIMESTAMP;
    req.startTimestamp = toNanos(nowMs - start.timeDeltaMs);
  } else throw new LiftbridgeError(C.InvalidArgument, "unknown startAt");
  const stop = options.stopAt;
  if (stop === undefined) req.stopPosition = StopPosition.STOP_ON_CANCEL;
  else if (stop === "latest") req.stopPosition = StopPosition.STOP_LATEST;
  else if ("offset" in stop) {
    assertSafeInteger("stopAt.offset", stop.offset, 0);
    req.stopPosition = StopPosition.STOP_OFFSET;
    req.stopOffset = stop.offset;
  } else if ("time" in stop) {
    const ms = stop.time instanceof Date ? stop.time.getTime() : stop.time;
    // Go: a stop time in the future is a client-side error.
    if (ms > nowMs) throw new LiftbridgeError(C.InvalidArgument, "stop time cannot be in the future");
    req.stopPosition = StopPosition.STOP_TIMESTAMP;
    req.stopTimestamp = toNanos(stop.time);
  } else throw new LiftbridgeError(C.InvalidArgument, "unknown stopAt");
  if (consumer !== undefined) req.consumer = consumer;
  return req;
}

function toNanos(t: Date | number): bigint {
  const ms = t instanceof Date ? t.getTime() : t;
  if (!Number.isFinite(ms)) throw new LiftbridgeError(C.InvalidArgument, "invalid time");
  return BigInt(Math.trunc(ms)) * 1_000_000n;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

const DONE: IteratorResult<Message> = { done: true, value: undefined };

/** Maps how a subscription stream ended: undefined = normal end. @internal */
export function subscriptionEnd(e: unknown, hasStop: boolean): LiftbridgeError | undefined {
  if (e === undefined) return undefined;
  // A stop position reached (or STOP_LATEST on an empty partition) is ResourceExhausted (spec §5): with
  // a stop position that is the normal end of the iteration. Without one it means read-only end (Go ErrReadonlyPartition).
  if (hasStop && isGrpcError(e, Status.RESOURCE_EXHAUSTED)) return undefined;
  return fromGrpcError(e, "subscribe");
}

/** @internal */
export class SubscriptionImpl implements Subscription {
  readonly stream: string;
  readonly partition: number;
  readonly closed: Promise<LiftbridgeError | undefined>;
  #resolveClosed!: (e: LiftbridgeError | undefined) => void;
  readonly #host: SubscribeHost;
  readonly #req: SubscribeRequestInit;
  readonly #hasStop: boolean;
  readonly #abort = new AbortController();
  #call: ClientReadableCall<ApiMessage> | undefined;
  #iterator: AsyncIterator<ApiMessage> | undefined;
  #lastOffset = -1;
  #done = false;
  #iterated = false;
  #untrack: () => void = () => {};
  readonly #callback: SubscribeOptions["callback"];
  #onUserAbort: (() => void) | undefined;
  #userSignal: AbortSignal | undefined;
  /** Called with every delivered offset (consumer checkpointing). */
  onOffset: ((offset: number) => void) | undefined;

  constructor(host: SubscribeHost, req: SubscribeRequestInit, options: SubscribeOptions) {
    this.#host = host;
    this.#req = req;
    this.stream = req.stream ?? "";
    this.partition = req.partition ?? 0;
    this.#hasStop = req.stopPosition !== undefined && req.stopPosition !== StopPosition.STOP_ON_CANCEL;
    this.#callback = options.callback;
    this.closed = new Promise((r) => {
      this.#resolveClosed = r;
    });
    if (options.signal !== undefined) {
      this.#userSignal = options.signal;
      this.#onUserAbort = () => void this.close();
      options.signal.addEventListener("abort", this.#onUserAbort, { once: true });
    }
  }

  /** Opens the first stream; rejects with the setup error. */
  async start(): Promise<void> {
    if (this.#userSignal?.aborted) throw new LiftbridgeError(C.Canceled, "subscription aborted");
    try {
      await this.#attach(this.#req);
    } catch (e) {
      // With a stop position, ResourceExhausted at setup (STOP_LATEST on an empty partition) is an empty subscription.
      if (this.#hasStop && statusOf(e) === Status.RESOURCE_EXHAUSTED) {
        this.#finish(undefined);
        return;
      }
      this.#finish(undefined);
      throw e;
    }
    this.#untrack = this.#host.track(this);
  }

  async #attach(req: SubscribeRequestInit): Promise<void> {
    const { call, iterator } = await this.#host.openSubscribe(req, this.#abort.signal);
    this.#call = call;
    this.#iterator = iterator;
    if (this.#callback !== undefined) {
      call.onMessage((m) => {
        this.#lastOffset = m.offset;
        this.onOffset?.(m.offset);
        this.#callback?.(undefined, m);
      });
      void call.status.then((e) => {
        if (this.#call === call) void this.#ended(e);
      });
    }
  }

  /** Stream `call` ended with `e`: resubscribe on Unavailable, else finish. Callback mode. */
  async #ended(e: unknown): Promise<void> {
    if (this.#done) return;
    if (this.#isConnectionLoss(e) && !this.#host.isClosed()) {
      try {
        await this.#resubscribe(e);
        return;
      } catch (err) {
        this.#finish(fromGrpcError(err, "subscribe"));
        return;
      }
    }
    this.#finish(this.#abort.signal.aborted ? undefined : subscriptionEnd(e, this.#hasStop));
  }

  /** Go §6.7: resubscribe from lastOffset + 1, every ~1-1.5 s, until resubscribeWaitTime runs out. */
  async #resubscribe(cause: unknown): Promise<void> {
    const deadline = performance.now() + this.#host.resubscribeWaitTimeMs;
    let last: unknown = cause;
    const req: SubscribeRequestInit =
      this.#lastOffset >= 0
        ? { ...this.#req, startPosition: StartPosition.OFFSET, startOffset: this.#lastOffset + 1 }
        : this.#req;
    this.#host.log.warn(
      { stream: this.stream, partition: this.partition },
      "subscription lost, resubscribing",
    );
    while (performance.now() < deadline && !this.#abort.signal.aborted && !this.#host.isClosed()) {
      try {
        await this.#attach(req);
        return;
      } catch (e) {
        last = e;
        if (!isUnavailableLike(e)) throw e;
      }
      await sleep(1000 + Math.floor(Math.random() * 500), this.#abort.signal);
    }
    if (this.#abort.signal.aborted || this.#host.isClosed())
      throw new LiftbridgeError(C.Canceled, "subscription closed");
    throw last;
  }

  #finish(error: LiftbridgeError | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#untrack();
    if (this.#onUserAbort !== undefined) this.#userSignal?.removeEventListener("abort", this.#onUserAbort);
    this.#call?.cancel();
    if (error !== undefined) this.#callback?.(error, undefined);
    this.#resolveClosed(error);
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    if (this.#callback !== undefined)
      throw new LiftbridgeError(C.InvalidArgument, "subscription is in callback mode");
    if (this.#iterated) throw new LiftbridgeError(C.InvalidArgument, "a subscription can be iterated once");
    this.#iterated = true;
    // A plain iterator object rather than an async generator: one promise per message on the hot path.
    return {
      next: () => this.#next(),
      return: async (): Promise<IteratorResult<Message>> => {
        // The consumer stopped iterating (break/return/throw): end the subscription.
        if (!this.#done) await this.close();
        return DONE;
      },
    };
  }

  async #next(): Promise<IteratorResult<Message>> {
    for (;;) {
      const it = this.#iterator;
      if (this.#done || it === undefined) return DONE;
      let r: IteratorResult<ApiMessage>;
      try {
        r = await it.next();
      } catch (e) {
        if (this.#abort.signal.aborted || this.#done) {
          this.#finish(undefined);
          return DONE;
        }
        if (this.#isConnectionLoss(e) && !this.#host.isClosed()) {
          try {
            await this.#resubscribe(e);
            continue;
          } catch (err) {
            const mapped = fromGrpcError(err, "subscribe");
            this.#finish(mapped);
            throw mapped;
          }
        }
        const mapped = subscriptionEnd(e, this.#hasStop);
        this.#finish(mapped);
        if (mapped !== undefined) throw mapped;
        return DONE;
      }
      if (r.done) {
        this.#finish(undefined);
        return DONE;
      }
      const m = r.value;
      this.#lastOffset = m.offset;
      this.onOffset?.(m.offset);
      return { done: false, value: m };
    }
  }

  /**
   * Unavailable (a dropped connection, e.g. a killed server: test/integration/close.test.ts), or a
   * stream reset we did not ask for (RST_STREAM CANCEL from a server cutting its calls short).
   */
  #isConnectionLoss(e: unknown): boolean {
    if (this.#abort.signal.aborted) return false;
    return isGrpcError(e, Status.UNAVAILABLE) || isGrpcError(e, Status.CANCELLED);
  }

  close(): Promise<void> {
    if (!this.#done) {
      this.#abort.abort();
      this.#finish(undefined);
    }
    return this.closed.then(() => undefined);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function isUnavailableLike(e: unknown): boolean {
  if (isGrpcError(e)) return e.code === Status.UNAVAILABLE || e.code === Status.FAILED_PRECONDITION;
  if (isLiftbridgeError(e))
    return e.code === C.Unavailable || e.code === C.NoLeader || isUnavailableLike(e.cause);
  return false;
}
