import { test } from "@fast-check/vitest";
import fc from "fast-check";
import { describe, expect } from "vitest";
import { decodeMessage, encodeMessage, isRaftError, type Message, MsgType } from "../src/index.js";

const id = fc.string({ minLength: 1, maxLength: 5 });
const nat = fc.nat({ max: 2 ** 40 });
const entry = fc.record({
  index: nat,
  term: nat,
  kind: fc.constantFrom("normal" as const, "conf" as const, "noop" as const),
  data: fc.uint8Array({ maxLength: 20 }),
});
const message: fc.Arbitrary<Message> = fc.record({
  type: fc.constantFrom(...Object.values(MsgType)),
  from: id,
  to: id,
  term: nat,
  logTerm: nat,
  index: nat,
  entries: fc.array(entry, { maxLength: 4 }),
  commit: nat,
  reject: fc.boolean(),
  hintIndex: nat,
  hintTerm: fc.oneof(nat, fc.constant(-1)),
  context: fc.string({ maxLength: 10 }),
  seq: nat,
  transfer: fc.boolean(),
  snapshot: fc.option(
    fc.record({
      meta: fc.record({
        index: nat,
        term: nat,
        conf: fc.record({
          voters: fc.array(id, { maxLength: 3 }),
          votersOutgoing: fc.array(id, { maxLength: 3 }),
          learners: fc.array(id, { maxLength: 2 }),
          learnersNext: fc.array(id, { maxLength: 2 }),
          autoLeave: fc.boolean(),
        }),
      }),
      offset: nat,
      total: nat,
      data: fc.uint8Array({ maxLength: 20 }),
    }),
    { nil: null },
  ),
});

describe("message codec", () => {
  test.prop([message])("round-trips", (m) => {
    expect(decodeMessage(encodeMessage(m))).toEqual(m);
  });
  test.prop([fc.uint8Array({ maxLength: 64 })])("rejects garbage only with code corrupt", (b) => {
    try {
      decodeMessage(b);
    } catch (e) {
      expect(isRaftError(e, "corrupt")).toBe(true);
    }
  });
});
