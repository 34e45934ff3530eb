/**
 * Encryption at rest of message values (spec internals §1.2.1, api §3 "Encryption at rest").
 *
 * Envelope encryption: each partition (per process) draws one random 32-byte AES-256 data key,
 * wraps it under the master key with AES key wrap with padding (RFC 5649, Tink "KWP") and seals every
 * value with AES-256-GCM under the data key. A stored value is
 * `[1 byte L][L bytes wrapped data key][12-byte nonce][ciphertext][16-byte tag]`, so a value carries
 * the key that opens it and a log survives restarts (new data key per process) as long as the master
 * key stays the same. Keys and headers are not encrypted.
 *
 * The master key is the raw bytes of `LIFTBRIDGE_ENCRYPTION_KEY` (as upstream: the variable's bytes,
 * not hex or base64) and must be 16 or 32 bytes long (Tink's KWP key sizes).
 * @module
 */
import { createCipheriv, createDecipheriv, randomBytes as nodeRandomBytes } from "node:crypto";
import { crc32c } from "@liftbridge/commitlog";
import { BrokerError, BrokerErrorCode } from "./errors.js";

/** Environment variable holding the master key (read by the server, never through the config). */
export const ENCRYPTION_KEY_ENV = "LIFTBRIDGE_ENCRYPTION_KEY";
/** Size of a data key (AES-256). */
export const DATA_KEY_SIZE = 32;
/** Size of a GCM nonce. */
export const NONCE_SIZE = 12;
/** Size of a GCM tag. */
export const TAG_SIZE = 16;
/** Alternative initial value of RFC 5649 §3 (the "AIV" prefix), as node:crypto wants it. */
const KWP_IV = Buffer.from("a65959a6", "hex");
/** How many foreign wrapped data keys a cipher keeps unwrapped (earlier processes' keys). */
const UNWRAPPED_CACHE_SIZE = 64;

const KWP_BY_KEY_SIZE: Readonly<Record<number, string>> = {
  16: "id-aes128-wrap-pad",
  24: "id-aes192-wrap-pad",
  32: "id-aes256-wrap-pad",
};

function kwpCipherName(kek: Uint8Array): string {
  const name = KWP_BY_KEY_SIZE[kek.byteLength];
  if (name === undefined) {
    throw new BrokerError(BrokerErrorCode.Encryption, "key-encryption key must be 16, 24 or 32 bytes");
  }
  return name;
}

/**
 * Wraps `key` under `kek` with AES key wrap with padding (RFC 5649). The result is 8 bytes longer
 * than `key` rounded up to 8. Throws `encryption` on a bad `kek` size or an empty `key`.
 */
export function wrapKey(kek: Uint8Array, key: Uint8Array): Buffer {
  if (key.byteLength === 0) throw new BrokerError(BrokerErrorCode.Encryption, "cannot wrap an empty key");
  try {
    const c = createCipheriv(kwpCipherName(kek), kek, KWP_IV);
    return Buffer.concat([c.update(key), c.final()]);
  } catch (e) {
    if (e instanceof BrokerError) throw e;
    throw new BrokerError(BrokerErrorCode.Encryption, "key wrap failed", { cause: e });
  }
}

/**
 * Unwraps an RFC 5649 wrapped key. Throws `encryption` when the integrity check fails, that is when
 * `kek` is not the key `wrapped` was made with or the bytes were altered.
 */
export function unwrapKey(kek: Uint8Array, wrapped: Uint8Array): Buffer {
  const name = kwpCipherName(kek);
  if (wrapped.byteLength < 16 || wrapped.byteLength % 8 !== 0) {
    throw new BrokerError(BrokerErrorCode.Encryption, "wrapped key has an invalid length");
  }
  try {
    const d = createDecipheriv(name, kek, KWP_IV);
    return Buffer.concat([d.update(wrapped), d.final()]);
  } catch (e) {
    throw new BrokerError(
      BrokerErrorCode.Encryption,
      "data key does not unwrap under this master key (a different LIFTBRIDGE_ENCRYPTION_KEY?)",
      { cause: e },
    );
  }
}

/** Seals `plain` with AES-256-GCM (no associated data): `nonce || ciphertext || tag`. */
export function gcmSeal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array): Buffer {
  const c = createCipheriv("aes-256-gcm", key, nonce);
  const body = c.update(plain);
  c.final();
  return Buffer.concat([nonce, body, c.getAuthTag()]);
}

/** Opens `nonce || ciphertext || tag`; throws `encryption` when authentication fails. */
export function gcmOpen(key: Uint8Array, sealed: Uint8Array): Buffer {
  if (sealed.byteLength < NONCE_SIZE + TAG_SIZE) {
    throw new BrokerError(BrokerErrorCode.Encryption, "sealed value is too short");
  }
  const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  try {
    const d = createDecipheriv("aes-256-gcm", key, b.subarray(0, NONCE_SIZE));
    d.setAuthTag(b.subarray(b.length - TAG_SIZE));
    return Buffer.concat([d.update(b.subarray(NONCE_SIZE, b.length - TAG_SIZE)), d.final()]);
  } catch (e) {
    throw new BrokerError(BrokerErrorCode.Encryption, "sealed value failed authentication", { cause: e });
  }
}

/**
 * Checks and returns the master key: the raw bytes of `raw` (a string is taken as UTF-8, like the
 * bytes of an environment variable). Throws `encryption` when it is missing or not 16 or 32 bytes;
 * the message never contains the key.
 */
export function parseMasterKey(raw: string | Uint8Array | undefined): Buffer {
  if (raw === undefined || raw.length === 0) {
    throw new BrokerError(BrokerErrorCode.Encryption, `${ENCRYPTION_KEY_ENV} is not set`);
  }
  const key = typeof raw === "string" ? Buffer.from(raw, "utf8") : Buffer.from(raw);
  if (key.length !== 16 && key.length !== 32) {
    throw new BrokerError(
      BrokerErrorCode.Encryption,
      `${ENCRYPTION_KEY_ENV} must be 16 or 32 bytes long (got ${key.length})`,
    );
  }
  return key;
}

/** Seals and opens stored values of one partition. */
export interface ValueCipher {
  /** Seals a value into the stored layout (a null value is sealed as empty). Throws `encryption`. */
  seal(plain: Uint8Array | null): Buffer;
  /** Opens a stored value. Throws `encryption` on a malformed value, a foreign master key or tampering. */
  open(stored: Uint8Array): Buffer;
}

/** Options of {@link createValueCipher}. */
export interface ValueCipherOptions {
  /** Random bytes (data key, nonces); default `crypto.randomBytes`. */
  readonly randomBytes?: (n: number) => Buffer;
}

/**
 * Creates the cipher of one partition: a fresh random data key wrapped under `masterKey` (checked
 * with {@link parseMasterKey}). Values sealed by earlier processes carry their own wrapped data key;
 * `open` unwraps it (keeping the last few unwrapped). Safe to call concurrently (synchronous).
 */
export function createValueCipher(masterKey: Uint8Array, options: ValueCipherOptions = {}): ValueCipher {
  const rand = options.randomBytes ?? nodeRandomBytes;
  const master = parseMasterKey(masterKey);
  const dataKey = rand(DATA_KEY_SIZE);
  const wrapped = wrapKey(master, dataKey);
  if (wrapped.length > 255) throw new BrokerError(BrokerErrorCode.Encryption, "wrapped key too long");
  const prefix = Buffer.concat([Buffer.from([wrapped.length]), wrapped]);
  const wrappedHex = wrapped.toString("hex");
  const keys = new Map<string, Buffer>([[wrappedHex, dataKey]]);
  const empty = Buffer.alloc(0);

  const keyFor = (w: Buffer): Buffer => {
    const id = w.toString("hex");
    const hit = keys.get(id);
    if (hit !== undefined) return hit;
    const k = unwrapKey(master, w);
    if (k.length !== DATA_KEY_SIZE) {
      throw new BrokerError(BrokerErrorCode.Encryption, "unwrapped data key has the wrong size");
    }
    if (keys.size >= UNWRAPPED_CACHE_SIZE) {
      // Evict the oldest foreign key, never our own.
      for (const k2 of keys.keys()) {
        if (k2 !== wrappedHex) {
          keys.delete(k2);
          break;
        }
      }
    }
    keys.set(id, k);
    return k;
  };

  return {
    seal(plain) {
      const sealed = gcmSeal(dataKey, rand(NONCE_SIZE), plain ?? empty);
      return Buffer.concat([prefix, sealed]);
    },
    open(stored) {
      const b = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
      if (b.length < 1) throw new BrokerError(BrokerErrorCode.Encryption, "sealed value is empty");
      const l = b[0]!;
      if (b.length < 1 + l + NONCE_SIZE + TAG_SIZE) {
        throw new BrokerError(BrokerErrorCode.Encryption, "sealed value is too short");
      }
      return gcmOpen(keyFor(b.subarray(1, 1 + l)), b.subarray(1 + l));
    },
  };
}

/** Size of the set header of an entry (offset, timestamp, epoch, size; spec internals §1.2). */
const ENTRY_HEADER_SIZE = 28;
/** Position of the key length inside an entry: set header, crc u32, magic, attributes. */
const KEY_LEN_AT = ENTRY_HEADER_SIZE + 6;

/** Result of {@link openEntries}: the first `count` entries with plain values; `error` stopped it. */
export interface OpenedEntries {
  readonly bytes: Buffer;
  readonly count: number;
  /** Why the entry after the `count` opened ones could not be opened, and its offset. */
  readonly error?: { readonly offset: number; readonly cause: BrokerError };
}

/**
 * Rewrites `count` whole message-set entries with their values opened by `cipher` (sizes and CRCs
 * recomputed), for the Subscribe encoder; the result is never stored. Stops at the first value that
 * cannot be opened.
 */
export function openEntries(entries: Buffer, count: number, cipher: ValueCipher): OpenedEntries {
  const parts: Buffer[] = [];
  let p = 0;
  let n = 0;
  for (; n < count; n++) {
    const size = entries.readUInt32BE(p + 24);
    const end = p + ENTRY_HEADER_SIZE + size;
    let q = p + KEY_LEN_AT;
    const keyLen = entries.readInt32BE(q);
    q += 4 + Math.max(keyLen, 0);
    const valueLenAt = q;
    const valueLen = entries.readInt32BE(q);
    const valueAt = q + 4;
    const valueEnd = valueAt + Math.max(valueLen, 0);
    let plain: Buffer;
    try {
      plain = cipher.open(entries.subarray(valueAt, valueEnd));
    } catch (e) {
      const offset = entries.readUInt32BE(p) * 4294967296 + entries.readUInt32BE(p + 4);
      const cause =
        e instanceof BrokerError
          ? e
          : new BrokerError(BrokerErrorCode.Encryption, "open failed", { cause: e });
      return { bytes: fixCrcs(Buffer.concat(parts), n), count: n, error: { offset, cause } };
    }
    const head = Buffer.from(entries.subarray(p, valueLenAt + 4));
    head.writeUInt32BE(size - Math.max(valueLen, 0) + plain.length, 24);
    head.writeInt32BE(plain.length, valueLenAt - p);
    parts.push(head, plain, entries.subarray(valueEnd, end));
    p = end;
  }
  return { bytes: fixCrcs(Buffer.concat(parts), n), count: n };
}

function fixCrcs(buf: Buffer, count: number): Buffer {
  let p = 0;
  for (let i = 0; i < count; i++) {
    const end = p + ENTRY_HEADER_SIZE + buf.readUInt32BE(p + 24);
    buf.writeUInt32BE(crc32c(buf, p + ENTRY_HEADER_SIZE + 4, end), p + ENTRY_HEADER_SIZE);
    p = end;
  }
  return buf;
}
