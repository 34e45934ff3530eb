import { createServer, connect as netConnect, type Server, type Socket } from "node:net";

/** A TCP proxy whose traffic can be frozen: a peer that stops answering anything, PINGs included. */
export interface FreezableProxy {
  readonly port: number;
  /** Stops forwarding in both directions (bytes are held, not dropped). */
  freeze(): void;
  close(): Promise<void>;
}

export async function startFreezableProxy(targetPort: number): Promise<FreezableProxy> {
  const pairs: [Socket, Socket][] = [];
  const server: Server = createServer((downstream) => {
    const upstream = netConnect(targetPort, "127.0.0.1");
    downstream.on("error", () => {});
    upstream.on("error", () => {});
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    downstream.on("close", () => upstream.destroy());
    upstream.on("close", () => downstream.destroy());
    pairs.push([downstream, upstream]);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  return {
    port: address.port,
    freeze() {
      for (const [a, b] of pairs) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
    },
    async close() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
