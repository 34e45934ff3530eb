import type { OutgoingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { constants as h2 } from "node:http2";
import type { PeerCertificate, TLSSocket } from "node:tls";
import { ACCEPT_ENCODING } from "./compression.js";
import { GrpcError, isGrpcError } from "./errors.js";
import { FrameWriter } from "./frame-writer.js";
import { countFramedMessages } from "./framing.js";
import { encodeGrpcMessage } from "./grpc-message.js";
import { MessageQueue } from "./message-queue.js";
import { type Metadata, type MetadataInit, metadataToHeaders } from "./metadata.js";
import type { MethodDefinition } from "./service.js";
import { Status, statusName } from "./status.js";

/** What a TLS connection tells about the client (mTLS: its verified certificate). */
export interface TlsPeer {
  /** True when the client presented a certificate that the server's `ca` verified. */
  readonly authorized: boolean;
  /** The client's certificate, when it presented one. */
  readonly peerCertificate: PeerCertificate | undefined;
}

/**
 * The context of one server call, passed to every handler.
 *
 * Response metadata is sent lazily with the first message (or folded into a trailers-only response), so
 * handlers can add to it until then.
 */
export interface ServerCall {
  /** The method path, `/package.Service/Method`. */
  readonly path: string;
  /** Request metadata (custom headers; `-bin` values decoded). */
  readonly metadata: Metadata;
  /**
   * Aborted when the call ends without the handler finishing it: client cancellation (RST_STREAM), the
   * deadline, a lost connection, a protocol error, or server shutdown. The reason is a {@link GrpcError}.
   * Pass it to downstream work; every wait in a handler should also end on it.
   */
  readonly signal: AbortSignal;
  /** The deadline from `grpc-timeout` as a `Date.now()` timestamp, or `Infinity` when the client set none. */
  readonly deadline: number;
  /** The remote address, `ip:port`. */
  readonly peer: string;
  /** TLS details for calls on a secure server; `undefined` on h2c. */
  readonly tls: TlsPeer | undefined;
  /**
   * The HTTP/2 stream window the client announced (its SETTINGS_INITIAL_WINDOW_SIZE; 65,535 when it
   * announced none): how many response bytes can be in flight before the client reads. A streaming
   * handler can size its batches by it (grpc-js keeps the 64 KiB default; our client announces 1 MiB).
   */
  readonly peerStreamWindowBytes: number;
  /** Adds response header metadata; ignored once headers went out. */
  setHeader(metadata: MetadataInit): void;
  /** Sends the response headers now (with `metadata` added), before any message. */
  sendHeader(metadata?: MetadataInit): void;
  /** Adds trailing metadata, sent with the final status. */
  setTrailer(metadata: MetadataInit): void;
}

/** A call whose handler sends a stream of responses. */
export interface ServerWritableCall<Res> extends ServerCall {
  /**
   * Queues one response message (coalesced with the others of this event-loop turn). Returns false when
   * the peer is not keeping up: await {@link drain} before sending more. Returns false and drops the
   * message once the call is over.
   */
  send(message: Res): boolean;
  /**
   * Queues a batch of response messages that are already serialized and framed: `frames` holds one or
   * more complete gRPC messages back to back, each a 5-byte prefix (flag 0, big-endian length, see
   * `writeMessagePrefix`) followed by its payload. The bytes bypass the method's serializer and go out
   * in order with the other responses; a batch of 4 KiB or more is handed to the HTTP/2 stream as one
   * write without being copied (do not modify it afterwards). The prefixes are checked (O(messages)):
   * a malformed batch or a message over the send limit fails the call with INTERNAL or
   * RESOURCE_EXHAUSTED and nothing of it is sent. Returns false when the peer is not keeping up (await
   * {@link drain}) or once the call is over (the batch is dropped).
   *
   * `onReleased`, when given, runs exactly once, when the transport no longer holds `frames`: at once
   * if the batch was copied, dropped or refused, else when its write completed or the stream closed.
   * It lets the handler reuse the buffer for a later batch instead of allocating one per batch.
   */
  sendFramed(frames: Uint8Array, onReleased?: () => void): boolean;
  /**
   * Resolves when the stream has room again, or when the call is over. With `lowWaterBytes`: as soon as
   * at most that many response bytes are still queued (a producer of big batches passes one batch's
   * size, so the next batch is queued before the previous one has fully gone out).
   */
  drain(lowWaterBytes?: number): Promise<void>;
  /**
   * `send` plus `drain` when needed: the simple way to respect backpressure. Rejects with the call's
   * {@link GrpcError} once the call is over (cancelled, deadline, ended).
   */
  write(message: Res): Promise<void>;
}

/**
 * A call whose handler receives a stream of requests: iterate it (`for await`), or register a callback
 * with {@link onMessage}. Both respect backpressure: buffered messages are bounded and the HTTP/2 stream
 * is paused when the bound is reached. Iteration ends at the client's half-close and throws the call's
 * {@link GrpcError} when the call fails.
 */
export interface ServerReadableCall<Req> extends ServerCall, AsyncIterable<Req> {
  /**
   * Callback style: `listener` gets every request message, synchronously as it is decoded (messages that
   * arrived before are delivered first). Use either this or iteration, not both.
   */
  onMessage(listener: (message: Req) => void): void;
  /** Resolves at the client's half-close or when the call is over (never rejects). */
  readonly ended: Promise<void>;
  /** Stops reading requests (the peer then blocks on HTTP/2 flow control). */
  pause(): void;
  /** Resumes reading after {@link pause}. */
  resume(): void;
}

/** A bidirectional-streaming call. */
export interface ServerDuplexCall<Req, Res> extends ServerReadableCall<Req>, ServerWritableCall<Res> {}

/** The longest delay setTimeout supports. @internal */
export const MAX_TIMER_MS = 2_147_483_647;

/** Options a server call needs from its server. @internal */
export interface ServerCallSettings {
  readonly maxSendMessageBytes: number;
  readonly maxBufferedRequests: number;
  readonly rstGraceMs: number;
}

/**
 * One server-side call on one HTTP/2 stream: response headers, coalesced writes, status trailers,
 * trailers-only responses, early close and cancellation. @internal
 */
export class ServerCallImpl<Req, Res> implements ServerDuplexCall<Req, Res> {
  readonly path: string;
  readonly metadata: Metadata;
  deadline = Number.POSITIVE_INFINITY;
  readonly #stream: ServerHttp2Stream;
  readonly #method: MethodDefinition<Req, Res>;
  readonly #settings: ServerCallSettings;
  readonly #writer: FrameWriter;
  #headers: OutgoingHttpHeaders | undefined;
  #trailers: OutgoingHttpHeaders | undefined;
  #headersSent = false;
  #done = false;
  #abortReason: GrpcError | undefined;
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #queue: MessageQueue<Req> | undefined;
  #listener: ((message: Req) => void) | undefined;
  #halfClosed = false;
  #endedPromise: Promise<void> | undefined;
  #resolveEnded: (() => void) | undefined;
  #userPaused = false;
  #onDone: ((call: ServerCallImpl<Req, Res>) => void) | undefined;

  constructor(
    stream: ServerHttp2Stream,
    path: string,
    metadata: Metadata,
    method: MethodDefinition<Req, Res>,
    settings: ServerCallSettings,
  ) {
    this.#stream = stream;
    this.path = path;
    this.metadata = metadata;
    this.#method = method;
    this.#settings = settings;
    this.#writer = new FrameWriter(stream);
  }

  get peer(): string {
    const s = this.#stream.session?.socket;
    return s === undefined ? "" : `${s.remoteAddress ?? ""}:${s.remotePort ?? ""}`;
  }

  get peerStreamWindowBytes(): number {
    return this.#stream.session?.remoteSettings?.initialWindowSize ?? 65_535;
  }

  get tls(): TlsPeer | undefined {
    const socket = this.#stream.session?.socket as TLSSocket | undefined;
    if (socket === undefined || typeof socket.getPeerCertificate !== "function") return undefined;
    const cert = socket.getPeerCertificate();
    return {
      authorized: socket.authorized,
      peerCertificate: cert && Object.keys(cert).length > 0 ? cert : undefined,
    };
  }

  /** True once the call has a final outcome (status sent, or cancelled). */
  get isDone(): boolean {
    return this.#done;
  }

  // The AbortController is created on first use: an eager one costs ~10 us per call (spec §2d).
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** Registers the callback run once when the call is over. @internal */
  set onDone(fn: (call: ServerCallImpl<Req, Res>) => void) {
    this.#onDone = fn;
  }

  setHeader(metadata: MetadataInit): void {
    if (this.#headersSent) return;
    this.#headers ??= {};
    metadataToHeaders(metadata, this.#headers);
  }

  sendHeader(metadata?: MetadataInit): void {
    if (metadata !== undefined) this.setHeader(metadata);
    this.#sendHeaders();
  }

  setTrailer(metadata: MetadataInit): void {
    this.#trailers ??= {};
    metadataToHeaders(metadata, this.#trailers);
  }

  #sendHeaders(): void {
    if (this.#headersSent) return;
    this.#headersSent = true;
    const stream = this.#stream;
    if (stream.destroyed || stream.closed) return;
    const headers: OutgoingHttpHeaders = {
      ":status": 200,
      "content-type": "application/grpc",
      "grpc-accept-encoding": ACCEPT_ENCODING,
      ...this.#headers,
    };
    stream.respond(headers, { waitForTrailers: true });
  }

  // ---- sending ----

  send(message: Res): boolean {
    if (this.#done) return false;
    let bytes: Buffer;
    try {
      bytes = this.#method.responseSerialize(message);
    } catch (e) {
      this.fail(new GrpcError(Status.INTERNAL, "cannot serialize response", undefined, { cause: e }));
      return false;
    }
    if (bytes.length > this.#settings.maxSendMessageBytes) {
      this.fail(
        new GrpcError(
          Status.RESOURCE_EXHAUSTED,
          `sent message larger than max (${bytes.length} vs. ${this.#settings.maxSendMessageBytes})`,
        ),
      );
      return false;
    }
    if (!this.#headersSent) this.#sendHeaders();
    return this.#writer.write(bytes);
  }

  sendFramed(frames: Uint8Array, onReleased?: () => void): boolean {
    if (this.#done) {
      onReleased?.();
      return false;
    }
    const max = this.#settings.maxSendMessageBytes;
    const count = countFramedMessages(frames, max);
    if (typeof count === "string") {
      onReleased?.();
      const code = count.startsWith("sent message larger") ? Status.RESOURCE_EXHAUSTED : Status.INTERNAL;
      this.fail(new GrpcError(code, `sendFramed: ${count}`));
      return false;
    }
    if (count === 0) {
      onReleased?.();
      return true;
    }
    if (!this.#headersSent) this.#sendHeaders();
    const buf = Buffer.isBuffer(frames)
      ? frames
      : Buffer.from(frames.buffer, frames.byteOffset, frames.length);
    return this.#writer.writeFramed(buf, onReleased);
  }

  drain(lowWaterBytes?: number): Promise<void> {
    if (this.#done) return Promise.resolve();
    return this.#writer.drain(lowWaterBytes);
  }

  async write(message: Res): Promise<void> {
    // Rejecting once the call is over stops `await call.write(m)` loops that do not watch the signal.
    if (this.#done) throw this.#abortReason ?? new GrpcError(Status.CANCELLED, "call already ended");
    if (!this.send(message)) await this.drain();
    if (this.#abortReason !== undefined) throw this.#abortReason;
  }

  // ---- receiving ----

  /** Delivers one decoded request message from the stream. @internal */
  deliver(message: Req): void {
    if (this.#done) return;
    if (this.#listener !== undefined) {
      this.#listener(message);
      return;
    }
    if (!this.#requestQueue().push(message)) this.#stream.pause();
  }

  /** Marks the client's half-close. @internal */
  halfClose(): void {
    if (this.#halfClosed) return;
    this.#halfClosed = true;
    this.#queue?.end();
    this.#resolveEnded?.();
  }

  #requestQueue(): MessageQueue<Req> {
    if (this.#queue === undefined) {
      this.#queue = new MessageQueue<Req>(this.#settings.maxBufferedRequests, () => {
        if (!this.#userPaused && !this.#done) this.#stream.resume();
      });
      if (this.#halfClosed) this.#queue.end();
      if (this.#abortReason !== undefined) this.#queue.fail(this.#abortReason);
    }
    return this.#queue;
  }

  onMessage(listener: (message: Req) => void): void {
    this.#listener = listener;
    const queue = this.#queue;
    if (queue === undefined) return;
    // Hand over what was buffered before the listener came, in order, then read on.
    this.#queue = undefined;
    for (const m of queue.takeAll()) {
      if (this.#done) return;
      listener(m);
    }
    if (!this.#userPaused && !this.#done) this.#stream.resume();
  }

  get ended(): Promise<void> {
    if (this.#endedPromise === undefined) {
      this.#endedPromise = new Promise((resolve) => {
        this.#resolveEnded = resolve;
      });
      if (this.#halfClosed || this.#done) this.#resolveEnded?.();
    }
    return this.#endedPromise;
  }

  pause(): void {
    this.#userPaused = true;
    this.#stream.pause();
  }

  resume(): void {
    this.#userPaused = false;
    if (!this.#done) this.#stream.resume();
  }

  [Symbol.asyncIterator](): AsyncIterator<Req> {
    return this.#requestQueue()[Symbol.asyncIterator]();
  }

  // ---- finishing ----

  /** Ends the call with OK (after sending `response`, when given). @internal */
  finishOk(): void {
    this.#finish(Status.OK, "", this.#trailers);
  }

  /** Ends the call with the status of `error` (a {@link GrpcError}, else UNKNOWN). @internal */
  fail(error: unknown): void {
    if (this.#done) return;
    const status = toGrpcError(error);
    const trailers: OutgoingHttpHeaders = { ...this.#trailers };
    try {
      metadataToHeaders(status.metadata, trailers);
    } catch {
      // Invalid trailing metadata in a thrown error must not prevent the status from going out.
    }
    this.#finish(status.code, status.details, trailers);
    this.#abort(status);
  }

  #finish(code: Status, details: string, trailers: OutgoingHttpHeaders | undefined): void {
    if (this.#done) return;
    this.#markDone();
    const stream = this.#stream;
    if (stream.destroyed || stream.closed) return;
    const status: OutgoingHttpHeaders = { "grpc-status": String(code) };
    if (details !== "") status["grpc-message"] = encodeGrpcMessage(details);
    if (!this.#headersSent) {
      // Trailers-only response: one HEADERS frame with END_STREAM (PROTOCOL-HTTP2.md "Responses").
      this.#headersSent = true;
      stream.respond(
        {
          ":status": 200,
          "content-type": "application/grpc",
          "grpc-accept-encoding": ACCEPT_ENCODING,
          ...this.#headers,
          ...trailers,
          ...status,
        },
        { endStream: true },
      );
      this.#closeEarly();
      return;
    }
    this.#writer.flush();
    stream.once("wantTrailers", () => {
      stream.sendTrailers({ ...trailers, ...status });
      this.#closeEarly();
    });
    stream.end();
  }

  // PROTOCOL-HTTP2.md "Early server closure": status sent before the client's END_STREAM must be followed
  // by RST_STREAM(NO_ERROR). node:http2 does not do it (spec §4 bug 2): the stream stays half-open.
  #closeEarly(): void {
    const stream = this.#stream;
    if (stream.readableEnded) return;
    setImmediate(() => {
      if (!stream.destroyed && !stream.closed) stream.close(h2.NGHTTP2_NO_ERROR);
    });
  }

  /**
   * The call ended without a status from us: client RST_STREAM, lost connection, deadline or shutdown.
   * Aborts the handler; `rstCode`, when given, is sent as RST_STREAM after `delayMs`. @internal
   */
  cancel(reason: GrpcError, rstCode?: number, delayMs = 0): void {
    if (this.#done) return;
    this.#markDone();
    this.#abort(reason);
    if (rstCode === undefined) return;
    const stream = this.#stream;
    const reset = (): void => {
      if (!stream.destroyed && !stream.closed) stream.close(rstCode);
    };
    if (delayMs > 0) setTimeout(reset, delayMs).unref();
    else reset();
  }

  /** Arms the deadline timer (grpc-timeout). @internal */
  armDeadline(timeoutMs: number): void {
    // Beyond setTimeout's range (~24.8 days) a deadline is as good as none.
    if (timeoutMs > MAX_TIMER_MS) return;
    this.deadline = Date.now() + timeoutMs;
    // At the deadline the server cancels locally and resets the stream with CANCEL. The reset goes out
    // `rstGraceMs` later so that it does not overtake the client's own deadline timer (spec §4 bug 3:
    // grpc-go 1.33 then reports CANCELLED instead of DEADLINE_EXCEEDED).
    this.#timer = setTimeout(() => {
      this.cancel(
        new GrpcError(Status.DEADLINE_EXCEEDED, "deadline exceeded"),
        h2.NGHTTP2_CANCEL,
        this.#settings.rstGraceMs,
      );
    }, timeoutMs);
  }

  #markDone(): void {
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#resolveEnded?.();
    const onDone = this.#onDone;
    this.#onDone = undefined;
    onDone?.(this);
  }

  #abort(reason: GrpcError): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
    this.#queue?.fail(reason);
  }

  /** The reason the call was aborted, if it was. @internal */
  get abortReason(): GrpcError | undefined {
    return this.#abortReason;
  }
}

/** Converts anything a handler threw into the status to send. @internal */
export function toGrpcError(error: unknown): GrpcError {
  if (isGrpcError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new GrpcError(Status.UNKNOWN, message === "" ? statusName(Status.UNKNOWN) : message, undefined, {
    cause: error,
  });
}
