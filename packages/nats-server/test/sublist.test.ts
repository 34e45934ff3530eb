import { fc, test as propTest } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { isValidLiteralSubject, isValidSubject, subjectMatches } from "../src/subject.js";
import { Sublist } from "../src/sublist.js";

interface E {
  subject: string;
  queue: string | undefined;
  id: number;
}
let nextId = 0;
const e = (subject: string, queue?: string): E => ({ subject, queue, id: nextId++ });
const ids = (xs: readonly E[]) => xs.map((x) => x.id).sort((a, b) => a - b);

describe("subject validation", () => {
  it.each([
    ["foo", true, true],
    ["foo.bar", true, true],
    ["foo.*", true, false],
    ["foo.>", true, false],
    [">", true, false],
    ["*", true, false],
    ["foo.>.bar", false, false],
    ["foo..bar", false, false],
    [".foo", false, false],
    ["foo.", false, false],
    ["", false, false],
    ["foo bar", false, false],
    ["foo\tbar", false, false],
    ["foo*.bar", true, true],
    ["foo.b>r", true, true],
  ])("%j subject=%s literal=%s", (s, valid, literal) => {
    expect(isValidSubject(s)).toBe(valid);
    expect(isValidLiteralSubject(s)).toBe(literal);
  });
});

describe("Sublist", () => {
  it("matches literals, * and >", () => {
    const sl = new Sublist<E>();
    const a = e("foo.bar");
    const b = e("foo.*");
    const c = e("foo.>");
    const d = e(">");
    const f = e("*.bar");
    const g = e("foo.bar.baz");
    for (const x of [a, b, c, d, f, g]) sl.insert(x);
    expect(ids(sl.match("foo.bar").psubs)).toEqual(ids([a, b, c, d, f]));
    expect(ids(sl.match("foo.bar.baz").psubs)).toEqual(ids([c, d, g]));
    expect(ids(sl.match("foo").psubs)).toEqual(ids([d]));
    expect(sl.match("foo..bar").psubs).toEqual([]);
    expect(sl.count).toBe(6);
  });

  it("groups queue subscribers", () => {
    const sl = new Sublist<E>();
    const q1 = e("a.b", "q");
    const q2 = e("a.*", "q");
    const r1 = e("a.b", "r");
    const p = e("a.b");
    for (const x of [q1, q2, r1, p]) sl.insert(x);
    const r = sl.match("a.b");
    expect(ids(r.psubs)).toEqual([p.id]);
    expect(r.qsubs.map(ids).sort()).toEqual([ids([q1, q2]), [r1.id]].sort());
  });

  it("keeps cached results correct across inserts and removes", () => {
    const sl = new Sublist<E>();
    const a = e("x.y");
    sl.insert(a);
    expect(ids(sl.match("x.y").psubs)).toEqual([a.id]);
    expect(sl.cacheCount).toBe(1);
    const w = e("x.*");
    sl.insert(w);
    expect(ids(sl.match("x.y").psubs)).toEqual(ids([a, w]));
    expect(sl.remove(a)).toBe(true);
    expect(sl.remove(a)).toBe(false);
    expect(ids(sl.match("x.y").psubs)).toEqual([w.id]);
    sl.remove(w);
    expect(sl.match("x.y").psubs).toEqual([]);
    expect(sl.count).toBe(0);
  });

  it("routes a literal subject with one cache lookup however many subscriptions exist", () => {
    const sl = new Sublist<E>();
    for (let i = 0; i < 20_000; i++) sl.insert(e(`svc.${i}.req`));
    const first = sl.match("svc.7.req");
    expect(sl.match("svc.7.req")).toBe(first);
  });

  const token = fc.constantFrom("a", "b", "c");
  const literal = fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => t.join("."));
  const pattern = fc
    .array(fc.constantFrom("a", "b", "c", "*"), { minLength: 1, maxLength: 4 })
    .chain((t) => fc.boolean().map((fwc) => (fwc ? [...t.slice(0, -1), ">"] : t).join(".")));
  const op = fc.oneof(
    fc.record({
      kind: fc.constant("insert" as const),
      subject: pattern,
      queue: fc.option(fc.constantFrom("q1", "q2"), { nil: undefined }),
    }),
    fc.record({ kind: fc.constant("remove" as const), index: fc.nat(50) }),
    fc.record({ kind: fc.constant("match" as const), subject: literal }),
  );

  propTest.prop([fc.array(op, { maxLength: 80 }), fc.integer({ min: 1, max: 8 })])(
    "agrees with a linear scan (with a tiny cache to exercise eviction)",
    (ops, cacheSize) => {
      const sl = new Sublist<E>(cacheSize);
      const live: E[] = [];
      for (const o of ops) {
        if (o.kind === "insert") {
          const x = e(o.subject, o.queue);
          sl.insert(x);
          live.push(x);
        } else if (o.kind === "remove") {
          if (live.length === 0) continue;
          const [x] = live.splice(o.index % live.length, 1);
          expect(sl.remove(x as E)).toBe(true);
        } else {
          const r = sl.match(o.subject);
          const want = live.filter((x) => subjectMatches(x.subject, o.subject));
          expect(ids(r.psubs)).toEqual(ids(want.filter((x) => x.queue === undefined)));
          expect(ids(r.qsubs.flat())).toEqual(ids(want.filter((x) => x.queue !== undefined)));
        }
      }
      expect(sl.count).toBe(live.length);
    },
  );
});
