import { describe, expect, it } from "vitest";
import {
  checkKvLinearizable,
  EventQueue,
  encodeKvCommand,
  formatSimFail,
  History,
  KvStateMachine,
  ManualClock,
  Prng,
  SimFs,
  SimNetwork,
  swizzleClogPlan,
  TraceRecorder,
} from "../src/index.js";

describe("Prng", () => {
  it("is deterministic per seed and forks independent streams", () => {
    const a = new Prng("0x1234");
    const b = new Prng(0x1234n);
    expect([a.nextU32(), a.nextU32()]).toEqual([b.nextU32(), b.nextU32()]);
    const f1 = new Prng(7n).fork("net");
    const p = new Prng(7n);
    p.nextU32();
    p.nextU32();
    const f2 = p.fork("net");
    expect(f1.nextU32()).toBe(f2.nextU32()); // forks depend on the seed, not the position
    expect(new Prng(7n).fork("disk").nextU32()).not.toBe(new Prng(7n).fork("net").nextU32());
  });
  it("draws floats in [0, 1)", () => {
    const p = new Prng(1n);
    for (let i = 0; i < 1000; i++) {
      const x = p.float();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });
});

describe("EventQueue and clocks", () => {
  it("orders by time then insertion", () => {
    const q = new EventQueue();
    const out: string[] = [];
    q.schedule(5, "x", "n", () => out.push("b"));
    q.schedule(1, "x", "n", () => out.push("a"));
    q.schedule(5, "x", "n", () => out.push("c"));
    while (q.step());
    expect(out).toEqual(["a", "b", "c"]);
    expect(q.now).toBe(5);
  });
  it("ManualClock runs due timers in order", () => {
    const c = new ManualClock();
    const out: number[] = [];
    c.setTimer(20, () => out.push(20));
    c.setTimer(10, () => out.push(10));
    c.setTimer(30, () => out.push(30)).cancel();
    c.advance(25);
    expect(out).toEqual([10, 20]);
    expect(c.now()).toBe(25);
  });
});

describe("SimNetwork", () => {
  it("blocks partitioned links and delivers copies", () => {
    const q = new EventQueue();
    const got: string[] = [];
    const net = new SimNetwork<string>({
      queue: q,
      prng: new Prng(1n),
      encode: (m) => new TextEncoder().encode(m),
      decode: (b) => new TextDecoder().decode(b),
      deliver: (to, m) => got.push(`${to}:${m}`),
    });
    net.bridge(["a"], "b", ["c"]);
    net.send("a", "c", "x");
    net.send("a", "b", "y");
    net.send("c", "b", "z");
    while (q.step());
    expect(got.sort()).toEqual(["b:y", "b:z"]);
    net.heal();
    net.oneWay("a", ["c"]);
    net.send("a", "c", "1");
    net.send("c", "a", "2");
    while (q.step());
    expect(got).toContain("a:2");
    expect(got).not.toContain("c:1");
  });
  it("plans swizzle-clog as clogs then unclogs of the same links", () => {
    const plan = swizzleClogPlan(new Prng(3n), ["a", "b", "c"], 10);
    const clogs = plan.filter((p) => p.op === "clog").map((p) => `${p.from}${p.to}`);
    const unclogs = plan.filter((p) => p.op === "unclog").map((p) => `${p.from}${p.to}`);
    expect([...unclogs].sort()).toEqual([...clogs].sort());
  });
});

describe("SimFs", () => {
  it("loses unsynced writes and unsynced names on crash", () => {
    const fs = new SimFs();
    fs.append("/d/a", new Uint8Array([1, 2]));
    fs.fsync("/d/a");
    fs.fsyncDir("/d");
    fs.append("/d/a", new Uint8Array([3]));
    fs.writeFile("/d/b", new Uint8Array([9]));
    fs.fsync("/d/b");
    fs.crash();
    expect([...fs.readFile("/d/a")!]).toEqual([1, 2]);
    expect(fs.readFile("/d/b")).toBeNull(); // the name was never made durable
  });
  it("keeps a prefix of unsynced writes, possibly torn", () => {
    const fs = new SimFs(new Prng(11n));
    fs.writeFile("/f", new Uint8Array(0));
    fs.fsync("/f");
    fs.fsyncDir("/");
    for (let i = 0; i < 10; i++) fs.append("/f", new Uint8Array([i, i, i, i]));
    fs.crash({ torn: true });
    const b = fs.readFile("/f")!;
    for (let i = 0; i < b.length; i++) expect(b[i]).toBe(Math.floor(i / 4));
  });
  it("flips bits in corruption mode", () => {
    const fs = new SimFs();
    fs.writeFile("/f", new Uint8Array(8));
    fs.flipBit("/f", new Prng(1n));
    expect(fs.readFile("/f")!.some((x) => x !== 0)).toBe(true);
  });
});

describe("linearizability checker", () => {
  it("accepts a linearizable history and rejects a stale read", () => {
    const h = new History();
    const w = h.invoke("p1", "write", "k", "1", 0);
    const r = h.invoke("p2", "read", "k", null, 0);
    h.complete(w, "ok", 1);
    h.complete(r, "ok", 2, "1"); // concurrent with the write: may see it
    const r2 = h.invoke("p2", "read", "k", null, 3);
    h.complete(r2, "ok", 4, "1");
    expect(checkKvLinearizable(h.ops).ok).toBe(true);
    const r3 = h.invoke("p3", "read", "k", null, 5);
    h.complete(r3, "ok", 6, null); // stale: the write completed before
    const res = checkKvLinearizable(h.ops);
    expect(res.ok).toBe(false);
    expect(res.badKey).toBe("k");
  });
  it("lets indeterminate writes take effect or not", () => {
    const h = new History();
    const w = h.invoke("p1", "write", "k", "1", 0);
    h.complete(w, "info", 1);
    const r = h.invoke("p2", "read", "k", null, 2);
    h.complete(r, "ok", 3, "1");
    const r2 = h.invoke("p2", "read", "k", null, 4);
    h.complete(r2, "ok", 5, "1");
    expect(checkKvLinearizable(h.ops).ok).toBe(true);
    const h2 = new History();
    const w2 = h2.invoke("p1", "write", "k", "1", 0);
    h2.complete(w2, "info", 1);
    const ra = h2.invoke("p2", "read", "k", null, 2);
    h2.complete(ra, "ok", 3, "1");
    const rb = h2.invoke("p2", "read", "k", null, 4);
    h2.complete(rb, "ok", 5, null); // value went away: not linearizable
    expect(checkKvLinearizable(h2.ops).ok).toBe(false);
  });
});

describe("KvStateMachine", () => {
  it("applies puts and cas idempotently and round-trips snapshots", () => {
    const kv = new KvStateMachine();
    expect(kv.apply(1, encodeKvCommand({ op: "put", key: "a", value: "1", id: "x" }))).toBe(true);
    expect(kv.apply(2, encodeKvCommand({ op: "cas", key: "a", expect: "0", value: "2", id: "y" }))).toBe(
      false,
    );
    expect(kv.apply(3, encodeKvCommand({ op: "put", key: "a", value: "9", id: "x" }))).toBe(true);
    expect(kv.get("a")).toBe("1");
    const copy = new KvStateMachine();
    copy.restore(kv.snapshot());
    expect(copy.get("a")).toBe("1");
    expect(copy.applyHash).toBe(kv.applyHash);
  });
});

describe("report", () => {
  it("formats one grep-able line and hashes traces", () => {
    const line = formatSimFail({
      pkg: "raft",
      seed: "0x01",
      commit: "abc",
      profile: "swarm/v1",
      event: 3,
      timeMs: 1500,
      invariant: "ElectionSafety",
      detail: "term=2",
    });
    expect(line).toBe(
      "SIM FAIL pkg=raft seed=0x01 commit=abc profile=swarm/v1 event=3 t=1.500s invariant=ElectionSafety term=2",
    );
    const a = new TraceRecorder();
    const b = new TraceRecorder();
    a.add("x");
    b.add("x");
    expect(a.hash).toBe(b.hash);
    b.add("y");
    expect(a.hash).not.toBe(b.hash);
  });
});
