import { test } from "@fast-check/vitest";
import { type Ack, PublishResponse } from "@liftbridge/api";
import fc from "fast-check";
import { describe, expect } from "vitest";
import { createPublishResponseEncoder } from "../src/publish-response-encoder.js";

const str = fc.string({ unit: "grapheme", maxLength: 24 });
const int64 = fc.oneof(fc.constant(0n), fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n));
const ack: fc.Arbitrary<Ack> = fc
  .record({
    stream: fc.constantFrom("", "orders", "é-stream"),
    partitionSubject: fc.constantFrom("", "orders", "orders.1"),
    msgSubject: str,
    offset: fc.oneof(fc.constant(0), fc.nat(), fc.maxSafeNat(), fc.integer({ min: -1000, max: -1 })),
    ackInbox: fc.constantFrom("", "lb.ack.x.1"),
    correlationId: str,
    ackPolicy: fc.integer({ min: -1, max: 2 }),
    receptionTimestamp: int64,
    commitTimestamp: int64,
    ackError: fc.integer({ min: -1, max: 4 }),
  })
  .map((a) => a as Ack);

describe("createPublishResponseEncoder", () => {
  test.prop([fc.array(fc.tuple(ack, str), { minLength: 1, maxLength: 8 })], { numRuns: 300 })(
    "encodes exactly as PublishResponse.encode, across calls that reuse its caches",
    (cases) => {
      const encode = createPublishResponseEncoder();
      for (const [a, correlationId] of cases) {
        const want = Buffer.from(PublishResponse.encode({ ack: a, correlationId }));
        expect(encode(a, correlationId)).toEqual(want);
      }
    },
  );
});
