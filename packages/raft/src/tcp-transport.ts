import * as net from "node:net";
import { decodeMessage, encodeMessage } from "./core/codec.js";
import type { Message, NodeId } from "./core/types.js";
import { RaftError, RaftErrorCode } from "./errors.js";
import { type Logger, noopLogger } from "./logger.js";
import type { RaftTransport } from "./raft-node.js";

/** Address of a peer. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** Options of {@link openTcpTransport}. */
export interface TcpTransportOptions {
  readonly id: NodeId;
  /** Listen address; port 0 picks an ephemeral port. Default 127.0.0.1:0. */
  readonly listen?: PeerAddress;
  /** Known peers; more can be added with `setPeer`. */
  readonly peers?: Readonly<Record<NodeId, PeerAddress>>;
  /** Max queued bytes per peer while (re)connecting; beyond it messages are dropped. Default 16 MiB. */
  readonly maxQueueBytes?: number;
  readonly logger?: Logger;
}

/** A {@link RaftTransport} over TCP: one outgoing connection per peer, frames `[u32 length][message]`. */
export interface TcpTransport extends RaftTransport {
  /** The bound listen address. */
  readonly address: PeerAddress;
  /** Adds or replaces a peer's address (closing any old connection). */
  setPeer(id: NodeId, addr: PeerAddress): void;
}

interface Peer {
  addr: PeerAddress;
  sock: net.Socket | null;
  connected: boolean;
  queue: Uint8Array[];
  queuedBytes: number;
  retryAt: number;
}

/** Opens a {@link TcpTransport}: listens, then connects to peers lazily and reconnects on failure. */
export async function openTcpTransport(o: TcpTransportOptions): Promise<TcpTransport> {
  const log = (o.logger ?? noopLogger).child({ component: "raft-tcp", nodeId: o.id });
  const maxQueue = o.maxQueueBytes ?? 16 * 1024 * 1024;
  let handler: (m: Message) => void = () => {};
  let closed = false;
  const inbound = new Set<net.Socket>();
  const peers = new Map<NodeId, Peer>();

  const server = net.createServer((sock) => {
    inbound.add(sock);
    sock.setNoDelay(true);
    let buf = Buffer.alloc(0);
    sock.on("data", (chunk) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0);
        if (buf.length < 4 + len) break;
        const frame = new Uint8Array(buf.buffer, buf.byteOffset + 4, len);
        buf = buf.subarray(4 + len);
        let m: Message;
        try {
          m = decodeMessage(frame);
        } catch (err) {
          log.warn({ err }, "dropping connection with a malformed frame");
          sock.destroy();
          return;
        }
        if (!closed) handler(m);
      }
    });
    sock.on("error", () => {});
    sock.on("close", () => inbound.delete(sock));
  });
  const listen = o.listen ?? { host: "127.0.0.1", port: 0 };
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;

  const connect = (id: NodeId, p: Peer) => {
    if (closed || p.sock) return;
    if (Date.now() < p.retryAt) return;
    const sock = net.connect(p.addr.port, p.addr.host);
    p.sock = sock;
    sock.setNoDelay(true);
    sock.on("connect", () => {
      p.connected = true;
      for (const b of p.queue) sock.write(b);
      p.queue = [];
      p.queuedBytes = 0;
    });
    const drop = () => {
      if (p.sock !== sock) return;
      p.sock = null;
      p.connected = false;
      p.retryAt = Date.now() + 100;
    };
    sock.on("error", (err) => {
      log.debug({ err, peer: id }, "peer connection failed");
      drop();
    });
    sock.on("close", drop);
  };

  const t: TcpTransport = {
    address: { host: bound.address, port: bound.port },
    send(m) {
      if (closed) return;
      const p = peers.get(m.to);
      if (!p) return;
      const body = encodeMessage(m);
      const frame = new Uint8Array(4 + body.length);
      new DataView(frame.buffer).setUint32(0, body.length);
      frame.set(body, 4);
      if (p.connected && p.sock) {
        p.sock.write(frame);
        return;
      }
      if (p.queuedBytes + frame.length <= maxQueue) {
        p.queue.push(frame);
        p.queuedBytes += frame.length;
      }
      connect(m.to, p);
    },
    setHandler(h) {
      handler = h;
    },
    setPeer(id, addr) {
      const old = peers.get(id);
      old?.sock?.destroy();
      peers.set(id, { addr, sock: null, connected: false, queue: [], queuedBytes: 0, retryAt: 0 });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const p of peers.values()) p.sock?.destroy();
      for (const s of inbound) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  for (const [id, addr] of Object.entries(o.peers ?? {})) {
    if (id === o.id) continue;
    t.setPeer(id, addr);
  }
  if (!bound) throw new RaftError(RaftErrorCode.Closed, "listen failed");
  return t;
}
