import type { Metadata, MetadataInit } from "./metadata.js";
import { type Status, statusName } from "./status.js";

/**
 * A gRPC call's non-OK outcome: a status code, a human-readable `details` string (the `grpc-message`) and
 * trailing metadata.
 *
 * Server handlers throw it to end a call with that status; client calls reject with it. Its `code` is the
 * numeric {@link Status}; `message` is prefixed with the status name (`[not_found] ...`) for logs, while
 * `details` holds the text that travels on the wire.
 */
export class GrpcError extends Error {
  override readonly name = "GrpcError";
  /** The gRPC status code. */
  readonly code: Status;
  /** The status message as sent in `grpc-message` (not prefixed). */
  readonly details: string;
  /** Trailing metadata: what the server sends with the status, or what the client received. */
  readonly metadata: Metadata;

  constructor(code: Status, details: string, metadata?: MetadataInit, options?: ErrorOptions) {
    super(`[${statusName(code).toLowerCase()}] ${details}`, options);
    this.code = code;
    this.details = details;
    this.metadata = metadata === undefined ? {} : normalizeInit(metadata);
  }
}

function normalizeInit(init: MetadataInit): Metadata {
  const out: Record<string, (string | Buffer)[]> = {};
  for (const [key, value] of Object.entries(init)) {
    const values = Array.isArray(value) ? value : [value];
    out[key.toLowerCase()] = values.map((v: string | Uint8Array) =>
      typeof v === "string" ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength),
    );
  }
  return out as Metadata;
}

/**
 * Returns true when `e` is a {@link GrpcError} (checked structurally, so duplicate installs still match),
 * optionally with the given status code.
 */
export function isGrpcError(e: unknown, code?: Status): e is GrpcError {
  if (typeof e !== "object" || e === null) return false;
  const candidate = e as { name?: unknown; code?: unknown; details?: unknown };
  if (candidate.name !== "GrpcError" || typeof candidate.code !== "number") return false;
  return code === undefined || candidate.code === code;
}
