/**
 * Index file codec (our format; documented in design.md). Pure functions.
 *
 * An index file is a sparse list of 16-byte entries, one for each record that starts at least
 * `indexIntervalBytes` after the previously indexed one:
 *   0  u32 relative offset (offset - base offset)
 *   4  u32 byte position of the entry's set header in the .log
 *   8  i64 the record's timestamp (ns)
 * A sealed or cleanly closed segment's index ends with a 64-byte trailer (below); a file without a
 * valid trailer, or whose trailer disagrees with the .log size, means "scan the .log to recover".
 */
import { crc32c } from "./crc32c.js";

/** Size of one index entry. */
export const INDEX_ENTRY_SIZE = 16;
/** Size of the trailer written when a segment is sealed or closed cleanly. */
export const TRAILER_SIZE = 64;
const TRAILER_MAGIC = 0x4c424958; // "LBIX"
const TRAILER_VERSION = 1;
const TWO_32 = 4294967296;

/** Segment summary stored in the trailer. Offsets are -1 and timestamps 0n for an empty segment. */
export interface SegmentTrailer {
  readonly logSize: number;
  readonly count: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly firstTimestamp: bigint;
  readonly lastTimestamp: bigint;
}

function putU64(b: Buffer, p: number, v: number): void {
  b.writeUInt32BE(Math.floor(v / TWO_32), p);
  b.writeUInt32BE(v >>> 0, p + 4);
}
function getU64(b: Buffer, p: number): number {
  return b.readUInt32BE(p) * TWO_32 + b.readUInt32BE(p + 4);
}

/** Encodes a trailer. Layout: magic, version, logSize, count, firstOffset+1, lastOffset+1, firstTs, lastTs, crc, magic. */
export function encodeTrailer(t: SegmentTrailer): Buffer {
  const b = Buffer.alloc(TRAILER_SIZE);
  b.writeUInt32BE(TRAILER_MAGIC, 0);
  b.writeUInt32BE(TRAILER_VERSION, 4);
  putU64(b, 8, t.logSize);
  putU64(b, 16, t.count);
  putU64(b, 24, t.firstOffset + 1);
  putU64(b, 32, t.lastOffset + 1);
  b.writeBigInt64BE(t.firstTimestamp, 40);
  b.writeBigInt64BE(t.lastTimestamp, 48);
  b.writeUInt32BE(crc32c(b, 0, 56), 56);
  b.writeUInt32BE(TRAILER_MAGIC, 60);
  return b;
}

/** Decodes a trailer from the last 64 bytes of `b`, or returns `null` when there is no valid one. */
export function decodeTrailer(b: Buffer): SegmentTrailer | null {
  if (b.length < TRAILER_SIZE || (b.length - TRAILER_SIZE) % INDEX_ENTRY_SIZE !== 0) return null;
  const t = b.subarray(b.length - TRAILER_SIZE);
  if (t.readUInt32BE(0) !== TRAILER_MAGIC || t.readUInt32BE(60) !== TRAILER_MAGIC) return null;
  if (t.readUInt32BE(4) !== TRAILER_VERSION || t.readUInt32BE(56) !== crc32c(t, 0, 56)) return null;
  return {
    logSize: getU64(t, 8),
    count: getU64(t, 16),
    firstOffset: getU64(t, 24) - 1,
    lastOffset: getU64(t, 32) - 1,
    firstTimestamp: t.readBigInt64BE(40),
    lastTimestamp: t.readBigInt64BE(48),
  };
}

/**
 * Checks that `entries` (a whole number of entries) is strictly increasing in relative offset and
 * position, with every position below `logSize`. Returns the number of leading valid entries.
 */
export function validEntryPrefix(entries: Buffer, logSize: number): number {
  const n = Math.floor(entries.length / INDEX_ENTRY_SIZE);
  let prevRel = -1;
  let prevPos = 0;
  for (let i = 0; i < n; i++) {
    const rel = entries.readUInt32BE(i * INDEX_ENTRY_SIZE);
    const pos = entries.readUInt32BE(i * INDEX_ENTRY_SIZE + 4);
    if (rel <= prevRel || pos <= prevPos || pos >= logSize) return i;
    prevRel = rel;
    prevPos = pos;
  }
  return n;
}
