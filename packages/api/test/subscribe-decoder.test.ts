import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { APIService, type Message as ApiMessage, Message, type MessageInit } from "../src/index.js";
import { decodeSubscribeMessage, decodeSubscribeMessageRange } from "../src/subscribe-decoder.js";

/** The decoded message as plain data (headers as a sorted entry list, bytes as arrays). */
function plain(m: ApiMessage): Record<string, unknown> {
  return {
    offset: m.offset,
    key: [...m.key],
    value: [...m.value],
    timestamp: m.timestamp,
    stream: m.stream,
    partition: m.partition,
    subject: m.subject,
    replySubject: m.replySubject,
    headers: [...m.headers].map(([k, v]) => [k, [...v]]),
    headersSize: m.headers.size,
    ackInbox: m.ackInbox,
    correlationId: m.correlationId,
    ackPolicy: m.ackPolicy,
  };
}

const bytes = fc.uint8Array({ maxLength: 300 });
const text = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.constantFrom("", "orders", "sub-cpu", "é中文", "a".repeat(70)),
);
const messageInit: fc.Arbitrary<MessageInit> = fc.record(
  {
    offset: fc.oneof(
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.constant(Number.MAX_SAFE_INTEGER),
      fc.integer({ min: -5, max: -1 }),
    ),
    key: bytes,
    value: bytes,
    timestamp: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    stream: text,
    partition: fc.integer({ min: -3, max: 2 ** 31 - 1 }),
    subject: text,
    replySubject: text,
    headers: fc.array(fc.tuple(text, bytes), { maxLength: 4 }).map((e) => new Map(e)),
    ackInbox: text,
    correlationId: text,
    ackPolicy: fc.constantFrom(0, 1, 2),
  },
  { requiredKeys: [] },
);

describe("decodeSubscribeMessage", () => {
  it("decodes exactly what Message.decode decodes (generated messages)", () => {
    fc.assert(
      fc.property(messageInit, (init) => {
        const wire = Message.encode(init);
        expect(plain(decodeSubscribeMessage(wire))).toEqual(plain(Message.decode(wire)));
        // Eager headers: deep-equal to the generated decoder's result, `Map` included.
        expect(decodeSubscribeMessage(wire)).toEqual(Message.decode(wire));
      }),
      { numRuns: 500 },
    );
  });

  it("decodeSubscribeMessageRange decodes a message in the middle of a larger buffer (generated)", () => {
    fc.assert(
      fc.property(messageInit, bytes, bytes, (init, before, after) => {
        const wire = Message.encode(init);
        const buf = Buffer.concat([before, wire, after]);
        const m = decodeSubscribeMessageRange(buf, before.length, before.length + wire.length);
        expect(plain(m)).toEqual(plain(Message.decode(wire)));
        expect(decodeSubscribeMessageRange(buf, before.length, before.length + wire.length)).toEqual(
          Message.decode(wire),
        );
      }),
      { numRuns: 300 },
    );
    const bad = Buffer.from([0x08, 0x01, 0x1a, 0x05, 1, 2, 0x08, 0x01]);
    expect(() => decodeSubscribeMessageRange(bad, 2, 6)).toThrow();
  });

  it("matches Message.decode on fields out of order, repeated fields and unknown fields", () => {
    const a = Message.encode({ offset: 7, headers: new Map([["h", new Uint8Array([1])]]) });
    const b = Message.encode({
      value: new Uint8Array([9, 9]),
      stream: "s",
      headers: new Map([
        ["h", new Uint8Array([2])],
        ["k", new Uint8Array()],
      ]),
    });
    const unknown = Buffer.from([0x78, 0x05, 0x82, 0x01, 0x01, 0x00]); // field 15 varint, field 16 bytes
    for (const wire of [Buffer.concat([b, a]), Buffer.concat([a, b]), Buffer.concat([a, unknown, b])]) {
      expect(plain(decodeSubscribeMessage(wire))).toEqual(plain(Message.decode(wire)));
      expect(decodeSubscribeMessage(wire)).toEqual(Message.decode(wire));
    }
  });

  it("is what APIService.Subscribe decodes responses with (eager headers: a plain Map)", () => {
    const wire = Message.encode({
      offset: 3,
      stream: "s",
      headers: new Map([["subject", new Uint8Array([120])]]),
    });
    const m = APIService.Subscribe.responseDeserialize(wire);
    expect(m.headers.constructor).toBe(Map);
    expect(m).toEqual(Message.decode(wire));
  });

  it("headers are a plain Map, whole from the start: structuredClone (postMessage) keeps them", () => {
    const wire = Message.encode({
      headers: new Map([
        ["subject", new Uint8Array([120])],
        ["k", new Uint8Array([1, 2])],
      ]),
    });
    const clone = structuredClone(decodeSubscribeMessage(wire).headers);
    expect([...clone.keys()].sort()).toEqual(["k", "subject"]);
    expect([...(clone.get("k") ?? [])]).toEqual([1, 2]);
  });

  it("throws like Message.decode on malformed input", () => {
    for (const wire of [
      Buffer.from([0x1a, 0x05, 1, 2]),
      Buffer.from([0x08]),
      Buffer.from([0x4a, 0x02, 0x0a, 0x05]),
    ]) {
      expect(() => Message.decode(wire)).toThrow();
      expect(() => decodeSubscribeMessage(wire)).toThrow();
    }
  });

  it("returns views into the frame, not copies", () => {
    const wire = Message.encode({ value: new Uint8Array([1, 2, 3]) });
    const m = decodeSubscribeMessage(wire);
    expect(m.value.buffer).toBe(wire.buffer);
  });
});
