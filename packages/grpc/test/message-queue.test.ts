import { describe, expect, it } from "vitest";
import { MessageQueue } from "../src/message-queue.js";

describe("MessageQueue", () => {
  it("signals the high-water mark and calls onLow once the consumer catches up", async () => {
    let lows = 0;
    const q = new MessageQueue<number>(4, () => lows++);
    expect([1, 2, 3].map((i) => q.push(i))).toEqual([true, true, true]);
    expect(q.push(4)).toBe(false);
    const it = q[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(1);
    expect(lows).toBe(0);
    expect((await it.next()).value).toBe(2);
    expect(lows).toBe(1);
  });

  it("delivers queued items before the end or the failure", async () => {
    const q = new MessageQueue<number>(10, () => {});
    q.push(1);
    q.push(2);
    q.fail(new Error("boom"));
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const x of q) got.push(x);
      })(),
    ).rejects.toThrow("boom");
    expect(got).toEqual([1, 2]);
  });

  it("hands items straight to a waiting consumer and ends cleanly", async () => {
    const q = new MessageQueue<string>(1, () => {});
    const it = q[Symbol.asyncIterator]();
    const next = it.next();
    expect(q.push("a")).toBe(true);
    expect(await next).toEqual({ value: "a", done: false });
    const end = it.next();
    q.end();
    expect(await end).toEqual({ value: undefined, done: true });
  });

  it("takeAll empties the buffer for a switch to callbacks", () => {
    const q = new MessageQueue<number>(10, () => {});
    q.push(1);
    q.push(2);
    expect(q.takeAll()).toEqual([1, 2]);
    expect(q.size).toBe(0);
  });
});
