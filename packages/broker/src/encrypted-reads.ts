/**
 * The Subscribe side of encryption at rest: values of an encrypted stream are opened before they are
 * encoded (spec internals §5.1 "value (decrypted)"). A value that does not open ends the subscription
 * with Internal "Failed to decrypt message: …" naming stream, partition and offset, after the messages
 * before it were delivered, and the server logs it naming the stream: never garbage.
 * @module
 */
import { LiftbridgeErrors } from "@liftbridge/api";
import { GrpcError, type Status } from "@liftbridge/grpc";
import type { BrokerCore } from "./broker.js";
import { ENCRYPTION_KEY_ENV, openEntries } from "./encryption.js";
import type { Partition } from "./partition.js";

/** Entries ready for the encoder; `error` (after them) ends the subscription. */
export interface OpenedBatch {
  readonly bytes: Buffer;
  readonly count: number;
  readonly error?: GrpcError;
}

/** Turns raw log entries into entries with plain values; identity for streams that are not encrypted. */
export type ValueOpener = (entries: Buffer, count: number) => OpenedBatch;

const decryptFailed = (detail: string): GrpcError =>
  new GrpcError(
    LiftbridgeErrors.decryptionFailed.status as Status,
    `${LiftbridgeErrors.decryptionFailed.message}: ${detail}`,
  );

/** The opener of one subscription to `part` (logs the first failure once). */
export function valueOpener(b: BrokerCore, part: Partition): ValueOpener {
  if (!part.encrypted) return (bytes, count) => ({ bytes, count });
  const stream = part.stream.name;
  const partition = part.meta.id;
  const where = `stream ${JSON.stringify(stream)} partition ${partition}`;
  const cipher = part.valueCipher;
  if (cipher === undefined) {
    return (bytes) => {
      b.log.error(
        { stream, partition },
        "cannot decrypt: stream is encrypted and the master key is unusable",
      );
      return {
        bytes: bytes.subarray(0, 0),
        count: 0,
        error: decryptFailed(
          `${where} is encrypted and this server has no usable ${ENCRYPTION_KEY_ENV} (${b.encryptionUnavailable ?? "unset"})`,
        ),
      };
    };
  }
  return (bytes, count) => {
    const r = openEntries(bytes, count, cipher);
    if (r.error === undefined) return { bytes: r.bytes, count: r.count };
    const offset = r.error.offset;
    b.log.error({ stream, partition, offset, err: r.error.cause }, "cannot decrypt stored message");
    return {
      bytes: r.bytes,
      count: r.count,
      error: decryptFailed(
        `${where} offset ${offset}: this server's ${ENCRYPTION_KEY_ENV} is not the key the message was written with`,
      ),
    };
  };
}
