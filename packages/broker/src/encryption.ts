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
import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  type KeyObject,
  randomBytes as nodeRandomBytes,
} from "node:crypto";
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
/**
 * Seals under one data key before a new one is drawn: random 96-bit nonces stay far below the 2^32
 * invocations NIST SP 800-38D §8.3 allows per key.
 */
const MAX_SEALS_PER_DATA_KEY = 2 ** 30;
/** Nonces drawn from the random source at once (one call per this many seals). */
const NONCE_POOL = 256;

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
export function gcmSeal(key: Uint8Array | KeyObject, nonce: Uint8Array, plain: Uint8Array): Buffer {
  const c = createCipheriv("aes-256-gcm", key, nonce);
  const body = c.update(plain);
  c.final();
  return Buffer.concat([nonce, body, c.getAuthTag()], nonce.byteLength + body.length + TAG_SIZE);
}

/** Opens `nonce || ciphertext || tag`; throws `encryption` when authentication fails. */
export function gcmOpen(key: Uint8Array | KeyObject, sealed: Uint8Array): Buffer {
  if (sealed.byteLength < NONCE_SIZE + TAG_SIZE) {
    throw new BrokerError(BrokerErrorCode.Encryption, "sealed value is too short");
  }
  const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  try {
    const d = createDecipheriv("aes-256-gcm", key, b.subarray(0, NONCE_SIZE));
    d.setAuthTag(b.subarray(b.length - TAG_SIZE));
    const plain = d.update(b.subarray(NONCE_SIZE, b.length - TAG_SIZE));
    d.final(); // checks the tag; GCM returns no further bytes
    return plain;
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
  /** Seals under one data key before a new one is drawn; default 2^30. */
  readonly maxSealsPerDataKey?: number;
}

/**
 * Creates the cipher of one partition: a fresh random data key wrapped under `masterKey` (checked
 * with {@link parseMasterKey}), replaced after 2^30 seals. Nonces are random (96 bits). Values sealed
 * by earlier processes carry their own wrapped data key; `open` unwraps it (keeping the last 64
 * unwrapped). Safe to call concurrently (synchronous).
 */
export function createValueCipher(masterKey: Uint8Array, options: ValueCipherOptions = {}): ValueCipher {
  const rand = options.randomBytes ?? nodeRandomBytes;
  const maxSeals = options.maxSealsPerDataKey ?? MAX_SEALS_PER_DATA_KEY;
  const master = parseMasterKey(masterKey);
  const empty: Buffer = Buffer.alloc(0);
  /** Unwrapped data keys by wrapped key (hex); insertion order = age. KeyObjects: cheaper per cipher. */
  const keys = new Map<string, KeyObject>();
  let dataKey!: KeyObject;
  let wrappedHex = "";
  let prefix = empty;
  let sealed = 0;
  let noncePool = empty;
  let noncePos = 0;

  // The last wrapped key seen and its data key: the values of a log mostly share one.
  let lastWrapped = empty;
  let lastKey!: KeyObject;
  // A fresh data key (at creation, and after MAX_SEALS_PER_DATA_KEY random nonces under one key).
  const rotate = (): void => {
    const raw = rand(DATA_KEY_SIZE);
    dataKey = createSecretKey(raw);
    const wrapped = wrapKey(master, raw);
    if (wrapped.length > 255) throw new BrokerError(BrokerErrorCode.Encryption, "wrapped key too long");
    prefix = Buffer.concat([Buffer.from([wrapped.length]), wrapped]);
    wrappedHex = wrapped.toString("hex");
    remember(wrappedHex, dataKey);
    lastWrapped = wrapped;
    lastKey = dataKey;
    sealed = 0;
  };
  const remember = (id: string, key: KeyObject): void => {
    if (keys.size >= UNWRAPPED_CACHE_SIZE) {
      // Evict the oldest key, never the one sealing now.
      for (const old of keys.keys()) {
        if (old !== wrappedHex) {
          keys.delete(old);
          break;
        }
      }
    }
    keys.set(id, key);
  };
  const keyFor = (w: Buffer): KeyObject => {
    if (lastWrapped.length > 0 && w.equals(lastWrapped)) return lastKey;
    const id = w.toString("hex");
    let k = keys.get(id);
    if (k === undefined) {
      const raw = unwrapKey(master, w);
      if (raw.length !== DATA_KEY_SIZE) {
        throw new BrokerError(BrokerErrorCode.Encryption, "unwrapped data key has the wrong size");
      }
      k = createSecretKey(raw);
      remember(id, k);
    }
    lastWrapped = Buffer.from(w);
    lastKey = k;
    return k;
  };
  rotate();

  return {
    seal(plain) {
      const value = plain ?? empty;
      if (sealed >= maxSeals) rotate();
      sealed++;
      if (noncePos + NONCE_SIZE > noncePool.length) {
        noncePool = rand(NONCE_SIZE * NONCE_POOL);
        noncePos = 0;
      }
      const nonce = noncePool.subarray(noncePos, noncePos + NONCE_SIZE);
      noncePos += NONCE_SIZE;
      const c = createCipheriv("aes-256-gcm", dataKey, nonce);
      const body = c.update(value);
      c.final();
      const out = Buffer.allocUnsafe(prefix.length + NONCE_SIZE + body.length + TAG_SIZE);
      let o = prefix.copy(out, 0);
      o += nonce.copy(out, o);
      o += body.copy(out, o);
      c.getAuthTag().copy(out, o);
      return out;
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
  // A plain value is always shorter than its sealed form: the input size bounds the output.
  const out = Buffer.allocUnsafe(entries.length);
  let o = 0;
  let p = 0;
  let n = 0;
  for (; n < count; n++) {
    const size = entries.readUInt32BE(p + 24);
    const end = p + ENTRY_HEADER_SIZE + size;
    const keyLen = entries.readInt32BE(p + KEY_LEN_AT);
    const valueLenAt = p + KEY_LEN_AT + 4 + Math.max(keyLen, 0);
    const valueLen = entries.readInt32BE(valueLenAt);
    const valueAt = valueLenAt + 4;
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
      return { bytes: out.subarray(0, o), count: n, error: { offset, cause } };
    }
    const start = o;
    o += entries.copy(out, o, p, valueLenAt);
    o = out.writeInt32BE(plain.length, o);
    o += plain.copy(out, o);
    o += entries.copy(out, o, valueEnd, end);
    out.writeUInt32BE(o - start - ENTRY_HEADER_SIZE, start + 24);
    out.writeUInt32BE(crc32c(out, start + ENTRY_HEADER_SIZE + 4, o), start + ENTRY_HEADER_SIZE);
    p = end;
  }
  return { bytes: out.subarray(0, o), count: n };
}
