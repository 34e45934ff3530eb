import { test } from "@fast-check/vitest";
import { AckPolicy, Message } from "@liftbridge/api";
import { decodeMessageSet, type EntryInput, encodeMessageSet, type LogRecord } from "@liftbridge/commitlog";
import { frameMessage, MessageDecoder } from "@liftbridge/grpc";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createMessageEncoder } from "../src/message-encoder.js";

const EMPTY = new Uint8Array(0);

/** The reference: the Message the broker built per record before the raw encoder, encoded by the API. */
function reference(stream: string, partition: number, r: LogRecord): Buffer {
  const headers = new Map<string, Uint8Array>();
  let subject = "";
  let reply = "";
  for (const h of r.headers) {
    headers.set(h.key, h.value);
    if (h.key === "subject") subject = Buffer.from(h.value).toString("utf8");
    else if (h.key === "reply" && h.value.byteLength > 0) reply = Buffer.from(h.value).toString("utf8");
  }
  return Buffer.from(
    Message.encode({
      offset: r.offset,
      key: r.key ?? EMPTY,
      value: r.value ?? EMPTY,
      timestamp: r.timestamp,
      stream,
      partition,
      subject,
      replySubject: reply,
      headers,
      ackInbox: "",
      correlationId: "",
      ackPolicy: AckPolicy.LEADER,
    }),
  );
}

const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const text = fc.string({ unit: "grapheme", maxLength: 20 });
const header = fc.oneof(
  fc.record({ key: fc.constantFrom("subject", "reply"), value: text.map((t) => Buffer.from(t)) }),
  fc.record({ key: text, value: bytes(40) }),
);
const entry = fc.record({
  key: fc.option(bytes(40)),
  value: fc.option(bytes(300)),
  timestamp: fc.oneof(fc.constant(0n), fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n)),
  leaderEpoch: fc.nat(5),
  // Keys unique per record: a Map cannot hold duplicates, the wire can (see the module doc).
  headers: fc.uniqueArray(header, { maxLength: 5, selector: (h) => h.key }),
});

describe("createMessageEncoder", () => {
  test.prop(
    [
      fc.string({ maxLength: 30 }),
      fc.nat(1000),
      fc.oneof(fc.constant(0), fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 100 })),
      fc.array(entry, { minLength: 1, maxLength: 20 }),
    ],
    { numRuns: 200 },
  )("encodes every entry exactly as Message.encode of the record", (stream, partition, first, entries) => {
    const input: EntryInput[] = entries.map((e, i) => ({ ...e, offset: first + i }));
    const raw = encodeMessageSet(input);
    const records = decodeMessageSet(raw);
    const enc = createMessageEncoder(stream, partition).encode(raw, records.length);
    expect(enc.count).toBe(records.length);
    let from = 0;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      expect(enc.bytes.subarray(from, enc.ends[i])).toEqual(reference(stream, partition, r));
      expect(enc.offsets[i]).toBe(r.offset);
      from = enc.ends[i]!;
    }
  });

  test.prop([fc.string({ maxLength: 30 }), fc.nat(1000), fc.array(entry, { minLength: 1, maxLength: 20 })], {
    numRuns: 100,
  })("grpcFramed: each message is its gRPC frame, ends mark the frames", (stream, partition, entries) => {
    const raw = encodeMessageSet(entries.map((e, i) => ({ ...e, offset: 40 + i })));
    const plain = createMessageEncoder(stream, partition).encode(raw, entries.length);
    const framed = createMessageEncoder(stream, partition, { grpcFramed: true }).encode(raw, entries.length);
    let from = 0;
    let pfrom = 0;
    for (let i = 0; i < entries.length; i++) {
      const message = plain.bytes.subarray(pfrom, plain.ends[i]);
      expect(framed.bytes.subarray(from, framed.ends[i])).toEqual(frameMessage(message));
      expect(framed.offsets[i]).toBe(40 + i);
      from = framed.ends[i]!;
      pfrom = plain.ends[i]!;
    }
    expect(from).toBe(framed.bytes.length);
    const decoded: Buffer[] = [];
    new MessageDecoder().push(framed.bytes, (m) => decoded.push(Buffer.from(m)));
    expect(Buffer.concat(decoded)).toEqual(plain.bytes);
  });

  it("encodes only the first `count` entries, and reuses its size table across batches", () => {
    const e = (offset: number): EntryInput => ({
      offset,
      timestamp: 1_700_000_000_000_000_000n,
      leaderEpoch: 0,
      value: Buffer.from(`m${offset}`),
      headers: [
        { key: "subject", value: Buffer.from("orders") },
        { key: "reply", value: EMPTY },
      ],
    });
    const encoder = createMessageEncoder("orders", 2);
    const big = encodeMessageSet(Array.from({ length: 2000 }, (_, i) => e(i)));
    expect(encoder.encode(big, 2000).count).toBe(2000);
    const raw = encodeMessageSet([e(7), e(8), e(9)]);
    const out = encoder.encode(raw, 2);
    expect(out.count).toBe(2);
    const m = Message.decode(out.bytes.subarray(0, out.ends[0]));
    expect(m.offset).toBe(7);
    expect(Buffer.from(m.value).toString()).toBe("m7");
    expect(m.subject).toBe("orders");
    expect(m.stream).toBe("orders");
    expect(m.partition).toBe(2);
    expect(m.headers.get("subject")).toEqual(new Uint8Array(Buffer.from("orders")));
  });
});
