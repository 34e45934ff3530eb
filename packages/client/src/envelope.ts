import {
  AckPolicy,
  newMessage as apiNewMessage,
  unmarshalAck as apiUnmarshalAck,
  unmarshalMessage as apiUnmarshalMessage,
  isApiError,
} from "@liftbridge/api";
import { LiftbridgeError, LiftbridgeErrorCode } from "./errors.js";
import type { AckPolicyName } from "./options.js";
import type { Ack } from "./publisher.js";
import type { Message } from "./subscription.js";

/** Options of {@link newMessage} (the go-liftbridge `MessageOption`s that apply to an envelope). */
export interface EnvelopeMessageOptions {
  readonly key?: Uint8Array;
  readonly headers?: Readonly<Record<string, Uint8Array>> | ReadonlyMap<string, Uint8Array>;
  /** NATS subject the partition leader publishes the ack to; absent = no ack. */
  readonly ackInbox?: string;
  readonly correlationId?: string;
  /** Default `leader`. */
  readonly ackPolicy?: AckPolicyName;
  /** Default -1 (no check). */
  readonly expectedOffset?: number;
}

const POLICY = { leader: AckPolicy.LEADER, all: AckPolicy.ALL, none: AckPolicy.NONE } as const;

/**
 * Go `NewMessage`: an enveloped Liftbridge publish for sending straight to a partition's NATS subject
 * (partition 0 on `subject`, N on `subject.N`). No CRC, as Go.
 */
export function newMessage(value: Uint8Array, options: EnvelopeMessageOptions = {}): Uint8Array {
  return wrap(() =>
    apiNewMessage(value, {
      key: options.key,
      headers: options.headers,
      ackInbox: options.ackInbox,
      correlationId: options.correlationId,
      ackPolicy: options.ackPolicy === undefined ? undefined : POLICY[options.ackPolicy],
      expectedOffset: options.expectedOffset ?? -1,
    }),
  );
}

/** Go `UnmarshalMessage`: decodes an enveloped publish (checks magic, version, type and the optional CRC). */
export function unmarshalMessage(
  data: Uint8Array,
): Message & { readonly ackInbox: string; readonly correlationId: string } {
  return wrap(() => apiUnmarshalMessage(data));
}

/** Go `UnmarshalAck`: decodes an ack envelope, as received on an ack inbox (CRC-checked when flagged). */
export function unmarshalAck(data: Uint8Array): Ack {
  return wrap(() => apiUnmarshalAck(data));
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isApiError(e))
      throw new LiftbridgeError(LiftbridgeErrorCode.InvalidArgument, "invalid envelope", { cause: e });
    throw e;
  }
}
