/**
 * The NATS connection the broker needs: publish, (queue) subscribe with a callback, flush.
 * `@liftbridge/nats-server`'s in-process connection satisfies it as is; {@link fromNatsJs} adapts a
 * connection of the `nats` npm client (for an external NATS server).
 * @module
 */

/** One NATS message as delivered to a subscription callback. */
export interface NatsMessage {
  readonly subject: string;
  /** Reply subject; `undefined` or `""` when there is none. */
  readonly reply: string | undefined;
  readonly data: Uint8Array;
}

/** Options of {@link NatsConnection.subscribe}. */
export interface NatsSubscribeOptions {
  /** Queue group; messages are load-balanced across its members. */
  queue?: string;
  /** Called synchronously for every message, in order. */
  callback: (msg: NatsMessage) => void;
}

/** A subscription handle. */
export interface NatsSubscriptionHandle {
  unsubscribe(): void;
  /**
   * Optional: unsubscribes and resolves once the server confirmed it, delivering the messages it
   * routed before (nats.js `Subscription.drain`). Used on shutdown so no routed message is dropped.
   */
  drain?(): Promise<void>;
}

/** The subset of a NATS connection the broker uses. */
export interface NatsConnection {
  publish(subject: string, data?: Uint8Array, options?: { reply?: string }): void;
  subscribe(subject: string, options: NatsSubscribeOptions): NatsSubscriptionHandle;
  /** Resolves once everything published before reached the server. */
  flush(): Promise<void>;
}

/** The structural shape of a `nats` (nats.js v2) connection that {@link fromNatsJs} needs. */
export interface NatsJsConnectionLike {
  publish(subject: string, payload?: Uint8Array, options?: { reply?: string }): void;
  subscribe(
    subject: string,
    opts?: {
      queue?: string;
      callback?: (err: Error | null, msg: { subject: string; reply?: string; data: Uint8Array }) => void;
    },
  ): { unsubscribe(): void; drain?(): Promise<void> };
  flush(): Promise<void>;
}

/** Adapts a nats.js connection to {@link NatsConnection}. */
export function fromNatsJs(nc: NatsJsConnectionLike): NatsConnection {
  return {
    publish(subject, data, options) {
      if (options?.reply !== undefined && options.reply !== "")
        nc.publish(subject, data, { reply: options.reply });
      else nc.publish(subject, data);
    },
    subscribe(subject, options) {
      const cb = options.callback;
      const opts: {
        queue?: string;
        callback: (err: Error | null, msg: { subject: string; reply?: string; data: Uint8Array }) => void;
      } = {
        callback: (err, msg) => {
          if (err !== null) return;
          cb({ subject: msg.subject, reply: msg.reply, data: msg.data });
        },
      };
      if (options.queue !== undefined && options.queue !== "") opts.queue = options.queue;
      return nc.subscribe(subject, opts);
    },
    flush: () => nc.flush(),
  };
}
