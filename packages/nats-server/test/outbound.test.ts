import { fc, test as propTest } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { CHUNK_BYTES, ChunkPool, Outbound, type Slice, ZERO_COPY_THRESHOLD } from "../src/outbound.js";

const frame = (prefix: string, reply: string | undefined, hdr: Buffer | undefined, body: Buffer) =>
  Buffer.concat([
    Buffer.from(
      `${prefix}${reply === undefined ? "" : `${reply} `}${hdr === undefined ? "" : `${hdr.length} `}${(hdr?.length ?? 0) + body.length}\r\n`,
    ),
    hdr ?? Buffer.alloc(0),
    body,
    Buffer.from("\r\n"),
  ]);

describe("Outbound", () => {
  it("encodes MSG and HMSG frames", () => {
    const out = new Outbound(new ChunkPool());
    out.writeMessage(Buffer.from("MSG a 1 "), undefined, undefined, Buffer.from("hi"));
    out.writeMessage(Buffer.from("MSG a 1 "), "r.1", undefined, Buffer.alloc(0));
    out.writeMessage(Buffer.from("HMSG a 2 "), undefined, Buffer.from("NATS/1.0\r\n\r\n"), Buffer.from("x"));
    const bytes = Buffer.concat(out.take().map((s) => s.data)).toString();
    expect(bytes).toBe("MSG a 1 2\r\nhi\r\nMSG a 1 r.1 0\r\n\r\nHMSG a 2 12 13\r\nNATS/1.0\r\n\r\nx\r\n");
    expect(out.bytes).toBe(0);
  });

  it("forwards large payloads by reference", () => {
    const out = new Outbound(new ChunkPool());
    const big = Buffer.alloc(ZERO_COPY_THRESHOLD, 7);
    out.writeMessage(Buffer.from("MSG a 1 "), undefined, undefined, big);
    expect(out.take().some((s) => s.data === big)).toBe(true);
  });

  it("reuses a pooled chunk only after every slice cut from it was released", () => {
    const pool = new ChunkPool(4);
    const out = new Outbound(pool);
    const sent: { slice: Slice; copy: Buffer }[] = [];
    for (let i = 0; i < 40; i++) {
      out.writeMessage(Buffer.from("MSG s 1 "), undefined, undefined, Buffer.alloc(10_000, i));
      if (i % 3 === 0) for (const s of out.take()) sent.push({ slice: s, copy: Buffer.from(s.data) });
    }
    for (const s of out.take()) sent.push({ slice: s, copy: Buffer.from(s.data) });
    for (const f of sent) expect(f.slice.data.equals(f.copy)).toBe(true);
    for (const f of sent) out.release(f.slice);
    // Now the chunks are back in the pool and may be reused.
    out.writeMessage(Buffer.from("MSG s 1 "), undefined, undefined, Buffer.alloc(60_000, 99));
    expect(out.take().length).toBeGreaterThan(0);
  });

  // Pooled chunks must never be reused while a slice cut from them is still queued on a socket.
  propTest.prop([
    fc.array(
      fc.oneof(
        fc.record({
          kind: fc.constant("msg" as const),
          size: fc.oneof(
            fc.nat(300),
            fc.integer({ min: 4000, max: 20_000 }),
            fc.integer({ min: 0, max: 70_000 }),
          ),
          seed: fc.nat(255),
        }),
        fc.record({ kind: fc.constant("flush" as const) }),
        fc.record({ kind: fc.constant("release" as const), which: fc.nat(100) }),
      ),
      { maxLength: 120 },
    ),
  ])("keeps every queued slice intact until it is released", (ops) => {
    const pool = new ChunkPool(4);
    const out = new Outbound(pool);
    let expected: Buffer[] = [];
    const inFlight: { slice: Slice; copy: Buffer }[] = [];
    const check = () => {
      for (const f of inFlight) expect(f.slice.data.equals(f.copy)).toBe(true);
    };
    for (const op of ops) {
      if (op.kind === "msg") {
        const body = Buffer.alloc(op.size, op.seed);
        out.writeMessage(Buffer.from("MSG s 1 "), undefined, undefined, body);
        expected.push(frame("MSG s 1 ", undefined, undefined, body));
      } else if (op.kind === "flush") {
        const slices = out.take();
        expect(Buffer.concat(slices.map((s) => s.data)).equals(Buffer.concat(expected))).toBe(true);
        expected = [];
        for (const s of slices) inFlight.push({ slice: s, copy: Buffer.from(s.data) });
      } else if (inFlight.length > 0) {
        const [f] = inFlight.splice(op.which % inFlight.length, 1);
        out.release((f as { slice: Slice }).slice);
      }
      check();
    }
    expect(CHUNK_BYTES).toBe(64 * 1024);
  });
});
