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
   * Go `Reverse()` (API v2, `SubscribeRequest.reverse`): deliver messages newest to oldest, from
   * `startAt` (capped at the high watermark; the default `"newOnly"` means "from the newest") down to
   * `stopAt` (then a lower bound) or the oldest message, where the iteration ends normally. Never
   * waits for new messages. A server that predates API v2 ignores the field and reads forward.
   */
  readonly reverse?: boolean;
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
  if (options.reverse === true) req.reverse = true;
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
const DONE_PROMISE: Promise<IteratorResult<Message>> = Promise.resolve(DONE);
/** Messages buffered by an iterated subscription before it pauses its stream. */
const BUFFER_HIGH = 4096;
/** ...and resumes once the consumer took it down to this many. */
const BUFFER_LOW = 1024;

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
  #lastOffset = -1;
  #done = false;
  /** Iteration mode: messages received and not yet taken (`#buf[#head..]`). */
  #buf: ApiMessage[] = [];
  #head = 0;
  #paused = false;
  /** Iteration mode: the stream is over for good; `#endError` is thrown after the buffer drains. */
  #streamOver = false;
  #endError: LiftbridgeError | undefined;
  #waiter: ((r: IteratorResult<Message>) => void) | undefined;
  #rejecter: ((e: unknown) => void) | undefined;
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
    // A reverse subscription always ends (at its stop or the oldest message) with ResourceExhausted.
    this.#hasStop =
      req.reverse === true ||
      (req.stopPosition !== undefined && req.stopPosition !== StopPosition.STOP_ON_CANCEL);
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
    const { call } = await this.#host.openSubscribe(req, this.#abort.signal);
    this.#call = call;
    if (this.#callback !== undefined) {
      call.onMessage((m) => {
        this.#lastOffset = m.offset;
        this.onOffset?.(m.offset);
        this.#callback?.(undefined, m);
      });
      void call.status.then((e) => {
        if (this.#call === call) void this.#ended(e);
      });
      return;
    }
    // Iteration: messages are buffered here as they are decoded (a chunk's worth at a time), so that
    // `next()` hands out buffered ones without awaiting the transport: one settled promise per message.
    this.#paused = false; // a new call (after a resubscribe) starts unpaused
    call.onMessage((m) => {
      if (this.#call !== call) return;
      const waiter = this.#waiter;
      if (waiter !== undefined) {
        this.#waiter = undefined;
        this.#rejecter = undefined;
        waiter({ done: false, value: this.#take(m) });
        return;
      }
      this.#buf.push(m);
      if (!this.#paused && this.#buf.length - this.#head >= BUFFER_HIGH) {
        this.#paused = true;
        call.pause();
      }
    });
    void call.status.then((e) => {
      if (this.#call === call) void this.#iterEnded(e);
    });
  }

  /** Records `m` as delivered (resume offset, consumer checkpoints) and returns it. */
  #take(m: ApiMessage): Message {
    this.#lastOffset = m.offset;
    this.onOffset?.(m.offset);
    return m;
  }

  /** Iteration mode: the stream ended with `e`: resubscribe on connection loss, else end after the buffer. */
  async #iterEnded(e: unknown): Promise<void> {
    if (this.#done || this.#streamOver) return;
    if (this.#abort.signal.aborted) {
      this.#endIteration(undefined);
      return;
    }
    if (this.#isConnectionLoss(e) && !this.#host.isClosed()) {
      try {
        // Messages still buffered come first: resume after the last one received, not delivered.
        const received = this.#buf.length > this.#head ? this.#buf[this.#buf.length - 1]!.offset : -1;
        if (this.#reverseDone(received) || !(await this.#resubscribe(e, received))) {
          this.#endIteration(undefined);
        }
        return;
      } catch (err) {
        this.#endIteration(fromGrpcError(err, "subscribe"));
        return;
      }
    }
    this.#endIteration(subscriptionEnd(e, this.#hasStop));
  }

  #endIteration(error: LiftbridgeError | undefined): void {
    this.#streamOver = true;
    this.#endError = error;
    // The consumer drains the buffer first; with nobody waiting, its next `next()` ends the iteration.
    if (this.#head < this.#buf.length || this.#waiter === undefined) return;
    const waiter = this.#waiter;
    const rejecter = this.#rejecter;
    this.#waiter = undefined;
    this.#rejecter = undefined;
    this.#finish(error);
    if (error !== undefined) rejecter?.(error);
    else waiter?.(DONE);
  }

  /** Stream `call` ended with `e`: resubscribe on Unavailable, else finish. Callback mode. */
  async #ended(e: unknown): Promise<void> {
    if (this.#done) return;
    if (this.#isConnectionLoss(e) && !this.#host.isClosed()) {
      if (this.#reverseDone(-1)) {
        this.#finish(undefined);
        return;
      }
      try {
        if (!(await this.#resubscribe(e))) this.#finish(undefined);
        return;
      } catch (err) {
        this.#finish(fromGrpcError(err, "subscribe"));
        return;
      }
    }
    this.#finish(this.#abort.signal.aborted ? undefined : subscriptionEnd(e, this.#hasStop));
  }

  /** The offset the subscription got to: the last received (`receivedOffset`, still buffered) or delivered. */
  #reached(receivedOffset: number): number {
    return receivedOffset >= 0 ? receivedOffset : this.#lastOffset;
  }

  /** A reverse subscription that lost its stream after receiving its last message (offset 0 or its stop). */
  #reverseDone(receivedOffset: number): boolean {
    const req = this.#req;
    const at = this.#reached(receivedOffset);
    if (req.reverse !== true || at < 0) return false;
    if (at === 0) return true;
    return req.stopPosition === StopPosition.STOP_OFFSET && at <= (req.stopOffset ?? 0);
  }

  /**
   * Go §6.7: resubscribe from the last offset + 1 (reverse: − 1), every ~1-1.5 s, until
   * resubscribeWaitTime runs out. `receivedOffset`: the last message received but still buffered.
   * Resolves false when a reverse subscription turns out to have nothing left (the server finds its
   * stop above the new start, or the partition empty).
   */
  async #resubscribe(cause: unknown, receivedOffset = -1): Promise<boolean> {
    const deadline = performance.now() + this.#host.resubscribeWaitTimeMs;
    let last: unknown = cause;
    const reverse = this.#req.reverse === true;
    // Forward: buffered messages are newer than delivered ones; reverse: older.
    const from = reverse ? this.#reached(receivedOffset) : Math.max(this.#lastOffset, receivedOffset);
    const req: SubscribeRequestInit =
      from >= 0
        ? { ...this.#req, startPosition: StartPosition.OFFSET, startOffset: reverse ? from - 1 : from + 1 }
        : this.#req;
    this.#host.log.warn(
      { stream: this.stream, partition: this.partition },
      "subscription lost, resubscribing",
    );
    while (performance.now() < deadline && !this.#abort.signal.aborted && !this.#host.isClosed()) {
      try {
        await this.#attach(req);
        return true;
      } catch (e) {
        last = e;
        if (reverse && isReverseExhausted(e)) return false;
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
    this.#buf = [];
    this.#head = 0;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    this.#rejecter = undefined;
    waiter?.(DONE);
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

  #next(): Promise<IteratorResult<Message>> {
    if (this.#done) return DONE_PROMISE;
    const buf = this.#buf;
    let head = this.#head;
    if (head < buf.length) {
      const m = buf[head]!;
      buf[head] = undefined as unknown as ApiMessage;
      head++;
      if (head === buf.length) {
        this.#buf = [];
        head = 0;
      } else if (head >= 8192 && head * 2 >= buf.length) {
        this.#buf = buf.slice(head);
        head = 0;
      }
      this.#head = head;
      if (this.#paused && this.#buf.length - head <= BUFFER_LOW) {
        this.#paused = false;
        this.#call?.resume();
      }
      return Promise.resolve({ done: false, value: this.#take(m) });
    }
    if (this.#streamOver) {
      const error = this.#endError;
      this.#finish(error);
      return error === undefined ? DONE_PROMISE : Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#waiter = resolve;
      this.#rejecter = reject;
    });
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

/** A reverse resubscription that the server answers "nothing left": stop above start, or empty. */
function isReverseExhausted(e: unknown): boolean {
  const status = statusOf(e);
  if (status === Status.RESOURCE_EXHAUSTED) return true;
  return (
    status === Status.INVALID_ARGUMENT &&
    e instanceof Error &&
    e.message.includes("Stop offset is after start offset")
  );
}
