// sendFramed's onReleased: a handler may overwrite a batch's buffer as soon as it is released, and every
// released batch is released exactly once, also when the client goes away mid-stream.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Channel,
  connect,
  createClient,
  createServer,
  type GrpcServer,
  isGrpcError,
  MESSAGE_PREFIX_BYTES,
  Status,
  writeMessagePrefix,
} from "../../src/index.js";
import { bytesStreamMethod, payload, readAllWithGrpcJs } from "../helpers/framed-stream.js";

const ReuseService = { reuse: bytesStreamMethod("Reuse", "Reuse") } as const;

interface Ledger {
  batches: number;
  releases: number;
  doubleReleases: number;
  done: Promise<void>;
}

/**
 * Sends `count` messages in batches of `batch` from a small pool of buffers, as the broker's Subscribe
 * does: a released buffer is scribbled over at once and reused, so a transport that released too early
 * would deliver garbage.
 */
function handlers(ledgers: Ledger[]) {
  return {
    async reuse(
      req: Buffer,
      call: {
        sendFramed(f: Uint8Array, onReleased?: () => void): boolean;
        drain(): Promise<void>;
        signal: AbortSignal;
      },
    ) {
      const { count, size, batch } = JSON.parse(req.toString()) as {
        count: number;
        size: number;
        batch: number;
      };
      let finish!: () => void;
      const ledger: Ledger = {
        batches: 0,
        releases: 0,
        doubleReleases: 0,
        done: new Promise((r) => {
          finish = r;
        }),
      };
      ledgers.push(ledger);
      const free: Buffer[] = [];
      let ended = false;
      const check = () => {
        if (ended && ledger.releases === ledger.batches) finish();
      };
      for (let i = 0; i < count && !call.signal.aborted; ) {
        const n = Math.min(batch, count - i);
        const bytes = n * (MESSAGE_PREFIX_BYTES + size);
        const buf = free.find((b) => b.length === bytes) ?? Buffer.allocUnsafe(bytes);
        free.splice(free.indexOf(buf), free.includes(buf) ? 1 : 0);
        let at = 0;
        for (let k = i; k < i + n; k++) {
          at = writeMessagePrefix(buf, at, size);
          at += payload(k, size).copy(buf, at);
        }
        let released = false;
        ledger.batches++;
        const ok = call.sendFramed(buf, () => {
          if (released) ledger.doubleReleases++;
          released = true;
          ledger.releases++;
          buf.fill(0xee); // reused at once: must not reach the client
          free.push(buf);
          check();
        });
        i += n;
        if (!ok) await call.drain();
      }
      ended = true;
      check();
    },
  };
}

describe("sendFramed onReleased", () => {
  let server: GrpcServer;
  let port: number;
  let channel: Channel;
  let client: ReturnType<typeof createClient<typeof ReuseService>>;
  const ledgers: Ledger[] = [];

  beforeAll(async () => {
    server = createServer();
    server.addService(ReuseService, handlers(ledgers) as never);
    port = await server.listen(0, "127.0.0.1");
    // A small stream window keeps many batches queued in the server while the client reads.
    channel = connect(`127.0.0.1:${port}`, { initialStreamWindowBytes: 65_535 });
    client = createClient(ReuseService, channel);
  });
  afterAll(async () => {
    await channel.close();
    await server.close({ graceMs: 100 });
  });

  const shapes = [
    { count: 3000, size: 100, batch: 30 }, // under 4 KiB: copied by the transport, released at once
    { count: 20_000, size: 120, batch: 500 }, // written without a copy
    { count: 3000, size: 1000, batch: 300 }, // ~300 KiB batches behind a 64 KiB window
  ];
  for (const shape of shapes) {
    it(`our client gets every message intact from reused buffers (${JSON.stringify(shape)})`, async () => {
      const before = ledgers.length;
      const call = client.reuse(Buffer.from(JSON.stringify(shape)));
      let i = 0;
      for await (const m of call) {
        expect(m.equals(payload(i, shape.size))).toBe(true);
        i++;
      }
      expect(i).toBe(shape.count);
      const ledger = ledgers[before]!;
      await ledger.done;
      expect(ledger.releases).toBe(ledger.batches);
      expect(ledger.doubleReleases).toBe(0);
    });
  }

  it("a grpc-js client (64 KiB windows) gets every message intact", async () => {
    const shape = { count: 8000, size: 500, batch: 400 };
    const got = await readAllWithGrpcJs(ReuseService, port, "reuse", Buffer.from(JSON.stringify(shape)));
    expect(got).toHaveLength(shape.count);
    expect(got.filter((m, i) => !m.equals(payload(i, shape.size)))).toHaveLength(0);
  });

  it("breaking out of `for await` cancels the call: the server stops and releases every batch", async () => {
    const before = ledgers.length;
    const call = client.reuse(Buffer.from(JSON.stringify({ count: 200_000, size: 1000, batch: 300 })));
    let i = 0;
    for await (const m of call) {
      expect(m.equals(payload(i, 1000))).toBe(true);
      if (++i === 1000) break;
    }
    const status = await call.status;
    expect(isGrpcError(status, Status.CANCELLED)).toBe(true);
    const ledger = ledgers[before]!;
    await ledger.done; // the handler's loop saw call.signal abort
    expect(ledger.batches).toBeLessThan(200_000 / 300);
    expect(ledger.releases).toBe(ledger.batches);
  });

  it("every batch is released once when the client cancels mid-stream", async () => {
    const before = ledgers.length;
    const ac = new AbortController();
    const call = client.reuse(Buffer.from(JSON.stringify({ count: 200_000, size: 1000, batch: 300 })), {
      signal: ac.signal,
    });
    let i = 0;
    await (async () => {
      for await (const m of call) {
        expect(m.equals(payload(i, 1000))).toBe(true);
        if (++i === 2000) ac.abort();
      }
    })().catch(() => {});
    const ledger = ledgers[before]!;
    await ledger.done;
    expect(ledger.batches).toBeLessThan(200_000 / 300);
    expect(ledger.releases).toBe(ledger.batches);
    expect(ledger.doubleReleases).toBe(0);
  });
});
