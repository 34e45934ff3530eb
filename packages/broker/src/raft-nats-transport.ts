/**
 * The metadata group's {@link RaftTransport} over NATS (spec internals §2.7, simplified): each Raft
 * message is one NATS message on `<ns>.raft.metadata.<to>.msg`, in `@liftbridge/raft`'s own binary
 * codec. Wire compatibility with Go nodes (hashicorp's msgpack stream over NATS) is not a goal; Raft
 * tolerates the loss and reordering of plain NATS delivery.
 * @module
 */
import { decodeMessage, encodeMessage, type Message, type RaftTransport } from "@liftbridge/raft";
import type { Logger } from "./logger.js";
import type { NatsConnection, NatsSubscriptionHandle } from "./nats.js";

/** Options of {@link createNatsRaftTransport}. */
export interface NatsRaftTransportOptions {
  readonly nats: NatsConnection;
  /** `clustering.namespace`. */
  readonly namespace: string;
  /** This server's id (its Raft node id). */
  readonly serverId: string;
  readonly logger: Logger;
}

/** The subject server `id` receives its Raft messages on. */
export function raftMessageSubject(namespace: string, id: string): string {
  return `${namespace}.raft.metadata.${id}.msg`;
}

/**
 * Creates the transport; it subscribes to this server's subject at once, so messages that arrive
 * before the Raft node installs its handler are dropped (Raft retransmits).
 */
export function createNatsRaftTransport(o: NatsRaftTransportOptions): RaftTransport {
  const log = o.logger.child({ component: "raft-nats", nodeId: o.serverId });
  let handler: ((m: Message) => void) | undefined;
  let closed = false;
  const sub: NatsSubscriptionHandle = o.nats.subscribe(raftMessageSubject(o.namespace, o.serverId), {
    callback: (msg) => {
      if (closed || handler === undefined) return;
      let m: Message;
      try {
        m = decodeMessage(msg.data);
      } catch (err) {
        log.warn({ err }, "dropping a malformed raft message");
        return;
      }
      handler(m);
    },
  });
  return {
    send(m) {
      if (closed) return;
      try {
        o.nats.publish(raftMessageSubject(o.namespace, m.to), encodeMessage(m));
      } catch (err) {
        // A closed or reconnecting connection: drop, as the transport contract allows.
        log.debug({ err }, "raft message not sent");
      }
    },
    setHandler(h) {
      handler = h;
    },
    async close() {
      if (closed) return;
      closed = true;
      sub.unsubscribe();
    },
  };
}
