/**
 * Confirming that a subscription is live at the NATS server before the broker answers (issue #7).
 *
 * A NATS client sends SUB asynchronously, and the server handles each connection on its own, so a
 * publish from another connection can be routed before the broker's SUB was processed and is then
 * dropped. A flush (a PING/PONG round trip on the connection that carries the subscription) proves
 * the server processed the SUB. CreateStream, a resume and startup readiness wait for it, best effort
 * and at most {@link SUBSCRIPTION_CONFIRM_TIMEOUT_MS} (upstream's bound, spec internals §3.7). It
 * costs one round trip per partition start, nothing per message.
 *
 * The mirror image on shutdown: {@link drainSubscription} keeps a closing partition's subscription
 * delivering until the server confirmed the UNSUB, so messages NATS already routed to the broker are
 * stored instead of dropped.
 * @module
 */
import type { NatsConnection, NatsSubscriptionHandle } from "./nats.js";

/** How long a partition start waits for NATS to confirm its subscription (spec internals §3.7: 5 s). */
export const SUBSCRIPTION_CONFIRM_TIMEOUT_MS = 5000;

/**
 * Resolves `undefined` once the NATS server has processed everything sent on `nats` before the call
 * (its subscriptions included), or an `Error` saying why that is not known: the flush failed (closed
 * connection) or took longer than `timeoutMs` (for instance while reconnecting). Never rejects.
 */
export function confirmSubscriptions(
  nats: NatsConnection,
  timeoutMs: number = SUBSCRIPTION_CONFIRM_TIMEOUT_MS,
): Promise<Error | undefined> {
  return bounded(() => nats.flush(), timeoutMs, "confirm the subscription");
}

/** How long a closing partition waits for NATS to confirm its UNSUB (as the gRPC and NATS drains). */
export const SUBSCRIPTION_DRAIN_TIMEOUT_MS = 2000;

/**
 * Ends `sub` without dropping what NATS routed to it before the server processed the UNSUB: the
 * handle's `drain()` when it has one (nats.js), else unsubscribe then flush (the in-process
 * connection unsubscribes synchronously and delivers what it queued before). Resolves `undefined`,
 * or an `Error` when that could not be confirmed within `timeoutMs` (the subscription is then simply
 * unsubscribed). Never rejects.
 */
export async function drainSubscription(
  sub: NatsSubscriptionHandle,
  nats: NatsConnection,
  timeoutMs: number = SUBSCRIPTION_DRAIN_TIMEOUT_MS,
): Promise<Error | undefined> {
  const drain = sub.drain;
  const err =
    drain !== undefined
      ? await bounded(() => drain.call(sub), timeoutMs, "confirm the unsubscribe")
      : await bounded(
          () => {
            sub.unsubscribe();
            return nats.flush();
          },
          timeoutMs,
          "confirm the unsubscribe",
        );
  if (err !== undefined) {
    try {
      sub.unsubscribe();
    } catch {
      // Already closed with its connection.
    }
  }
  return err;
}

/** Runs `fn` and resolves `undefined` when it settles fine within `timeoutMs`, else the error. */
function bounded(fn: () => Promise<void>, timeoutMs: number, what: string): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => resolve(new Error(`NATS did not ${what} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref?.();
    let flushed: Promise<void>;
    try {
      flushed = fn();
    } catch (e) {
      flushed = Promise.reject(e);
    }
    flushed.then(
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
      (e: unknown) => {
        clearTimeout(timer);
        resolve(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
