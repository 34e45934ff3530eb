import { describe, expect, it } from "vitest";
import {
  AckError,
  AckPolicy,
  ApiErrorCode,
  crc32c,
  decodeEnvelope,
  decodeEnvelopeMessage,
  EnvelopeType,
  encodeAck,
  encodeEnvelope,
  encodeEnvelopeMessage,
  encodePublish,
  envelopeHeader,
  isApiError,
  Message,
  newMessage,
  sealEnvelope,
  tryUnmarshalMessage,
  unmarshalAck,
  unmarshalMessage,
} from "../src/index.js";

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

const expectApiError = (fn: () => unknown, code: ApiErrorCode): void => {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(isApiError(caught, code), String(caught)).toBe(true);
};

describe("envelope vectors (spec internals §2.1, api §2.6)", () => {
  it("publish of Message{value:'hello'}", () => {
    const expected = "b9 0e 43 b4 00 08 00 00 1a 05 68 65 6c 6c 6f";
    const hello = Buffer.from("hello");
    expect(hex(encodePublish({ value: hello }))).toBe(hex(h(expected)));
    expect(hex(newMessage(hello, { expectedOffset: 0 }))).toBe(hex(h(expected)));
    expect(hex(encodeEnvelope(EnvelopeType.Publish, Message.encode({ value: hello })))).toBe(
      hex(h(expected)),
    );
    const m = unmarshalMessage(h(expected));
    expect(Buffer.from(m.value).toString()).toBe("hello");
    expect(m.offset).toBe(0);
  });

  it("go-liftbridge default offset -1 adds field 1 as a 10-byte varint", () => {
    const expected = "b9 0e 43 b4 00 08 00 00 08 ff ff ff ff ff ff ff ff ff 01 1a 05 68 65 6c 6c 6f";
    expect(hex(newMessage(Buffer.from("hello")))).toBe(hex(h(expected)));
    expect(unmarshalMessage(h(expected)).offset).toBe(-1);
  });

  it("an all-default payload makes an exactly 8-byte envelope, which decodes", () => {
    const env = encodePublish({});
    expect(hex(env)).toBe("b90e43b400080000");
    expect(unmarshalMessage(env)).toEqual(Message.create());
  });

  it("newMessage carries key, headers, ack inbox, correlation id and ack policy", () => {
    const env = newMessage(Buffer.from("v"), {
      key: Buffer.from("k"),
      headers: { a: Buffer.from("1") },
      ackInbox: "inbox",
      correlationId: "cid",
      ackPolicy: AckPolicy.ALL,
      expectedOffset: 4,
    });
    const m = unmarshalMessage(env);
    expect(m.offset).toBe(4);
    expect(Buffer.from(m.key).toString()).toBe("k");
    expect(Buffer.from(m.headers.get("a")!).toString()).toBe("1");
    expect([m.ackInbox, m.correlationId, m.ackPolicy]).toEqual(["inbox", "cid", AckPolicy.ALL]);
  });

  it("ack envelopes: type 1", () => {
    const env = encodeAck({
      stream: "s",
      offset: 3,
      ackInbox: "i",
      ackError: AckError.OK,
      commitTimestamp: 5n,
    });
    expect(hex(env.subarray(0, 8))).toBe("b90e43b400080001");
    const ack = unmarshalAck(env);
    expect([ack.stream, ack.offset, ack.ackInbox, ack.commitTimestamp]).toEqual(["s", 3, "i", 5n]);
    expectApiError(() => unmarshalMessage(env), ApiErrorCode.UnexpectedType);
    expectApiError(() => unmarshalAck(newMessage(Buffer.from("x"))), ApiErrorCode.UnexpectedType);
  });

  it("CRC-32C: check value and optional envelope CRC", () => {
    expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    // RFC 3720 B.4: 32 bytes of zeros -> 0x8a9136aa.
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    const env = encodePublish({ value: Buffer.from("hello") }, { crc: true });
    const payload = h("1a 05 68 65 6c 6c 6f");
    const crc = crc32c(payload).toString(16).padStart(8, "0");
    expect(hex(env)).toBe(`b90e43b4000c0100${crc}${hex(payload)}`);
    expect(decodeEnvelope(env, EnvelopeType.Publish).crc).toBe(true);
    expect(Buffer.from(unmarshalMessage(env).value).toString()).toBe("hello");
    const bad = Buffer.from(env);
    bad[bad.length - 1] = bad.at(-1)! ^ 1;
    expectApiError(() => unmarshalMessage(bad), ApiErrorCode.ChecksumMismatch);
    // CRC flag with header length 8 is rejected.
    expectApiError(() => decodeEnvelope(h("b90e43b400080100 1a00")), ApiErrorCode.ChecksumMismatch);
    expect(hex(encodeEnvelope(EnvelopeType.Ack, payload, { crc: true }))).toBe(
      `b90e43b4000c0101${crc}${hex(payload)}`,
    );
    expect(hex(sealEnvelope(Buffer.concat([envelopeHeader(EnvelopeType.Ack, { crc: true }), payload])))).toBe(
      `b90e43b4000c0101${crc}${hex(payload)}`,
    );
  });

  it("decoder rules: length, magic, version, type, header length bounds", () => {
    expectApiError(() => decodeEnvelope(h("b90e43b4000800")), ApiErrorCode.NotEnvelope); // 7 bytes
    expectApiError(() => decodeEnvelope(h("b90e43b5000800001a00")), ApiErrorCode.NotEnvelope);
    expectApiError(() => decodeEnvelope(h("b90e43b4010800001a00")), ApiErrorCode.UnsupportedVersion);
    expectApiError(
      () => decodeEnvelope(h("b90e43b4000800021a00"), EnvelopeType.Publish),
      ApiErrorCode.UnexpectedType,
    );
    expectApiError(() => decodeEnvelope(h("b90e43b4002000001a00")), ApiErrorCode.Malformed); // headerLen 32 > 10
    expectApiError(() => decodeEnvelope(h("b90e43b4000400001a00")), ApiErrorCode.Malformed); // headerLen 4 < 8
    // A larger header length skips bytes (upstream slices data[headerLen:]).
    expect(hex(decodeEnvelope(h("b90e43b4000a0000ffff1a00")).payload)).toBe("1a00");
    // Internal types pass through with their type.
    const env = encodeEnvelope(EnvelopeType.PartitionNotification, h("0a0173"));
    expect(decodeEnvelope(env)).toEqual({ type: 14, payload: h("0a0173"), crc: false });
    expectApiError(() => envelopeHeader(15 as EnvelopeType), ApiErrorCode.InvalidValue);
  });

  it("tryUnmarshalMessage: plain data and corrupt envelopes are plain messages", () => {
    expect(tryUnmarshalMessage(Buffer.from("just some bytes"))).toBeUndefined();
    expect(tryUnmarshalMessage(new Uint8Array(0))).toBeUndefined();
    expect(tryUnmarshalMessage(h("b90e43b4000800001a05"))).toBeUndefined(); // truncated payload
    expect(tryUnmarshalMessage(encodeAck({}))).toBeUndefined();
    expect(tryUnmarshalMessage(newMessage(Buffer.from("x")))?.offset).toBe(-1);
  });
});

describe("envelopeHeader", () => {
  it("returns a fresh copy: mutating it does not change later envelopes", () => {
    const h1 = envelopeHeader(EnvelopeType.Publish);
    h1.fill(0);
    expect(hex(envelopeHeader(EnvelopeType.Publish))).toBe("b90e43b400080000");
    expect(hex(encodePublish({}))).toBe("b90e43b400080000");
  });
});

describe("encodeEnvelopeMessage / decodeEnvelopeMessage (internal types)", () => {
  it("round-trips an internal ReplicationRequest as type 2, with and without CRC", async () => {
    const { ReplicationRequest } = await import("../src/internal.js");
    for (const crc of [false, true]) {
      const env = encodeEnvelopeMessage(
        EnvelopeType.ReplicationRequest,
        ReplicationRequest,
        { replicaId: "b", offset: -1, leaderEpoch: 3 },
        { crc },
      );
      expect(env[7]).toBe(2);
      expect(env[5]).toBe(crc ? 12 : 8);
      expect(decodeEnvelopeMessage(env, EnvelopeType.ReplicationRequest, ReplicationRequest)).toEqual({
        replicaId: "b",
        offset: -1,
        leaderEpoch: 3,
      });
      expectApiError(
        () => decodeEnvelopeMessage(env, EnvelopeType.PartitionNotification, ReplicationRequest),
        ApiErrorCode.UnexpectedType,
      );
    }
  });
});
