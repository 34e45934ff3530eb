/**
 * The Liftbridge NATS envelope (spec liftbridge-api.md §2.6, liftbridge-internals.md §2.1):
 *
 * ```
 * byte 0..3  magic      B9 0E 43 B4
 * byte 4     version    0
 * byte 5     headerLen  offset of the payload: 8, or 12 with a CRC
 * byte 6     flags      bit 0 = CRC-32C of the payload follows
 * byte 7     msgType    EnvelopeType
 * byte 8..11 CRC-32C    optional, big-endian
 * payload    protobuf (Message for Publish, Ack for Ack, internal.proto messages for the rest)
 * ```
 * Pure functions; used by the broker (ingest, acks, internal traffic) and by clients.
 * @module
 */

import { crc32c } from "./crc32c.js";
import { ApiError, ApiErrorCode } from "./errors.js";
import { Ack, type AckInit, type AckPolicy, Message, type MessageInit } from "./gen/api.js";
import type { MessageCodec } from "./wire/codec.js";

/** The four magic bytes that start every envelope. */
export const ENVELOPE_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0xb9, 0x0e, 0x43, 0xb4);
/** The only envelope version. */
export const ENVELOPE_VERSION = 0;
/** Header length without a CRC (what servers and the Go client always write). */
export const ENVELOPE_HEADER_LENGTH = 8;
/** Header length with a CRC-32C. */
export const ENVELOPE_HEADER_LENGTH_CRC = 12;
/** Flag bit 0: a CRC-32C of the payload follows the fixed header. */
export const ENVELOPE_FLAG_CRC = 0x01;

/**
 * Envelope message types (byte 7). 0 and 1 are client-visible; 2-14 are server-internal
 * (payloads from internal.proto; type 3 carries a ReplicationResponse).
 */
export const EnvelopeType = {
  Publish: 0,
  Ack: 1,
  ReplicationRequest: 2,
  ReplicationResponse: 3,
  RaftJoinRequest: 4,
  RaftJoinResponse: 5,
  LeaderEpochOffsetRequest: 6,
  LeaderEpochOffsetResponse: 7,
  PropagatedRequest: 8,
  PropagatedResponse: 9,
  ServerInfoRequest: 10,
  ServerInfoResponse: 11,
  PartitionStatusRequest: 12,
  PartitionStatusResponse: 13,
  PartitionNotification: 14,
} as const;
/** One of the {@link EnvelopeType} values. */
export type EnvelopeType = (typeof EnvelopeType)[keyof typeof EnvelopeType];

/** Options of {@link encodeEnvelope} and the message helpers. */
export interface EnvelopeOptions {
  /** Append a CRC-32C of the payload (header length 12). Default false, as upstream writes. */
  readonly crc?: boolean | undefined;
}

/** A decoded envelope: its type and a view of its payload (no copy). */
export interface Envelope {
  readonly type: number;
  readonly payload: Uint8Array;
  /** Whether the envelope carried a (verified) CRC. */
  readonly crc: boolean;
}

/** Builds the envelope header for a type; `crc` reserves the 4 CRC bytes (filled by {@link sealCrc}). */
function header(type: EnvelopeType, crc: boolean): Uint8Array {
  const h = new Uint8Array(crc ? ENVELOPE_HEADER_LENGTH_CRC : ENVELOPE_HEADER_LENGTH);
  h.set(ENVELOPE_MAGIC, 0);
  h[4] = ENVELOPE_VERSION;
  h[5] = h.length;
  h[6] = crc ? ENVELOPE_FLAG_CRC : 0;
  h[7] = type;
  return h;
}

const HEADERS: Uint8Array[] = Object.values(EnvelopeType).map((t) => header(t, false));
const HEADERS_CRC: Uint8Array[] = Object.values(EnvelopeType).map((t) => header(t, true));

function checkType(type: number): EnvelopeType {
  if (!Number.isInteger(type) || type < 0 || type > 14) {
    throw new ApiError(ApiErrorCode.InvalidValue, `envelope type ${type} is not 0..14`);
  }
  return type as EnvelopeType;
}

/** Writes the CRC-32C of `buf[12..]` into bytes 8..11 (big-endian). */
function sealCrc(buf: Buffer): Buffer {
  buf.writeUInt32BE(crc32c(buf, ENVELOPE_HEADER_LENGTH_CRC), ENVELOPE_HEADER_LENGTH);
  return buf;
}

/**
 * The header bytes to prepend to a payload of `type` (8 bytes, or 12 with a zero CRC field).
 * For one-allocation encoding pass it to a codec's `encodeWithPrefix`, then call
 * {@link sealEnvelope} when `crc` is set.
 */
export function envelopeHeader(type: EnvelopeType, options?: EnvelopeOptions): Uint8Array {
  return sharedHeader(type, options).slice();
}

/** The shared (never handed out) header bytes of a type. */
function sharedHeader(type: EnvelopeType, options?: EnvelopeOptions): Uint8Array {
  const t = checkType(type);
  return options?.crc === true ? HEADERS_CRC[t]! : HEADERS[t]!;
}

/** Fills the CRC field of an envelope built with a 12-byte {@link envelopeHeader}; returns it. */
export function sealEnvelope(envelope: Buffer): Buffer {
  return envelope[5] === ENVELOPE_HEADER_LENGTH_CRC ? sealCrc(envelope) : envelope;
}

/** Wraps an already encoded payload in an envelope (one copy of the payload). */
export function encodeEnvelope(type: EnvelopeType, payload: Uint8Array, options?: EnvelopeOptions): Buffer {
  const h = sharedHeader(type, options);
  const buf = Buffer.allocUnsafe(h.length + payload.byteLength);
  buf.set(h, 0);
  buf.set(payload, h.length);
  return sealEnvelope(buf);
}

/** Tells whether `data` starts with the envelope magic and is long enough for a header. */
export function hasEnvelopeMagic(data: Uint8Array): boolean {
  return (
    data.byteLength >= ENVELOPE_HEADER_LENGTH &&
    data[0] === 0xb9 &&
    data[1] === 0x0e &&
    data[2] === 0x43 &&
    data[3] === 0xb4
  );
}

/**
 * Checks an envelope and returns its type and payload view, applying the server's rules
 * (spec internals §2.1): at least 8 bytes; magic; version 0; type equal to `expectedType`
 * when given; with the CRC flag, header length exactly 12 and a matching CRC-32C. The header
 * length must lie in 8..length (Go slices without a bounds check and panics; we reject).
 * An 8-byte envelope is valid: its payload is an all-default message.
 * @throws ApiError `not_envelope`, `unsupported_version`, `unexpected_type`, `checksum_mismatch`, `malformed`.
 */
export function decodeEnvelope(data: Uint8Array, expectedType?: EnvelopeType): Envelope {
  const start = payloadStart(data, expectedType);
  return { type: data[7]!, payload: data.subarray(start), crc: (data[6]! & ENVELOPE_FLAG_CRC) !== 0 };
}

/** Checks an envelope (rules of {@link decodeEnvelope}) and returns where its payload starts. */
function payloadStart(data: Uint8Array, expectedType?: EnvelopeType): number {
  if (!hasEnvelopeMagic(data)) {
    throw new ApiError(ApiErrorCode.NotEnvelope, "data does not start with the Liftbridge envelope magic");
  }
  if (data[4] !== ENVELOPE_VERSION) {
    throw new ApiError(ApiErrorCode.UnsupportedVersion, `envelope version ${data[4]} (only 0 exists)`);
  }
  const type = data[7]!;
  if (expectedType !== undefined && type !== expectedType) {
    throw new ApiError(ApiErrorCode.UnexpectedType, `envelope type ${type}, expected ${expectedType}`);
  }
  const headerLen = data[5]!;
  const flags = data[6]!;
  const hasCrc = (flags & ENVELOPE_FLAG_CRC) !== 0;
  if (hasCrc) {
    if (headerLen !== ENVELOPE_HEADER_LENGTH_CRC || data.byteLength < ENVELOPE_HEADER_LENGTH_CRC) {
      throw new ApiError(ApiErrorCode.ChecksumMismatch, `CRC flag set but header length is ${headerLen}`);
    }
    const want = ((data[8]! << 24) | (data[9]! << 16) | (data[10]! << 8) | data[11]!) >>> 0;
    const got = crc32c(data, ENVELOPE_HEADER_LENGTH_CRC);
    if (want !== got)
      throw new ApiError(ApiErrorCode.ChecksumMismatch, "envelope CRC-32C does not match its payload");
  } else if (headerLen < ENVELOPE_HEADER_LENGTH || headerLen > data.byteLength) {
    throw new ApiError(ApiErrorCode.Malformed, `envelope header length ${headerLen} out of bounds`);
  }
  return headerLen;
}

/** Options of {@link newMessage}, mirroring go-liftbridge's MessageOption values. */
export interface NewMessageOptions extends EnvelopeOptions {
  readonly key?: Uint8Array | undefined;
  readonly headers?: ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>> | undefined;
  /** NATS subject the partition leader publishes the ack to; empty = no ack. */
  readonly ackInbox?: string | undefined;
  readonly correlationId?: string | undefined;
  readonly ackPolicy?: AckPolicy | undefined;
  /** Optimistic-concurrency expected offset; default -1 = no check (as go-liftbridge). */
  readonly expectedOffset?: number | undefined;
}

/**
 * Builds an enveloped publish (type 0) for sending straight to a partition's NATS subject, as
 * go-liftbridge `NewMessage` does: `Message{offset: expectedOffset ?? -1, key, value, headers,
 * ackInbox, correlationId, ackPolicy}`. One allocation. The spec example: value "hello" with
 * `expectedOffset: 0` gives `b9 0e 43 b4 00 08 00 00 1a 05 68 65 6c 6c 6f`.
 * @throws ApiError `invalid_value` for an unsafe expectedOffset.
 */
export function newMessage(value: Uint8Array, options: NewMessageOptions = {}): Buffer {
  return encodePublish(
    {
      offset: options.expectedOffset ?? -1,
      key: options.key,
      value,
      headers: options.headers,
      ackInbox: options.ackInbox,
      correlationId: options.correlationId,
      ackPolicy: options.ackPolicy,
    },
    options,
  );
}

/** Encodes a publish envelope (type 0) around `message`, in one allocation. */
export function encodePublish(message: MessageInit, options?: EnvelopeOptions): Buffer {
  return sealEnvelope(Message.encodeWithPrefix(message, sharedHeader(EnvelopeType.Publish, options)));
}

/** Encodes an ack envelope (type 1) around `ack`, in one allocation (what a partition leader sends). */
export function encodeAck(ack: AckInit, options?: EnvelopeOptions): Buffer {
  return sealEnvelope(Ack.encodeWithPrefix(ack, sharedHeader(EnvelopeType.Ack, options)));
}

/**
 * Decodes a publish envelope into its `Message` (go-liftbridge `UnmarshalMessage`).
 * @throws ApiError for a bad envelope (see {@link decodeEnvelope}) or a malformed payload.
 */
export function unmarshalMessage(data: Uint8Array): Message {
  return Message.decode(data, payloadStart(data, EnvelopeType.Publish));
}

/**
 * Decodes an ack envelope into its `Ack` (go-liftbridge `UnmarshalAck`).
 * @throws ApiError for a bad envelope (see {@link decodeEnvelope}) or a malformed payload.
 */
export function unmarshalAck(data: Uint8Array): Ack {
  return Ack.decode(data, payloadStart(data, EnvelopeType.Ack));
}

/**
 * The partition leader's ingest rule (spec internals §2.2 step 2): the `Message` of a valid
 * publish envelope, or `undefined` when `data` must be stored as a plain message (no magic, or
 * any decode failure, including a corrupt envelope). Never throws; no exception is created for
 * data without the magic (the plain-NATS fast path).
 */
export function tryUnmarshalMessage(data: Uint8Array): Message | undefined {
  if (!hasEnvelopeMagic(data) || data[7] !== EnvelopeType.Publish) return undefined;
  try {
    return unmarshalMessage(data);
  } catch {
    return undefined;
  }
}

/**
 * Encodes any message as an envelope of `type` in one allocation, e.g. an internal
 * `ReplicationRequest` (type 2) with the codec from `@liftbridge/api/internal`.
 * @throws ApiError `invalid_value` for a bad type or field value.
 */
export function encodeEnvelopeMessage<T, I>(
  type: EnvelopeType,
  codec: MessageCodec<T, I>,
  message: I,
  options?: EnvelopeOptions,
): Buffer {
  return sealEnvelope(codec.encodeWithPrefix(message, sharedHeader(type, options)));
}

/**
 * Checks an envelope of `type` (rules of {@link decodeEnvelope}) and decodes its payload with
 * `codec`, without copying or slicing the payload.
 * @throws ApiError for a bad envelope or a malformed payload.
 */
export function decodeEnvelopeMessage<T, I>(
  data: Uint8Array,
  type: EnvelopeType,
  codec: MessageCodec<T, I>,
): T {
  return codec.decode(data, payloadStart(data, type));
}
