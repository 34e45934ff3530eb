// How a client's server-streaming call ends: after a slow reader, after a cancel of a stream the
// server already finished, and when the connection drops mid-stream.
import { connect as netConnect, createServer as netServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Channel,
  connect,
  createClient,
  type GrpcServer,
  isGrpcError,
  Status,
} from "../../src/index.js";
import { startTestServer, TestService } from "../helpers/test-service.js";

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const within = <T>(p: Promise<T>, ms: number): Promise<T | "timed out"> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<"timed out">((r) => {
      timer = setTimeout(() => r("timed out"), ms);
    }),
  ]).finally(() => clearTimeout(timer));
};

describe("client stream end", () => {
  let server: GrpcServer;
  let port: number;
  beforeAll(async () => {
    ({ server, port } = await startTestServer());
  });
  afterAll(async () => {
    await server.close({ graceMs: 100 });
  });

  it("a slow reader gets every message a finished stream sent before its status", async () => {
    // The reader lags, so the HTTP/2 stream is paused with messages buffered when the trailers come:
    // the status must wait until those are read (it used to end the call early, dropping them).
    const channel = connect(`127.0.0.1:${port}`);
    try {
      const call = createClient(TestService, channel).count(json({ count: 2000, size: 1000 }));
      let n = 0;
      for await (const m of call) {
        expect(m.readUInt32BE(0)).toBe(n);
        n++;
        if (n % 50 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      expect(n).toBe(2000);
      expect(await call.status).toBeUndefined();
    } finally {
      await channel.close();
    }
  });

  it("cancel() releases a stream the server finished while it was paused; channel.close() is prompt", async () => {
    const channel = connect(`127.0.0.1:${port}`);
    // 500 x 1000 B fit in the stream window, so the server finishes while the reader holds the rest.
    const call = createClient(TestService, channel).count(json({ count: 500, size: 1000 }));
    const it = call[Symbol.asyncIterator]();
    await it.next();
    await call.trailers; // the server is done
    expect(await within(call.status, 100)).toBe("timed out"); // 499 messages not read yet
    call.cancel();
    expect(isGrpcError(await call.status, Status.CANCELLED)).toBe(true);
    // The stream is released: a graceful close has nothing to wait for.
    expect(await within(channel.close(), 5000)).toBeUndefined();
  });

  describe("the connection drops mid-stream (peer process killed): UNAVAILABLE", () => {
    let proxy: Server;
    let proxyPort: number;
    const sockets: Socket[] = [];
    beforeAll(async () => {
      proxy = netServer((down) => {
        const up = netConnect(port, "127.0.0.1");
        down.on("error", () => {});
        up.on("error", () => {});
        down.pipe(up);
        up.pipe(down);
        sockets.push(down, up);
      });
      await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
      proxyPort = (proxy.address() as { port: number }).port;
    });
    afterAll(async () => {
      await new Promise<void>((r) => proxy.close(() => r()));
    });

    // What a SIGKILLed server leaves: its kernel closes the socket (FIN), or resets it (RST) when
    // unread bytes were pending; no GOAWAY, no RST_STREAM.
    it.each([
      ["FIN, iterator", "fin", "iterator"],
      ["RST, iterator", "rst", "iterator"],
      ["FIN, callback", "fin", "callback"],
      ["RST, callback", "rst", "callback"],
    ] as const)("%s", async (_name, drop, mode) => {
      for (let i = 0; i < 10; i++) {
        const channel: Channel = connect(`127.0.0.1:${proxyPort}`);
        try {
          const call = createClient(TestService, channel).infinite(json({ id: `drop-${i}` }));
          let got = 0;
          if (mode === "callback") call.onMessage(() => got++);
          else await call[Symbol.asyncIterator]().next();
          await call.headers;
          for (const s of sockets.splice(0)) {
            if (drop === "rst") s.resetAndDestroy();
            else s.destroy();
          }
          const err = await call.status;
          expect(isGrpcError(err) ? err.code : err).toBe(Status.UNAVAILABLE);
        } finally {
          await channel.close({ graceMs: 0 });
        }
      }
    });
  });
});
