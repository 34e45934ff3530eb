import type { SublistEntry } from "./sublist.js";
import { Sublist } from "./sublist.js";

/** A client of the router: a socket connection or an in-process connection. */
export interface RouterClient {
  readonly id: number;
  /** Deliver messages this client published to its own subscriptions (CONNECT `echo`). */
  echo: boolean;
  /** The client understands HMSG (CONNECT `headers`). */
  headers: boolean;
  /** The client wants a 503 status message when a request finds no subscriber (CONNECT `no_responders`). */
  noResponders: boolean;
  readonly subs: Map<string, Subscription>;
  /** Queues one message for `sub`; `hdr` is a raw header block, or undefined. */
  deliver(
    sub: Subscription,
    subject: string,
    reply: string | undefined,
    hdr: Buffer | undefined,
    body: Buffer,
  ): void;
}

/** One subscription, owned by a client. */
export interface Subscription extends SublistEntry {
  readonly subject: string;
  readonly queue: string | undefined;
  readonly sid: string;
  readonly client: RouterClient;
  /** Remaining-message limit from UNSUB max; -1 for none. */
  max: number;
  delivered: number;
  closed: boolean;
  /** Encoded `MSG <subject> <sid> ` of the last delivery (socket clients only). */
  prefix?: { subject: string; hmsg: boolean; bytes: Buffer } | undefined;
}

/** Status header block of a no-responders reply. */
export const NO_RESPONDERS_HDR = Buffer.from("NATS/1.0 503\r\n\r\n");
const EMPTY = Buffer.alloc(0);

/**
 * Routes published messages to subscriptions: all plain subscriptions that match, plus one random
 * member of each matching queue group. Synchronous; delivery order per subscriber is publish order.
 */
export class Router {
  readonly sublist = new Sublist<Subscription>();
  private readonly random: () => number;

  constructor(random: () => number) {
    this.random = random;
  }

  addSubscription(sub: Subscription): void {
    sub.client.subs.set(sub.sid, sub);
    this.sublist.insert(sub);
  }

  removeSubscription(sub: Subscription): void {
    if (sub.closed) return;
    sub.closed = true;
    if (sub.client.subs.get(sub.sid) === sub) sub.client.subs.delete(sub.sid);
    this.sublist.remove(sub);
  }

  /** Removes every subscription of a client (on disconnect). */
  removeClient(client: RouterClient): void {
    for (const sub of [...client.subs.values()]) this.removeSubscription(sub);
  }

  /** Applies UNSUB: `max` -1 removes now; otherwise removes after `max` messages in total. */
  unsubscribe(sub: Subscription, max: number): void {
    if (max > 0 && sub.delivered < max) sub.max = max;
    else this.removeSubscription(sub);
  }

  private deliverTo(
    sub: Subscription,
    subject: string,
    reply: string | undefined,
    hdr: Buffer | undefined,
    body: Buffer,
  ): void {
    sub.delivered++;
    sub.client.deliver(sub, subject, reply, hdr, body);
    if (sub.max > 0 && sub.delivered >= sub.max) this.removeSubscription(sub);
  }

  /**
   * Routes one message published by `from`. Returns the number of deliveries. When nothing matched, the
   * message has a reply subject and the publisher asked for no-responders, the publisher's own
   * subscription on the reply subject gets an empty message with a `NATS/1.0 503` header.
   */
  publish(
    from: RouterClient,
    subject: string,
    reply: string | undefined,
    hdr: Buffer | undefined,
    body: Buffer,
  ): number {
    const r = this.sublist.match(subject);
    let n = 0;
    const psubs = r.psubs;
    for (let i = 0; i < psubs.length; i++) {
      const sub = psubs[i] as Subscription;
      if (sub.closed || (sub.client === from && !from.echo)) continue;
      this.deliverTo(sub, subject, reply, hdr, body);
      n++;
    }
    const qsubs = r.qsubs;
    for (let g = 0; g < qsubs.length; g++) {
      const group = qsubs[g] as readonly Subscription[];
      const len = group.length;
      const start = len === 1 ? 0 : Math.floor(this.random() * len);
      for (let k = 0; k < len; k++) {
        const sub = group[(start + k) % len] as Subscription;
        if (sub.closed || (sub.client === from && !from.echo)) continue;
        this.deliverTo(sub, subject, reply, hdr, body);
        n++;
        break;
      }
    }
    if (n === 0 && reply !== undefined && from.noResponders && from.headers) {
      const rr = this.sublist.match(reply);
      const own =
        rr.psubs.find((s) => s.client === from && !s.closed) ??
        rr.qsubs.flat().find((s) => s.client === from && !s.closed);
      if (own !== undefined) this.deliverTo(own, reply, undefined, NO_RESPONDERS_HDR, EMPTY);
    }
    return n;
  }
}
