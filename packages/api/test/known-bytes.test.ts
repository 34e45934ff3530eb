import { describe, expect, it } from "vitest";
import {
  Ack,
  AckError,
  AckPolicy,
  CreateStreamRequest,
  FetchMetadataResponse,
  Message,
  PauseStreamRequest,
  PublishRequest,
  StartPosition,
  StopPosition,
  SubscribeRequest,
} from "../src/index.js";

/** Hex of bytes, for readable diffs. */
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
/** Builds bytes from hex with spaces. */
const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
/** Tag byte(s) for a field number and wire type, computed independently of the codec. */
const tag = (field: number, wireType: number): string => {
  let v = field * 8 + wireType;
  let out = "";
  while (v > 0x7f) {
    out += ((v & 0x7f) | 0x80).toString(16).padStart(2, "0");
    v >>>= 7;
  }
  return out + v.toString(16).padStart(2, "0");
};
const str = (s: string): string => Buffer.from([s.length]).toString("hex") + Buffer.from(s).toString("hex");
const VARINT = 0;
const LEN = 2;

describe("known bytes (hand-built from spec §2.3 field tables)", () => {
  it("CreateStreamRequest with every field set", () => {
    const msg = {
      subject: "foo",
      name: "bar",
      group: "g",
      replicationFactor: 3,
      partitions: 2,
      retentionMaxBytes: { value: 1024 },
      retentionMaxMessages: { value: 5 },
      retentionMaxAge: { value: 60000 },
      cleanerInterval: { value: 1 },
      segmentMaxBytes: { value: 2 },
      segmentMaxAge: { value: 3 },
      compactMaxGoroutines: { value: 4 },
      compactEnabled: { value: true },
      autoPauseTime: { value: 6 },
      autoPauseDisableIfSubscribers: { value: false },
      minIsr: { value: 2 },
      optimisticConcurrencyControl: { value: true },
      encryption: { value: true },
    };
    // Nullable wrappers: sub-message with field 1.
    const wrap = (field: number, inner: string) =>
      tag(field, LEN) + (inner.length / 2).toString(16).padStart(2, "0") + inner;
    const expected = [
      tag(1, LEN) + str("foo"),
      tag(2, LEN) + str("bar"),
      tag(3, LEN) + str("g"),
      `${tag(4, VARINT)}03`,
      `${tag(5, VARINT)}02`,
      wrap(6, `${tag(1, VARINT)}8008`), // 1024 = 0x80 0x08
      wrap(7, `${tag(1, VARINT)}05`),
      wrap(8, `${tag(1, VARINT)}e0d403`), // 60000
      wrap(9, `${tag(1, VARINT)}01`),
      wrap(10, `${tag(1, VARINT)}02`),
      wrap(11, `${tag(1, VARINT)}03`),
      wrap(12, `${tag(1, VARINT)}04`),
      wrap(13, `${tag(1, VARINT)}01`),
      wrap(14, `${tag(1, VARINT)}06`),
      wrap(15, ""), // NullableBool{false}: present but empty
      wrap(16, `${tag(1, VARINT)}02`),
      wrap(17, `${tag(1, VARINT)}01`),
      wrap(18, `${tag(1, VARINT)}01`),
    ].join("");
    expect(tag(16, LEN)).toBe("8201"); // two-byte tags from field 16 on
    const bytes = CreateStreamRequest.encode(msg);
    expect(hex(bytes)).toBe(expected);
    const back = CreateStreamRequest.decode(bytes);
    expect(back).toEqual(CreateStreamRequest.create(msg));
    expect(back.autoPauseDisableIfSubscribers).toEqual({ value: false });
    expect(CreateStreamRequest.decode(h(expected)).minIsr).toEqual({ value: 2 });
  });

  it("CreateStreamRequest: replicationFactor -1 is a 10-byte varint; unset wrappers are absent", () => {
    const bytes = CreateStreamRequest.encode({ name: "s", subject: "s", replicationFactor: -1 });
    expect(hex(bytes)).toBe(`0a0173` + `120173` + `20ffffffffffffffffff01`);
    const back = CreateStreamRequest.decode(bytes);
    expect(back.replicationFactor).toBe(-1);
    expect(back.retentionMaxBytes).toBeUndefined();
  });

  it("PublishRequest: every field, expectedOffset -1, headers map entries", () => {
    const bytes = PublishRequest.encode({
      key: h("6b"),
      value: h("76"),
      stream: "s",
      partition: 1,
      headers: new Map([["a", h("01")]]),
      ackInbox: "i",
      correlationId: "c",
      ackPolicy: AckPolicy.ALL,
      expectedOffset: -1,
    });
    const entry = `${tag(1, LEN)}${str("a")}${tag(2, LEN)}0101`;
    expect(hex(bytes)).toBe(
      `${tag(1, LEN)}016b${tag(2, LEN)}0176${tag(3, LEN)}${str("s")}${tag(4, VARINT)}01` +
        `${tag(5, LEN)}06${entry}${tag(6, LEN)}${str("i")}${tag(7, LEN)}${str("c")}${tag(8, VARINT)}01` +
        `${tag(9, VARINT)}ffffffffffffffffff01`,
    );
  });

  it("Message: the fields a subscriber receives, timestamp as nanoseconds", () => {
    const ts = 1_700_000_000_123_456_789n; // > 2^53: exact only as bigint
    const bytes = Message.encode({
      offset: 300,
      value: h("68656c6c6f"),
      timestamp: ts,
      stream: "st",
      partition: 2,
      subject: "sub",
      headers: { subject: h("737562"), reply: new Uint8Array(0) },
    });
    // 1700000000123456789 as varint, computed from its 7-bit groups.
    let v = ts;
    let tsHex = "";
    while (v > 0x7fn) {
      tsHex += Number((v & 0x7fn) | 0x80n)
        .toString(16)
        .padStart(2, "0");
      v >>= 7n;
    }
    tsHex += Number(v).toString(16).padStart(2, "0");
    const e1 = `${tag(1, LEN)}${str("subject")}${tag(2, LEN)}03737562`;
    const e2 = `${tag(1, LEN)}${str("reply")}${tag(2, LEN)}00`;
    expect(hex(bytes)).toBe(
      `${tag(1, VARINT)}ac02${tag(3, LEN)}0568656c6c6f${tag(4, VARINT)}${tsHex}${tag(5, LEN)}${str("st")}` +
        `${tag(6, VARINT)}02${tag(7, LEN)}${str("sub")}` +
        `${tag(9, LEN)}${(e1.length / 2).toString(16).padStart(2, "0")}${e1}` +
        `${tag(9, LEN)}${(e2.length / 2).toString(16).padStart(2, "0")}${e2}`,
    );
    const back = Message.decode(bytes);
    expect(back.timestamp).toBe(ts);
    expect(back.offset).toBe(300);
    expect([...back.headers.keys()]).toEqual(["subject", "reply"]);
    expect(back.headers.get("reply")).toEqual(new Uint8Array(0));
  });

  it("the empty first Subscribe frame is zero bytes and decodes to all defaults", () => {
    expect(Message.encode({}).length).toBe(0);
    const m = Message.decode(new Uint8Array(0));
    expect(m).toEqual(Message.create());
    expect(m.offset).toBe(0);
    expect(m.timestamp).toBe(0n);
    expect(m.headers.size).toBe(0);
  });

  it("SubscribeRequest: enums, JS-string int64s, nested Consumer, reverse = 12", () => {
    const bytes = SubscribeRequest.encode({
      stream: "s",
      startPosition: StartPosition.OFFSET,
      startOffset: 5,
      stopPosition: StopPosition.STOP_OFFSET,
      stopOffset: 9,
      consumer: { groupId: "g", groupEpoch: 7, consumerId: "c" },
      reverse: true,
    });
    const consumer = `${tag(1, LEN)}${str("g")}${tag(2, VARINT)}07${tag(3, LEN)}${str("c")}`;
    expect(hex(bytes)).toBe(
      `${tag(1, LEN)}${str("s")}${tag(3, VARINT)}01${tag(4, VARINT)}05${tag(8, VARINT)}01${tag(9, VARINT)}09` +
        `${tag(11, LEN)}08${consumer}${tag(12, VARINT)}01`,
    );
  });

  it("PauseStreamRequest: packed repeated int32; decoder accepts unpacked too", () => {
    const bytes = PauseStreamRequest.encode({ name: "s", partitions: [0, 1, 300], resumeAll: true });
    expect(hex(bytes)).toBe(`${tag(1, LEN)}${str("s")}${tag(2, LEN)}040001ac02${tag(3, VARINT)}01`);
    const unpacked = h(`${tag(2, VARINT)}00${tag(2, VARINT)}01${tag(2, VARINT)}ac02`);
    expect(PauseStreamRequest.decode(unpacked).partitions).toEqual([0, 1, 300]);
  });

  it("Ack: error ack fields", () => {
    const bytes = Ack.encode({
      stream: "s",
      ackInbox: "i",
      correlationId: "c",
      ackError: AckError.TOO_LARGE,
    });
    expect(hex(bytes)).toBe(
      `${tag(1, LEN)}${str("s")}${tag(5, LEN)}${str("i")}${tag(6, LEN)}${str("c")}${tag(10, VARINT)}03`,
    );
  });

  it("FetchMetadataResponse: map<int32, PartitionMetadata> with nested timestamps", () => {
    const resp = {
      brokers: [{ id: "b", host: "h", port: 9292 }],
      streamMetadata: [
        {
          name: "s",
          partitions: new Map([
            [0, { id: 0, leader: "b", highWatermark: -1, pauseTimestamps: { firstTimestamp: 1n } }],
          ]),
        },
      ],
    };
    const bytes = FetchMetadataResponse.encode(resp);
    const broker = `${tag(1, LEN)}${str("b")}${tag(2, LEN)}${str("h")}${tag(3, VARINT)}cc48`; // 9292 = 0x244c: 0x4c|0x80, 0x48
    const pm = `${tag(2, LEN)}${str("b")}${tag(5, VARINT)}ffffffffffffffffff01${tag(10, LEN)}02${tag(1, VARINT)}01`;
    const entry = `${tag(1, VARINT)}00${tag(2, LEN)}${(pm.length / 2).toString(16).padStart(2, "0")}${pm}`;
    const sm = `${tag(1, LEN)}${str("s")}${tag(4, LEN)}${(entry.length / 2).toString(16).padStart(2, "0")}${entry}`;
    expect(hex(bytes)).toBe(
      `${tag(1, LEN)}${(broker.length / 2).toString(16).padStart(2, "0")}${broker}` +
        `${tag(2, LEN)}${(sm.length / 2).toString(16).padStart(2, "0")}${sm}`,
    );
    const back = FetchMetadataResponse.decode(bytes);
    expect(back.streamMetadata[0]?.partitions.get(0)?.highWatermark).toBe(-1);
    expect(back.streamMetadata[0]?.partitions.get(0)?.pauseTimestamps?.firstTimestamp).toBe(1n);
  });
});
