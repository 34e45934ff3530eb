import { decodeMessage, encodeMessage } from "./core/codec.js";
import type { Message, NodeId } from "./core/types.js";
import type { RaftTransport } from "./raft-node.js";

/** An in-process network of {@link RaftTransport}s (messages are encoded and delivered asynchronously). */
export interface MemoryNetwork {
  /** Creates the transport of node `id`. */
  transport(id: NodeId): RaftTransport;
}

/** Creates a {@link MemoryNetwork}: each message is encoded, then decoded on a later macrotask. */
export function createMemoryNetwork(): MemoryNetwork {
  const handlers = new Map<NodeId, (m: Message) => void>();
  return {
    transport(id) {
      return {
        send(m) {
          const bytes = encodeMessage(m);
          setImmediate(() => handlers.get(m.to)?.(decodeMessage(bytes)));
        },
        setHandler(h) {
          handlers.set(id, h);
        },
        async close() {
          handlers.delete(id);
        },
      };
    },
  };
}
