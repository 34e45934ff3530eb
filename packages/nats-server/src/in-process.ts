import { randomBytes } from "node:crypto";
import { NatsServerError, NatsServerErrorCode } from "./errors.js";
import { decodeHeaders, type MsgHeaders } from "./headers.js";
import type { ResolvedNatsServerOptions } from "./options.js";
import type { Router, RouterClient, Subscription } from "./router.js";
import { isValidLiteralSubject, isValidQueueName, isValidSubject } from "./subject.js";

/** A message delivered to an in-process subscription. */
export interface NatsMsg {
  readonly subject: string;
  readonly reply: string | undefined;
  /** The payload (without headers). Shared with other subscribers: do not modify. */
  readonly data: Buffer;
  /** Raw header block (`NATS/1.0...\r\n\r\n`), or undefined. */
  readonly rawHeaders: Buffer | undefined;
  /** Parsed headers (lazily), or undefined. */
  readonly headers: MsgHeaders | undefined;
  readonly sid: string;
}

/** Options of {@link InProcessConnection.publish}. */
export interface PublishOptions {
  reply?: string;
  headers?: MsgHeaders;
}

/** Options of {@link InProcessConnection.subscribe}. */
export interface SubscribeOptions {
  queue?: string;
  /** Unsubscribe automatically after this many messages. */
  max?: number;
  /** Called for every message, asynchronously (never inside the publisher's call). */
  callback: (msg: NatsMsg) => void;
}

/** Options of {@link InProcessConnection.request}. */
export interface RequestOptions {
  headers?: MsgHeaders;
  /** Default 5000. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Options of {@link NatsServer.connect}. */
export interface InProcessConnectionOptions {
  /** Receive own messages (default true, like CONNECT `echo`). */
  echo?: boolean;
  /** Name for logs. */
  name?: string;
}

/** A subscription made through an in-process connection. */
export interface InProcessSubscription {
  readonly subject: string;
  readonly queue: string | undefined;
  /** True once unsubscribed (explicitly, after `max`, or when the connection closed). */
  readonly isClosed: boolean;
  /** Unsubscribes now, or after `max` messages in total. */
  unsubscribe(max?: number): void;
}

/**
 * An in-process client of the embedded server: the routing, wildcards, queue groups, echo, max
 * messages and no-responders rules of a socket client, without sockets or protocol encoding.
 * Deliveries are batched and run from a microtask, in publish order, so a callback never runs inside
 * `publish`.
 */
export interface InProcessConnection {
  /**
   * Publishes a message. Throws `invalid_subject` for a subject with wildcards or empty tokens,
   * `max_payload` above the server's limit, `closed` after close.
   */
  publish(subject: string, data?: Uint8Array | string, options?: PublishOptions): void;
  /** Subscribes; throws `invalid_subject` for a bad subject or queue name. */
  subscribe(subject: string, options: SubscribeOptions): InProcessSubscription;
  /**
   * Publishes with a fresh inbox as reply and resolves with the first reply. Rejects `no_responders`
   * when nobody listens on `subject`, `timeout` after `timeoutMs`, `canceled` when the signal aborts.
   */
  request(subject: string, data?: Uint8Array | string, options?: RequestOptions): Promise<NatsMsg>;
  /** Resolves after every delivery queued so far was handed to its callback. */
  flush(): Promise<void>;
  /** Removes all subscriptions; pending requests reject with `closed`. Idempotent. */
  close(): void;
  /** True once closed (by `close()` or because the server closed). */
  readonly isClosed: boolean;
  /** Resolves when the connection is closed; never rejects. */
  readonly closed: Promise<void>;
  [Symbol.dispose](): void;
}

const EMPTY = Buffer.alloc(0);

class InMsg implements NatsMsg {
  readonly subject: string;
  readonly reply: string | undefined;
  readonly data: Buffer;
  readonly rawHeaders: Buffer | undefined;
  readonly sid: string;
  private parsed: MsgHeaders | undefined | null = null;
  constructor(
    subject: string,
    reply: string | undefined,
    data: Buffer,
    rawHeaders: Buffer | undefined,
    sid: string,
  ) {
    this.subject = subject;
    this.reply = reply;
    this.data = data;
    this.rawHeaders = rawHeaders;
    this.sid = sid;
  }
  get headers(): MsgHeaders | undefined {
    if (this.parsed === null)
      this.parsed = this.rawHeaders === undefined ? undefined : decodeHeaders(this.rawHeaders);
    return this.parsed;
  }
}

interface InSub extends Subscription {
  callback: (msg: NatsMsg) => void;
}

const toBuffer = (d: Uint8Array | string | undefined): Buffer =>
  d === undefined
    ? EMPTY
    : typeof d === "string"
      ? Buffer.from(d)
      : Buffer.isBuffer(d)
        ? d
        : Buffer.from(d.buffer, d.byteOffset, d.byteLength);

class InProcess implements InProcessConnection, RouterClient {
  readonly id: number;
  echo: boolean;
  headers = true;
  noResponders = true;
  readonly subs = new Map<string, Subscription>();
  isClosed = false;
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;
  private readonly router: Router;
  private readonly opts: ResolvedNatsServerOptions;
  private readonly onClose: () => void;
  private nextSid = 1;
  private queue: InMsg[] = [];
  private queueSubs: InSub[] = [];
  private scheduled = false;
  private readonly inboxPrefix: string;
  private readonly rejecters = new Set<(e: Error) => void>();

  constructor(
    id: number,
    router: Router,
    opts: ResolvedNatsServerOptions,
    o: InProcessConnectionOptions,
    onClose: () => void,
  ) {
    this.id = id;
    this.router = router;
    this.opts = opts;
    this.echo = o.echo ?? true;
    this.onClose = onClose;
    this.inboxPrefix = `_INBOX.${randomBytes(11).toString("hex")}.`;
    this.closed = new Promise((r) => {
      this.resolveClosed = r;
    });
  }

  private assertOpen(): void {
    if (this.isClosed) throw new NatsServerError(NatsServerErrorCode.Closed, "connection closed");
  }

  deliver(
    sub: Subscription,
    subject: string,
    reply: string | undefined,
    hdr: Buffer | undefined,
    body: Buffer,
  ): void {
    this.queue.push(new InMsg(subject, reply, body, hdr, sub.sid));
    this.queueSubs.push(sub as InSub);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.drain);
    }
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    const msgs = this.queue;
    const subs = this.queueSubs;
    this.queue = [];
    this.queueSubs = [];
    for (let i = 0; i < msgs.length; i++) {
      const sub = subs[i] as InSub;
      if (this.isClosed) return;
      try {
        sub.callback(msgs[i] as InMsg);
      } catch (err) {
        this.opts.logger.error({ err, sid: sub.sid }, "in-process subscription callback threw");
      }
    }
  };

  publish(subject: string, data?: Uint8Array | string, options?: PublishOptions): void {
    this.assertOpen();
    if (!isValidLiteralSubject(subject)) {
      throw new NatsServerError(
        NatsServerErrorCode.InvalidSubject,
        `invalid publish subject ${JSON.stringify(subject)}`,
      );
    }
    const body = toBuffer(data);
    const hdr = options?.headers?.encode();
    if (body.length + (hdr?.length ?? 0) > this.opts.maxPayload) {
      throw new NatsServerError(NatsServerErrorCode.MaxPayload, "payload exceeds maxPayload");
    }
    this.router.publish(this, subject, options?.reply, hdr, body);
  }

  subscribe(subject: string, options: SubscribeOptions): InProcessSubscription {
    this.assertOpen();
    if (!isValidSubject(subject)) {
      throw new NatsServerError(
        NatsServerErrorCode.InvalidSubject,
        `invalid subject ${JSON.stringify(subject)}`,
      );
    }
    if (options.queue !== undefined && !isValidQueueName(options.queue)) {
      throw new NatsServerError(
        NatsServerErrorCode.InvalidSubject,
        `invalid queue ${JSON.stringify(options.queue)}`,
      );
    }
    const sub: InSub = {
      subject,
      queue: options.queue,
      sid: String(this.nextSid++),
      client: this,
      max: -1,
      delivered: 0,
      closed: false,
      callback: options.callback,
    };
    this.router.addSubscription(sub);
    if (options.max !== undefined) this.router.unsubscribe(sub, options.max);
    const router = this.router;
    return {
      subject,
      queue: options.queue,
      get isClosed() {
        return sub.closed;
      },
      unsubscribe: (max?: number) => router.unsubscribe(sub, max ?? -1),
    };
  }

  request(subject: string, data?: Uint8Array | string, options: RequestOptions = {}): Promise<NatsMsg> {
    this.assertOpen();
    const inbox = `${this.inboxPrefix}${this.nextSid}`;
    return new Promise<NatsMsg>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (err: Error | undefined, msg?: NatsMsg) => {
        if (timer !== undefined) clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        this.rejecters.delete(fail);
        sub.unsubscribe();
        if (err !== undefined) reject(err);
        else resolve(msg as NatsMsg);
      };
      const fail = (e: Error) => finish(e);
      const onAbort = () => finish(new NatsServerError(NatsServerErrorCode.Canceled, "request canceled"));
      const sub = this.subscribe(inbox, {
        max: 1,
        callback: (msg) => {
          if (msg.rawHeaders !== undefined && msg.data.length === 0 && msg.headers?.code === 503) {
            finish(new NatsServerError(NatsServerErrorCode.NoResponders, `no responders for ${subject}`));
          } else {
            finish(undefined, msg);
          }
        },
      });
      if (options.signal?.aborted) {
        onAbort();
        return;
      }
      options.signal?.addEventListener("abort", onAbort);
      this.rejecters.add(fail);
      timer = setTimeout(
        () => finish(new NatsServerError(NatsServerErrorCode.Timeout, `request to ${subject} timed out`)),
        options.timeoutMs ?? 5000,
      );
      try {
        this.publish(
          subject,
          data,
          options.headers ? { reply: inbox, headers: options.headers } : { reply: inbox },
        );
      } catch (e) {
        finish(e as Error);
      }
    });
  }

  flush(): Promise<void> {
    return new Promise((resolve) => queueMicrotask(() => queueMicrotask(resolve)));
  }

  close(): void {
    if (this.isClosed) return;
    this.router.removeClient(this);
    this.isClosed = true;
    this.queue = [];
    this.queueSubs = [];
    for (const r of [...this.rejecters])
      r(new NatsServerError(NatsServerErrorCode.Closed, "connection closed"));
    this.onClose();
    this.resolveClosed();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** @internal Used by the server's `connect()`. */
export function createInProcessConnection(
  id: number,
  router: Router,
  opts: ResolvedNatsServerOptions,
  o: InProcessConnectionOptions,
  onClose: () => void,
): InProcessConnection {
  return new InProcess(id, router, opts, o, onClose);
}
