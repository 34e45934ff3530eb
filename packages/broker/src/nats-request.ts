/**
 * NATS request/reply on the broker's {@link NatsConnection} (which only publishes and subscribes):
 * one reply inbox per request, for the low-rate cluster traffic (join, propagate, server info,
 * partition status).
 * @module
 */
import type { NatsConnection } from "./nats.js";
import { newId } from "./util.js";

/**
 * Publishes `data` on `subject` with a fresh reply inbox under `inboxPrefix` and collects replies
 * until `done(replies)` says enough or `timeoutMs` passes; resolves with the replies received
 * (possibly none). Never rejects for a timeout.
 */
export function natsCollect(
  nats: NatsConnection,
  subject: string,
  data: Uint8Array,
  opts: {
    inboxPrefix: string;
    timeoutMs: number;
    done: (replies: readonly Uint8Array[]) => boolean;
    /** Stops waiting early (resolves with the replies so far). */
    signal?: AbortSignal;
  },
): Promise<Uint8Array[]> {
  const inbox = `${opts.inboxPrefix}.${newId()}`;
  const replies: Uint8Array[] = [];
  return new Promise((resolve, reject) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sub.unsubscribe();
      resolve(replies);
    };
    const sub = nats.subscribe(inbox, {
      callback: (m) => {
        replies.push(m.data);
        if (opts.done(replies)) finish();
      },
    });
    const timer = setTimeout(finish, Math.max(0, opts.timeoutMs));
    opts.signal?.addEventListener("abort", finish, { once: true });
    try {
      nats.publish(subject, data, { reply: inbox });
    } catch (e) {
      finished = true;
      clearTimeout(timer);
      sub.unsubscribe();
      reject(e);
    }
  });
}

/** One request, one reply: resolves with the first reply, or `undefined` after `timeoutMs`. */
export async function natsRequest(
  nats: NatsConnection,
  subject: string,
  data: Uint8Array,
  opts: { inboxPrefix: string; timeoutMs: number; signal?: AbortSignal },
): Promise<Uint8Array | undefined> {
  const r = await natsCollect(nats, subject, data, { ...opts, done: () => true });
  return r[0];
}

/** Encodes a JSON value as a NATS payload. */
export function toJsonBytes(v: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(v), "utf8");
}

/** Decodes a JSON NATS payload; `undefined` when it is not JSON. */
export function fromJsonBytes(data: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8"));
  } catch {
    return undefined;
  }
}
