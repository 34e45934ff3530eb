import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ApiErrorCode,
  Consumer,
  isApiError,
  JoinConsumerGroupResponse,
  Message,
  NullableInt32,
  NullableInt64,
  PartitionEventTimestamps,
  SubscribeRequest,
} from "../src/index.js";

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return isApiError(e) ? e.code : `not an ApiError: ${String(e)}`;
  }
  return undefined;
};

describe("int64 as number (offsets, epochs, counts)", () => {
  it.each([
    [0, ""],
    [1, "0801"],
    [127, "087f"],
    [128, "088001"],
    [2 ** 31, "088080808008"],
    [2 ** 32, "088080808010"],
    [Number.MAX_SAFE_INTEGER, "08ffffffffffffff0f"],
    [-1, "08ffffffffffffffffff01"],
    [-2, "08feffffffffffffffff01"],
    [Number.MIN_SAFE_INTEGER, "0881808080808080f0ff01"],
  ])("%d <-> %s", (value, bytes) => {
    expect(NullableInt64.encode({ value }).toString("hex")).toBe(bytes);
    expect(NullableInt64.decode(h(bytes)).value).toBe(value);
  });

  it("decoding a value outside the safe range throws out_of_range, never rounds", () => {
    expect(code(() => NullableInt64.decode(h("0880808080808080 10")))).toBe(ApiErrorCode.OutOfRange); // 2^53
    expect(code(() => NullableInt64.decode(h("08ffffffffffffffff7f")))).toBe(ApiErrorCode.OutOfRange); // 2^63-1
    expect(code(() => NullableInt64.decode(h("0880808080808080f0ff01")))).toBe(ApiErrorCode.OutOfRange); // -2^53
    expect(code(() => Consumer.decode(h("10ffffffffffffffffff01")))).toBe(ApiErrorCode.OutOfRange); // uint64 max
  });

  it("encoding rejects non-integers, unsafe integers and negative uint64", () => {
    for (const bad of [0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -(2 ** 53)]) {
      expect(code(() => NullableInt64.encode({ value: bad }))).toBe(ApiErrorCode.InvalidValue);
    }
    expect(code(() => Consumer.encode({ groupEpoch: -1 }))).toBe(ApiErrorCode.InvalidValue);
    expect(code(() => NullableInt32.encode({ value: 2 ** 31 }))).toBe(ApiErrorCode.InvalidValue);
    expect(code(() => NullableInt32.encode({ value: 1.5 }))).toBe(ApiErrorCode.InvalidValue);
  });

  it("any safe integer round-trips", () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (value) => {
        expect(NullableInt64.decode(NullableInt64.encode({ value })).value).toBe(value);
      }),
    );
  });
});

describe("int64 as bigint (nanosecond timestamps and timeouts)", () => {
  it("keeps nanosecond precision above 2^53", () => {
    const ts = 1_764_201_600_123_456_789n;
    expect(Number(ts) === Number(ts + 1n)).toBe(true); // a number would lose it
    const m = Message.decode(Message.encode({ timestamp: ts }));
    expect(m.timestamp).toBe(ts);
    const s = SubscribeRequest.decode(
      SubscribeRequest.encode({ startTimestamp: ts, stopTimestamp: ts + 1n }),
    );
    expect([s.startTimestamp, s.stopTimestamp]).toEqual([ts, ts + 1n]);
  });

  it("the whole int64 range round-trips; outside it is invalid_value", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (firstTimestamp) => {
        expect(
          PartitionEventTimestamps.decode(PartitionEventTimestamps.encode({ firstTimestamp })).firstTimestamp,
        ).toBe(firstTimestamp);
      }),
    );
    expect(code(() => Message.encode({ timestamp: 2n ** 63n }))).toBe(ApiErrorCode.InvalidValue);
    expect(code(() => Message.encode({ timestamp: 5 as unknown as bigint }))).toBe(ApiErrorCode.InvalidValue);
    expect(Message.encode({ timestamp: -1n }).toString("hex")).toBe("20ffffffffffffffffff01");
  });

  it("Go time.Duration timeouts (ns) keep their value", () => {
    const r = JoinConsumerGroupResponse.decode(
      JoinConsumerGroupResponse.encode({ coordinator: "a", epoch: 7, consumerTimeout: 15_000_000_000n }),
    );
    expect([r.epoch, r.consumerTimeout, r.coordinatorTimeout]).toEqual([7, 15_000_000_000n, 0n]);
  });
});
