import type { ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import { constants as h2 } from "node:http2";
import type { Http2Channel } from "./channel.js";
import { ACCEPT_ENCODING, decompressMessage } from "./compression.js";
import { GrpcError } from "./errors.js";
import { FrameWriter } from "./frame-writer.js";
import { MessageDecoder } from "./framing.js";
import { decodeGrpcMessage } from "./grpc-message.js";
import { formatGrpcTimeout } from "./grpc-timeout.js";
import { MessageQueue } from "./message-queue.js";
import { type Metadata, type MetadataInit, metadataFromRawHeaders, metadataToHeaders } from "./metadata.js";
import { MAX_TIMER_MS } from "./server-call.js";
import type { MethodDefinition } from "./service.js";
import { Status, statusFromHttp, statusFromRstCode } from "./status.js";

/** Per-call options (connect-es `CallOptions` shape). */
export interface CallOptions {
  /** Deadline relative to now: sent as `grpc-timeout` and enforced locally (DEADLINE_EXCEEDED). */
  readonly timeoutMs?: number;
  /** Cancels the call (CANCELLED, RST_STREAM(CANCEL) to the server). */
  readonly signal?: AbortSignal;
  /** Request metadata. */
  readonly metadata?: MetadataInit;
}

/** The outcome shared by every call kind: response headers, trailers and status. */
export interface ClientCallInfo {
  /** Response header metadata; resolves with `{}` when the call failed before headers (never rejects). */
  readonly headers: Promise<Metadata>;
  /** Trailing metadata; resolves with `{}` when there were none (never rejects). */
  readonly trailers: Promise<Metadata>;
  /** Resolves with the status: `undefined` for OK, else the {@link GrpcError} (never rejects). */
  readonly status: Promise<GrpcError | undefined>;
  /** Cancels the call: CANCELLED locally, RST_STREAM(CANCEL) to the server. No-op once it is over. */
  cancel(): void;
}

/** Sending half of a client-streaming or bidi call. */
export interface ClientWritable<Req> {
  /**
   * Queues one request (coalesced with the others of this event-loop turn). Returns false when the
   * server is not keeping up: await {@link drain} before sending more. Dropped once the call is over.
   */
  send(message: Req): boolean;
  /** Resolves when the stream has room again, or when the call is over. */
  drain(): Promise<void>;
  /** `send` plus `drain` when needed; rejects with the call's {@link GrpcError} once the call is over. */
  write(message: Req): Promise<void>;
  /** Half-closes: no more requests. */
  end(): void;
}

/**
 * A stream of responses: iterate it (`for await`; throws the call's {@link GrpcError} on a non-OK status),
 * or use {@link onMessage}. Buffering is bounded: when the consumer lags, the HTTP/2 stream is paused and
 * the server blocks on flow control.
 */
export interface ClientReadable<Res> extends AsyncIterable<Res> {
  /** Callback style: `listener` gets every response synchronously; use either this or iteration. */
  onMessage(listener: (message: Res) => void): void;
  /**
   * Stops reading responses: the HTTP/2 stream is paused, so the server soon blocks on flow control
   * (for a callback consumer that buffers messages itself). The messages of a DATA chunk already being
   * decoded are still delivered.
   */
  pause(): void;
  /** Resumes reading after {@link pause} (unless the iteration buffer is full). */
  resume(): void;
}

/** A server-streaming call. */
export interface ClientReadableCall<Res> extends ClientReadable<Res>, ClientCallInfo {}
/** A client-streaming call: send requests, `end()`, then await `response`. */
export interface ClientWritableCall<Req, Res> extends ClientWritable<Req>, ClientCallInfo {
  /** The single response; rejects with the call's {@link GrpcError}. */
  readonly response: Promise<Res>;
}
/** A bidirectional-streaming call. */
export interface ClientDuplexCall<Req, Res>
  extends ClientWritable<Req>,
    ClientReadable<Res>,
    ClientCallInfo {}

/** One client call on one HTTP/2 stream. @internal */
export class ClientCallImpl<Req, Res> implements ClientDuplexCall<Req, Res> {
  readonly #method: MethodDefinition<Req, Res>;
  readonly #channel: Http2Channel;
  #stream: ClientHttp2Stream | undefined;
  #writer: FrameWriter | undefined;
  #decoder: MessageDecoder;
  #queue: MessageQueue<Res> | undefined;
  #listener: ((message: Res) => void) | undefined;
  #result: GrpcError | undefined | null = null; // null: still running
  #responseHeaders: IncomingHttpHeaders | undefined;
  #timer: NodeJS.Timeout | undefined;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;
  #userPaused = false;
  #received = 0;
  #lastResponse: Res | undefined;
  readonly #unary: boolean;
  readonly headers: Promise<Metadata>;
  readonly trailers: Promise<Metadata>;
  readonly status: Promise<GrpcError | undefined>;
  #resolveHeaders!: (md: Metadata) => void;
  #resolveTrailers!: (md: Metadata) => void;
  #resolveStatus!: (e: GrpcError | undefined) => void;
  #responsePromise: Promise<Res> | undefined;
  /** Set once the trailers arrived: completes the call when the readable side has ended. */
  #onReadEnd: (() => void) | undefined;

  constructor(channel: Http2Channel, method: MethodDefinition<Req, Res>, options: CallOptions) {
    this.#channel = channel;
    this.#method = method;
    this.#unary = !method.responseStream;
    this.#decoder = new MessageDecoder(channel.options.maxReceiveMessageBytes);
    this.headers = new Promise((r) => {
      this.#resolveHeaders = r;
    });
    this.trailers = new Promise((r) => {
      this.#resolveTrailers = r;
    });
    this.status = new Promise((r) => {
      this.#resolveStatus = r;
    });
    this.#start(options);
  }

  #start(options: CallOptions): void {
    const headers: OutgoingHttpHeaders = {
      ":method": "POST",
      ":path": this.#method.path,
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-accept-encoding": ACCEPT_ENCODING,
      "user-agent": this.#channel.options.userAgent,
    };
    try {
      metadataToHeaders(options.metadata, headers);
    } catch (e) {
      this.#complete(new GrpcError(Status.INTERNAL, "invalid request metadata", undefined, { cause: e }));
      return;
    }
    const signal = options.signal;
    if (signal?.aborted) {
      this.#complete(
        new GrpcError(Status.CANCELLED, "cancelled before start", undefined, { cause: signal.reason }),
      );
      return;
    }
    // Infinity (or beyond setTimeout's range) means no deadline; NaN or negative means already expired.
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== undefined && !(timeoutMs > MAX_TIMER_MS)) {
      const ms = Number.isNaN(timeoutMs) ? 0 : Math.max(0, timeoutMs);
      headers["grpc-timeout"] = formatGrpcTimeout(ms);
      this.#timer = setTimeout(
        () => this.#abort(new GrpcError(Status.DEADLINE_EXCEEDED, "deadline exceeded")),
        ms,
      );
    }
    if (signal !== undefined) {
      this.#signal = signal;
      this.#onAbort = () =>
        this.#abort(
          new GrpcError(Status.CANCELLED, "cancelled by the caller", undefined, { cause: signal.reason }),
        );
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
    let stream: ClientHttp2Stream;
    try {
      stream = this.#channel.request(headers);
    } catch (e) {
      this.#complete(new GrpcError(Status.UNAVAILABLE, "cannot start call", undefined, { cause: e }));
      return;
    }
    this.#stream = stream;
    this.#writer = new FrameWriter(stream);
    stream.on("error", () => {}); // surfaced through 'close'
    stream.on("response", (h: IncomingHttpHeaders, _flags: number, raw: string[]) =>
      this.#onResponse(h, raw),
    );
    stream.on("trailers", (t: IncomingHttpHeaders, _flags: number, raw: string[]) =>
      this.#onTrailers(t, raw),
    );
    stream.on("data", (chunk: Buffer) => this.#onData(chunk));
    stream.once("end", () => this.#onReadEnd?.());
    stream.once("close", () => this.#onClose());
  }

  #onResponse(headers: IncomingHttpHeaders, raw: string[]): void {
    this.#responseHeaders = headers;
    const httpStatus = Number(headers[":status"]);
    if (httpStatus !== 200) {
      this.#resolveHeaders({});
      this.#abort(new GrpcError(statusFromHttp(httpStatus), `unexpected HTTP status ${httpStatus}`));
      return;
    }
    const contentType = String(headers["content-type"] ?? "");
    if (!contentType.startsWith("application/grpc")) {
      this.#resolveHeaders({});
      this.#abort(new GrpcError(Status.UNKNOWN, `unexpected content-type ${contentType}`));
      return;
    }
    if (headers["grpc-status"] !== undefined) {
      // Trailers-only response: the status is in the headers.
      this.#resolveHeaders({});
      this.#onTrailers(headers, raw);
      return;
    }
    this.#resolveHeaders(metadataFromRawHeaders(raw));
  }

  #onTrailers(trailers: IncomingHttpHeaders, raw: string[]): void {
    if (this.#result !== null || this.#onReadEnd !== undefined) return;
    const md = metadataFromRawHeaders(raw);
    this.#resolveTrailers(md);
    // The server is done: a slow reader must not turn that into DEADLINE_EXCEEDED.
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    // Messages sent before the trailers can still sit in the stream's buffer (paused while the
    // consumer lags): the status applies once they are all read, when the readable side ends.
    this.#onReadEnd = () => this.#complete(this.#statusOf(trailers, md));
    if (this.#stream === undefined || this.#stream.readableEnded) this.#onReadEnd();
  }

  #statusOf(trailers: IncomingHttpHeaders, md: Metadata): GrpcError | undefined {
    const rawStatus = trailers["grpc-status"];
    const code = rawStatus === undefined ? Number.NaN : Number(rawStatus);
    if (!Number.isInteger(code) || code < 0)
      return new GrpcError(Status.UNKNOWN, "response without a valid grpc-status", md);
    if (code === Status.OK) {
      if (this.#decoder.pendingBytes > 0)
        return new GrpcError(Status.INTERNAL, "response ended inside a message (truncated frame)", md);
      if (this.#unary && this.#received !== 1)
        return new GrpcError(
          this.#received === 0 ? Status.UNIMPLEMENTED : Status.INTERNAL,
          `expected one response message, got ${this.#received}`,
          md,
        );
      return undefined;
    }
    const message = decodeGrpcMessage(String(trailers["grpc-message"] ?? ""));
    return new GrpcError(code > 16 ? Status.UNKNOWN : (code as Status), message, md);
  }

  #onData(chunk: Buffer): void {
    if (this.#result !== null) return;
    try {
      const method = this.#method;
      this.#decoder.pushRanges(chunk, (buf, start, end, compressed) => {
        const bytes = compressed
          ? decompressMessage(
              this.#responseHeaders?.["grpc-encoding"] as string | undefined,
              buf.subarray(start, end),
              this.#channel.options.maxReceiveMessageBytes,
            )
          : undefined;
        let message: Res;
        try {
          if (bytes !== undefined) message = method.responseDeserialize(bytes);
          else if (method.responseDeserializeRange !== undefined)
            message = method.responseDeserializeRange(buf, start, end);
          else message = method.responseDeserialize(buf.subarray(start, end));
        } catch (e) {
          throw new GrpcError(Status.INTERNAL, "cannot deserialize response", undefined, { cause: e });
        }
        this.#deliver(message);
      });
    } catch (e) {
      this.#abort(
        e instanceof GrpcError ? e : new GrpcError(Status.INTERNAL, "bad response", undefined, { cause: e }),
      );
    }
  }

  #deliver(message: Res): void {
    this.#received++;
    if (this.#unary) {
      if (this.#received > 1)
        throw new GrpcError(Status.INTERNAL, "more than one response message for a unary call");
      this.#lastResponse = message;
      return;
    }
    if (this.#listener !== undefined) {
      this.#listener(message);
      return;
    }
    if (!this.#responseQueue().push(message)) this.#stream?.pause();
  }

  #onClose(): void {
    if (this.#result !== null) return;
    // Trailers arrived, but the stream was destroyed before every message was read: the server's status.
    if (this.#onReadEnd !== undefined) {
      this.#onReadEnd();
      return;
    }
    const stream = this.#stream;
    const rst = stream?.rstCode ?? h2.NGHTTP2_INTERNAL_ERROR;
    const session = stream?.session;
    // The connection failed or was lost (connect error, keepalive timeout, peer gone): UNAVAILABLE.
    const connectionLost = session === undefined || session.destroyed;
    if (connectionLost && rst !== h2.NGHTTP2_REFUSED_STREAM) {
      // `channel.close({ graceMs })` destroyed the session under this call: a local cancellation.
      if (this.#channel.isClosed) this.#complete(new GrpcError(Status.CANCELLED, "channel closed"));
      else this.#complete(new GrpcError(Status.UNAVAILABLE, "connection failed or closed"));
      return;
    }
    this.#complete(new GrpcError(statusFromRstCode(rst), `stream closed without status (RST_STREAM ${rst})`));
  }

  #responseQueue(): MessageQueue<Res> {
    if (this.#queue === undefined) {
      this.#queue = new MessageQueue<Res>(this.#channel.options.maxBufferedResponses, () => {
        if (!this.#userPaused) this.#stream?.resume();
      });
      if (this.#result === undefined) this.#queue.end();
      else if (this.#result !== null) this.#queue.fail(this.#result);
    }
    return this.#queue;
  }

  /** Ends the call locally with `error` and resets the stream with CANCEL. */
  #abort(error: GrpcError): void {
    if (this.#result !== null) return;
    this.#complete(error);
    const stream = this.#stream;
    if (stream === undefined || stream.destroyed) return;
    // Closed by the peer but not read to the end (paused): nothing else would ever release it, and
    // an unreleased stream keeps its session, and so `channel.close()`, open.
    if (stream.closed) stream.destroy();
    else stream.close(h2.NGHTTP2_CANCEL);
  }

  #complete(error: GrpcError | undefined): void {
    if (this.#result !== null) return;
    this.#result = error;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#resolveHeaders({});
    this.#resolveTrailers(error?.metadata ?? {});
    if (error === undefined) this.#queue?.end();
    else this.#queue?.fail(error);
    this.#resolveStatus(error);
  }

  cancel(): void {
    this.#abort(new GrpcError(Status.CANCELLED, "cancelled by the caller"));
  }

  // ---- sending ----

  send(message: Req): boolean {
    const writer = this.#writer;
    if (this.#result !== null || writer === undefined) return false;
    let bytes: Buffer;
    try {
      bytes = this.#method.requestSerialize(message);
    } catch (e) {
      this.#abort(new GrpcError(Status.INTERNAL, "cannot serialize request", undefined, { cause: e }));
      return false;
    }
    const max = this.#channel.options.maxSendMessageBytes;
    if (bytes.length > max) {
      this.#abort(
        new GrpcError(Status.RESOURCE_EXHAUSTED, `sent message larger than max (${bytes.length} vs. ${max})`),
      );
      return false;
    }
    return writer.write(bytes);
  }

  drain(): Promise<void> {
    if (this.#result !== null || this.#writer === undefined) return Promise.resolve();
    return this.#writer.drain();
  }

  async write(message: Req): Promise<void> {
    if (this.#result !== null) throw this.#result ?? new GrpcError(Status.CANCELLED, "call already ended");
    if (!this.send(message)) await this.drain();
    if (this.#result) throw this.#result;
  }

  end(): void {
    const stream = this.#stream;
    if (stream === undefined || stream.writableEnded) return;
    this.#writer?.flush();
    stream.end();
  }

  // ---- receiving ----

  onMessage(listener: (message: Res) => void): void {
    this.#listener = listener;
    const queue = this.#queue;
    if (queue === undefined) return;
    this.#queue = undefined;
    for (const m of queue.takeAll()) listener(m);
    if (!this.#userPaused) this.#stream?.resume();
  }

  pause(): void {
    this.#userPaused = true;
    this.#stream?.pause();
  }

  resume(): void {
    this.#userPaused = false;
    if (this.#result !== null) return;
    const queue = this.#queue;
    if (queue === undefined || queue.size < this.#channel.options.maxBufferedResponses)
      this.#stream?.resume();
  }

  [Symbol.asyncIterator](): AsyncIterator<Res> {
    const messages = this.#responseQueue()[Symbol.asyncIterator]();
    return {
      next: () => messages.next(),
      // Leaving a `for await` early (break, return, throw) means nobody reads the rest: end the call so
      // the server stops sending and the stream is released, instead of leaving it open and paused.
      return: () => {
        this.#stopReading();
        return messages.return?.() ?? Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  /** The reader is gone: settle with the server's status if it already came, else cancel. */
  #stopReading(): void {
    if (this.#result !== null) return;
    const settle = this.#onReadEnd;
    if (settle === undefined) {
      this.cancel();
      return;
    }
    settle();
    const stream = this.#stream;
    if (stream !== undefined && !stream.destroyed) stream.destroy();
  }

  get response(): Promise<Res> {
    this.#responsePromise ??= this.status.then((error) => {
      if (error !== undefined) throw error;
      return this.#lastResponse as Res;
    });
    return this.#responsePromise;
  }
}
