// ServerWritableCall.sendFramed: pre-framed batches of responses, read by our client and by grpc-js.
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
  statusName,
  writeMessagePrefix,
} from "../../src/index.js";
import { bytesStreamMethod, payload, readAllWithGrpcJs } from "../helpers/framed-stream.js";

const stream = (name: string) => bytesStreamMethod("Framed", name);

const FramedService = { batches: stream("Batches"), bad: stream("Bad") } as const;

/** Frames messages `from..to-1` into one buffer with {@link writeMessagePrefix}. */
function framed(from: number, to: number, size: number): Buffer {
  const out = Buffer.allocUnsafe((to - from) * (MESSAGE_PREFIX_BYTES + size));
  let at = 0;
  for (let i = from; i < to; i++) {
    at = writeMessagePrefix(out, at, size);
    at += payload(i, size).copy(out, at);
  }
  return out;
}

/** Request: {count, size, batch}; the handler mixes plain sends and framed batches of every size class. */
function handlers() {
  return {
    async batches(
      req: Buffer,
      call: { send(m: Buffer): boolean; sendFramed(f: Uint8Array): boolean; drain(): Promise<void> },
    ) {
      const { count, size, batch } = JSON.parse(req.toString()) as {
        count: number;
        size: number;
        batch: number;
      };
      let i = 0;
      let turn = 0;
      while (i < count) {
        const n = Math.min(batch, count - i);
        let ok: boolean;
        if (turn++ % 3 === 2) {
          // Every third step goes through the ordinary path, to check the ordering between both.
          ok = true;
          for (let k = i; k < i + n; k++) ok = call.send(payload(k, size)) && ok;
        } else {
          const f = framed(i, i + n, size);
          // A plain Uint8Array view must work as well as a Buffer.
          ok = call.sendFramed(turn % 2 === 0 ? new Uint8Array(f.buffer, f.byteOffset, f.length) : f);
        }
        i += n;
        if (!ok) await call.drain();
      }
      expect(call.sendFramed(new Uint8Array(0))).toBe(true);
    },
    async bad(req: Buffer, call: { send(m: Buffer): boolean; sendFramed(f: Uint8Array): boolean }) {
      call.send(payload(0, 8));
      const kind = req.toString();
      const f = framed(1, 3, 8);
      if (kind === "truncated") call.sendFramed(f.subarray(0, f.length - 1));
      else if (kind === "short-prefix") call.sendFramed(Buffer.concat([f, Buffer.from([0, 0])]));
      else if (kind === "compressed-flag") {
        f[0] = 1;
        call.sendFramed(f);
      } else if (kind === "too-large") call.sendFramed(framed(1, 2, 2048));
      await new Promise((r) => setTimeout(r, 10));
    },
  };
}

describe("sendFramed", () => {
  let server: GrpcServer;
  let port: number;
  let channel: Channel;
  let client: ReturnType<typeof createClient<typeof FramedService>>;

  beforeAll(async () => {
    server = createServer({ maxSendMessageBytes: 1024 });
    server.addService(FramedService, handlers() as never);
    port = await server.listen(0, "127.0.0.1");
    channel = connect(`127.0.0.1:${port}`);
    client = createClient(FramedService, channel);
  });
  afterAll(async () => {
    await channel.close();
    await server.close({ graceMs: 100 });
  });

  const shapes = [
    { count: 5000, size: 100, batch: 1 }, // one small frame per batch: coalesced copies
    { count: 5000, size: 100, batch: 37 }, // < 4 KiB batches
    { count: 20_000, size: 120, batch: 1000 }, // > 4 KiB batches: written without a copy
    { count: 3000, size: 1000, batch: 300 }, // ~300 KiB batches, flow control and drain
  ];

  for (const shape of shapes) {
    it(`our client receives every message in order (${JSON.stringify(shape)})`, async () => {
      const call = client.batches(Buffer.from(JSON.stringify(shape)));
      let i = 0;
      for await (const m of call) {
        expect(m.length).toBe(shape.size);
        expect(m.equals(payload(i, shape.size))).toBe(true);
        i++;
      }
      expect(i).toBe(shape.count);
      expect(await call.status).toBeUndefined();
    });
  }

  it("our client decodes through responseDeserializeRange when the method has one", async () => {
    const ranges: number[] = [];
    const RangeService = {
      batches: {
        ...FramedService.batches,
        responseDeserialize: (): Buffer => {
          throw new Error("the range decoder must be used");
        },
        responseDeserializeRange: (buf: Buffer, start: number, end: number): Buffer => {
          ranges.push(end - start);
          return Buffer.from(buf.subarray(start, end));
        },
      },
    } as const;
    const rangeClient = createClient(RangeService, channel);
    const shape = { count: 3000, size: 1000, batch: 300 };
    const call = rangeClient.batches(Buffer.from(JSON.stringify(shape)));
    let i = 0;
    for await (const m of call) {
      expect(m.equals(payload(i, shape.size))).toBe(true);
      i++;
    }
    expect(i).toBe(shape.count);
    expect(await call.status).toBeUndefined();
    expect(ranges.length).toBe(shape.count);
    expect(ranges.every((n) => n === shape.size)).toBe(true);
  });

  it("a grpc-js client reads framed batches as ordinary messages", async () => {
    const shape = { count: 10_000, size: 200, batch: 500 };
    const got = await readAllWithGrpcJs(FramedService, port, "batches", Buffer.from(JSON.stringify(shape)));
    expect(got).toHaveLength(shape.count);
    for (const [i, m] of got.entries()) expect(m.equals(payload(i, shape.size))).toBe(true);
  });

  for (const [kind, code] of [
    ["truncated", Status.INTERNAL],
    ["short-prefix", Status.INTERNAL],
    ["compressed-flag", Status.INTERNAL],
    ["too-large", Status.RESOURCE_EXHAUSTED],
  ] as const) {
    it(`a malformed batch (${kind}) fails the call with ${statusName(code)} and sends none of it`, async () => {
      const call = client.bad(Buffer.from(kind));
      const got: Buffer[] = [];
      const err = await (async () => {
        for await (const m of call) got.push(m);
      })().catch((e: unknown) => e);
      expect(isGrpcError(err, code)).toBe(true);
      expect(got).toHaveLength(1); // only the message sent before the bad batch
      expect(got[0]?.equals(payload(0, 8))).toBe(true);
    });
  }
});
