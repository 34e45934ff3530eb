import { gunzipSync, inflateSync } from "node:zlib";
import { GrpcError } from "./errors.js";
import { Status } from "./status.js";

/** Message encodings this package can decode, in `grpc-accept-encoding` form. */
export const ACCEPT_ENCODING = "identity,gzip,deflate";

/** Returns true when a `grpc-encoding` value is one this package decodes. */
export function isSupportedEncoding(encoding: string): boolean {
  return encoding === "identity" || encoding === "gzip" || encoding === "deflate";
}

/**
 * Decompresses one message whose compressed flag is set. `maxBytes` bounds the output (zip bombs): the
 * limit applies after decompression. Throws a {@link GrpcError}: INTERNAL when the encoding is missing,
 * unsupported or the bytes are corrupt, RESOURCE_EXHAUSTED when the output exceeds `maxBytes`.
 */
export function decompressMessage(encoding: string | undefined, bytes: Buffer, maxBytes: number): Buffer {
  try {
    if (encoding === "gzip") return gunzipSync(bytes, { maxOutputLength: maxBytes });
    if (encoding === "deflate") return inflateSync(bytes, { maxOutputLength: maxBytes });
  } catch (e) {
    if ((e as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new GrpcError(
        Status.RESOURCE_EXHAUSTED,
        `decompressed message larger than max (${maxBytes})`,
        undefined,
        {
          cause: e,
        },
      );
    }
    throw new GrpcError(Status.INTERNAL, `cannot decompress ${encoding} message`, undefined, { cause: e });
  }
  if (encoding === undefined || encoding === "identity") {
    throw new GrpcError(Status.INTERNAL, "compressed flag set on a message without grpc-encoding");
  }
  throw new GrpcError(Status.INTERNAL, `compressed message with unsupported encoding ${encoding}`);
}
