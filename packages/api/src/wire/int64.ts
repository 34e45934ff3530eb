/**
 * The one place where protobuf 64-bit integers meet JavaScript numbers.
 *
 * Representation (chosen per field by the generator, scripts/generate.mjs `int64Kind`):
 * - **`number`** for offsets, epochs, indexes, counts, byte sizes and millisecond durations:
 *   every such value in Liftbridge fits a safe integer (|v| <= 2^53 - 1). Encoders throw
 *   `ApiError("invalid_value")` for a non-integer or unsafe number (and for a negative uint64);
 *   decoders throw `ApiError("out_of_range")` for a wire value outside the safe range instead
 *   of silently rounding it. -1 ("none", e.g. `expectedOffset`) is the 10-byte varint
 *   `ff ff ff ff ff ff ff ff ff 01`, as Go writes it.
 * - **`bigint`** for fields whose name ends in `Timestamp` or `Timeout`: Unix nanoseconds
 *   (about 1.8e18 today) and nanosecond durations do not fit 2^53, and rounding them would
 *   break timestamp lookups. Encoders throw `ApiError("invalid_value")` outside the
 *   int64/uint64 range.
 *
 * The `[jstype = JS_STRING]` option in api.proto is kept for wire-faithful copies and for
 * other JS generators (grpc proto-loader); it does not change the bytes, and this package
 * does not use strings for 64-bit values.
 * @module
 */
import { ApiError, ApiErrorCode } from "../errors.js";
import type { Reader } from "./reader.js";
import { varint32Size, varint64Size, writeVarint32, writeVarint64 } from "./writer.js";

const TWO_32 = 4294967296;

/** One 64-bit scratch cell seen as int64, uint64 and two uint32 halves (platform byte order). */
const SCRATCH_I64 = new BigInt64Array(1);
const SCRATCH_U64 = new BigUint64Array(SCRATCH_I64.buffer);
const SCRATCH_U32 = new Uint32Array(SCRATCH_I64.buffer);
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
/** The high half of a safe integer is at most 2^21 - 1. */
const MAX_SAFE_HI = 0x1fffff;

const invalid = (field: string, v: unknown, what: string): ApiError =>
  new ApiError(ApiErrorCode.InvalidValue, `${field}: ${String(v)} is not ${what}`);

/** Checks an int64 `number` field value before encoding. */
export function checkInt64(v: number, field: string): number {
  if (!Number.isSafeInteger(v)) throw invalid(field, v, "a safe integer");
  return v;
}

/** Checks a uint64 `number` field value before encoding. */
export function checkUint64(v: number, field: string): number {
  if (!Number.isSafeInteger(v) || v < 0) throw invalid(field, v, "a non-negative safe integer");
  return v;
}

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;
const MAX_UINT64 = 2n ** 64n - 1n;

/** Checks an int64 `bigint` field value before encoding (comparisons only: no allocation). */
export function checkInt64Big(v: bigint, field: string): bigint {
  if (typeof v !== "bigint" || v < MIN_INT64 || v > MAX_INT64) throw invalid(field, v, "an int64 bigint");
  return v;
}

/** Checks a uint64 `bigint` field value before encoding (comparisons only: no allocation). */
export function checkUint64Big(v: bigint, field: string): bigint {
  if (typeof v !== "bigint" || v < 0n || v > MAX_UINT64) throw invalid(field, v, "a uint64 bigint");
  return v;
}

/** Varint size of a (checked) safe integer, two's complement when negative. */
export function int64Size(v: number): number {
  if (v >= 0) return v < 0x10000000 ? varint32Size(v) : varint64Size(v >>> 0, Math.floor(v / TWO_32));
  return 10;
}

/** Writes a (checked) safe integer as a varint, two's complement when negative. */
export function writeInt64(buf: Uint8Array, pos: number, v: number): number {
  if (v >= 0 && v < 0x80000000) return writeVarint32(buf, pos, v);
  return writeVarint64(buf, pos, v >>> 0, Math.floor(v / TWO_32) >>> 0);
}

/**
 * Varint size of a (checked) int64 or uint64 bigint. Splits it into unsigned 32-bit halves
 * once and stores them in `halves[slot]` and `halves[slot + 1]`, where the write pass
 * ({@link writeBigHalves}) picks them up: no BigInt arithmetic is repeated.
 */
export function bigSize(v: bigint, halves: number[], slot: number): number {
  // Typed-array conversion: no BigInt arithmetic, no allocation (uint64 values >= 2^63 wrap
  // to the same 64 bits).
  SCRATCH_I64[0] = v;
  const lo = SCRATCH_U32[LO]!;
  const hi = SCRATCH_U32[HI]!;
  halves[slot] = lo;
  halves[slot + 1] = hi;
  return varint64Size(lo, hi);
}

/** Writes the varint whose halves {@link bigSize} stored at `halves[slot]`. */
export function writeBigHalves(buf: Uint8Array, pos: number, halves: number[], slot: number): number {
  return writeVarint64(buf, pos, halves[slot]!, halves[slot + 1]!);
}

/** Writes a (checked) int64 or uint64 bigint as a varint (standalone; codecs use the cached halves). */
export function writeBig(buf: Uint8Array, pos: number, v: bigint): number {
  SCRATCH_I64[0] = v;
  return writeVarint64(buf, pos, SCRATCH_U32[LO]!, SCRATCH_U32[HI]!);
}

const outOfRange = (kind: string): ApiError =>
  new ApiError(ApiErrorCode.OutOfRange, `${kind} value outside the safe integer range`);

/** Reads an int64 varint as a safe integer; throws `out_of_range` otherwise. */
export function readInt64(r: Reader): number {
  r.varint64();
  const lo = r.lo;
  const hi = r.hi;
  if (hi <= MAX_SAFE_HI) return hi * TWO_32 + lo;
  if (hi >= 0x80000000) {
    // Negative: magnitude is the two's complement of (hi, lo).
    const nlo = (~lo + 1) >>> 0;
    const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
    if (nhi <= MAX_SAFE_HI) return -(nhi * TWO_32 + nlo);
  }
  throw outOfRange("int64");
}

/** Reads a uint64 varint as a safe integer; throws `out_of_range` otherwise. */
export function readUint64(r: Reader): number {
  r.varint64();
  if (r.hi <= MAX_SAFE_HI) return r.hi * TWO_32 + r.lo;
  throw outOfRange("uint64");
}

/** The last value {@link readInt64Big} returned, and its halves: repeated timestamps allocate nothing. */
let lastBigLo = 0;
let lastBigHi = 0;
let lastBig = 0n;

/**
 * Reads an int64 varint as a bigint (exact; at most one BigInt allocated). The same value as the
 * previous call (e.g. the shared timestamp of a batch of messages) is returned without allocating.
 */
export function readInt64Big(r: Reader): bigint {
  r.varint64();
  const lo = r.lo;
  const hi = r.hi;
  if (lo === lastBigLo && hi === lastBigHi) return lastBig;
  SCRATCH_U32[LO] = lo;
  SCRATCH_U32[HI] = hi;
  const v = SCRATCH_I64[0]!;
  lastBigLo = lo;
  lastBigHi = hi;
  lastBig = v;
  return v;
}

/** Reads a uint64 varint as a bigint (exact; one BigInt allocated). */
export function readUint64Big(r: Reader): bigint {
  r.varint64();
  SCRATCH_U32[LO] = r.lo;
  SCRATCH_U32[HI] = r.hi;
  return SCRATCH_U64[0]!;
}
