import type { OutgoingHttpHeaders } from "node:http2";

/**
 * Received metadata: lower-case keys; each value list holds strings, or `Buffer`s for keys ending in `-bin`.
 * Reserved and pseudo headers (`:path`, `content-type`, `te`, `user-agent`, `grpc-*` except
 * `grpc-status-details-bin`) are not included.
 */
export type Metadata = Readonly<Record<string, readonly string[] | readonly Buffer[]>>;

/** A metadata value to send: a string for ASCII keys, bytes for keys ending in `-bin`. */
export type MetadataValue = string | Uint8Array;

/** Metadata to send: one value or a list of values per key. Keys are lower-cased. */
export type MetadataInit = Readonly<Record<string, MetadataValue | readonly MetadataValue[]>>;

// Headers that gRPC reserves or that belong to HTTP/2 itself; never surfaced as metadata and never sent
// from user metadata (PROTOCOL-HTTP2.md "Requests": custom metadata must not use these names).
const RESERVED = new Set([
  "content-type",
  "te",
  "user-agent",
  "content-length",
  "accept-encoding",
  "content-encoding",
  "host",
  "connection",
  "date",
  "transfer-encoding",
  "upgrade",
  "keep-alive",
  "proxy-connection",
]);

/** Returns true when `key` may carry user metadata. */
export function isUserMetadataKey(key: string): boolean {
  if (key.length === 0 || key.charCodeAt(0) === 0x3a /* ':' */) return false;
  if (RESERVED.has(key)) return false;
  // grpc-status-details-bin (the rich error model's google.rpc.Status) travels like user metadata.
  if (key.startsWith("grpc-")) return key === "grpc-status-details-bin";
  return /^[0-9a-z_.-]+$/.test(key);
}

/**
 * Builds {@link Metadata} from a node:http2 `rawHeaders` list (name, value, name, value, ...).
 *
 * Using the raw list keeps duplicate ASCII values apart (node joins them with ", " in the header object).
 * `-bin` values are base64 (padded or not) and may hold several comma-joined values.
 */
export function metadataFromRawHeaders(raw: readonly string[]): Metadata {
  const out: Record<string, string[] | Buffer[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = (raw[i] ?? "").toLowerCase();
    if (!isUserMetadataKey(key)) continue;
    const value = raw[i + 1] ?? "";
    let list = out[key];
    if (list === undefined) {
      list = [];
      out[key] = list;
    }
    if (key.endsWith("-bin")) {
      for (const part of value.split(",")) (list as Buffer[]).push(Buffer.from(part.trim(), "base64"));
    } else {
      (list as string[]).push(value);
    }
  }
  return out;
}

/**
 * Converts {@link MetadataInit} to node:http2 headers: keys lower-cased, `-bin` values base64-encoded
 * without padding, lists kept as repeated headers. Throws `TypeError` for a reserved or invalid key, or
 * a non-printable ASCII value.
 */
export function metadataToHeaders(
  init: MetadataInit | Metadata | undefined,
  into: OutgoingHttpHeaders,
): void {
  if (init === undefined) return;
  for (const rawKey of Object.keys(init)) {
    const key = rawKey.toLowerCase();
    if (!isUserMetadataKey(key))
      throw new TypeError(`metadata key ${JSON.stringify(rawKey)} is reserved or invalid`);
    const value = init[rawKey] as MetadataValue | readonly MetadataValue[];
    const list: readonly MetadataValue[] = Array.isArray(value) ? value : [value as MetadataValue];
    const encoded: string[] = [];
    for (const v of list) {
      if (key.endsWith("-bin")) {
        const bytes =
          typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
        encoded.push(bytes.toString("base64").replace(/=+$/, ""));
      } else {
        const s = typeof v === "string" ? v : Buffer.from(v).toString("latin1");
        if (!/^[\x20-\x7e]*$/.test(s))
          throw new TypeError(`metadata value of ${key} must be printable ASCII`);
        encoded.push(s);
      }
    }
    if (encoded.length === 0) continue;
    const prev = into[key];
    const merged =
      prev === undefined ? encoded : [...(Array.isArray(prev) ? prev : [String(prev)]), ...encoded];
    into[key] = merged.length === 1 ? merged[0] : merged;
  }
}

/**
 * Returns the first value of `key` in received metadata, or `undefined`. A convenience for the common
 * single-valued case.
 */
export function getMetadataValue(md: Metadata, key: string): string | Buffer | undefined {
  return md[key.toLowerCase()]?.[0];
}
