import { RaftError, RaftErrorCode } from "../errors.js";
import type { ConfChange } from "./types.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Encodes a conf change as entry data. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  return enc.encode(JSON.stringify({ changes: cc.changes, transition: cc.transition ?? "auto" }));
}

/** Decodes entry data of a `conf` entry. Throws `corrupt` on malformed data. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  try {
    const v = JSON.parse(dec.decode(data)) as ConfChange;
    if (!Array.isArray(v.changes)) throw new Error("changes is not an array");
    return v;
  } catch (err) {
    throw new RaftError(RaftErrorCode.Corrupt, "malformed conf change entry", { cause: err });
  }
}
