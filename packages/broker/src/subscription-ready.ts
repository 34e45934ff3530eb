/**
 * Confirming that a subscription is live at the NATS server before the broker answers (issue #7).
 *
 * A NATS client sends SUB asynchronously, and the server handles each connection on its own, so a
 * publish from another connection can be routed before the broker's SUB was processed and is then
 * dropped. A flush (a PING/PONG round trip on the connection that carries the subscription) proves
 * the server processed the SUB. CreateStream, a resume and startup readiness wait for it, best effort
 * and at most {@link SUBSCRIPTION_CONFIRM_TIMEOUT_MS} (upstream's bound, spec internals §3.7). It
 * costs one round trip per partition start, nothing per message.
 * @module
 */
import type { NatsConnection } from "./nats.js";

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
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => resolve(new Error(`NATS did not confirm the subscription within ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref?.();
    let flushed: Promise<void>;
    try {
      flushed = nats.flush();
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
