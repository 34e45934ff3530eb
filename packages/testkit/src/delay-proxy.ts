import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

/** A TCP proxy that delays every byte going upstream (client → target) by a fixed time. */
export interface DelayProxy {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Starts a proxy on 127.0.0.1 (ephemeral port) in front of `127.0.0.1:targetPort`. Bytes from the
 * client reach the target `delayMs` later, in order; bytes back pass straight through. It models a
 * slow link between the broker and its NATS server: a SUB the broker sends lands late, while a
 * publisher connected directly is not delayed.
 */
export function startDelayProxy(targetPort: number, delayMs: number): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(targetPort, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    client.on("data", (chunk: Buffer) => {
      // Timers with the same delay fire in insertion order, so the byte order is kept.
      setTimeout(() => {
        if (!upstream.destroyed) upstream.write(chunk);
      }, delayMs);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!client.destroyed) client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as { port: number }).port,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
