import { test as fcTest } from "@fast-check/vitest";
import { type Ack, AckError } from "@liftbridge/api";
import { Cursor } from "@liftbridge/api/internal";
import { encodeMessageSet } from "@liftbridge/commitlog";
import { GrpcError, Status } from "@liftbridge/grpc";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CURSORS_STREAM,
  CursorManager,
  type CursorsHost,
  type CursorsLog,
  type CursorsOptions,
  type CursorsRawBatch,
  cursorKey,
  cursorsPartitionOf,
  type PendingAck,
  resolveCursorsOptions,
} from "../src/cursors.js";
import { isBrokerError } from "../src/errors.js";
import { type MetadataOp, MetadataState } from "../src/metadata.js";

/** An in-memory `__cursors` partition: records, a high watermark, a reader that yields one record per await. */
interface FakeRecord {
  readonly offset: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
}

class FakeLog implements CursorsLog {
  records: FakeRecord[] = [];
  highWatermark = -1;
  /** Awaited before each yielded batch: lets a test interleave other calls with a lookup. */
  gate: () => Promise<void> = () => Promise.resolve();
  get oldestOffset(): number {
    return this.records.length === 0 ? -1 : this.records[0]!.offset;
  }
  append(key: Uint8Array | null, value: Uint8Array | null): number {
    const offset = this.records.length === 0 ? 0 : this.records[this.records.length - 1]!.offset + 1;
    this.records.push({ offset, key, value });
    this.highWatermark = offset;
    return offset;
  }
  async *readRaw(o: { offset: number; committed: boolean }): AsyncIterable<CursorsRawBatch> {
    // Like a reader that stops at the end it saw when it started: records written meanwhile are missed.
    const end = o.committed ? this.highWatermark : this.records.length - 1;
    const todo = this.records.filter((r) => r.offset >= o.offset && r.offset <= end);
    // Real message-set entries (with the ingest headers), up to 3 per batch; one await per batch.
    const entry = (x: FakeRecord) => ({
      ...x,
      timestamp: 1n,
      leaderEpoch: 0,
      headers: [{ key: "subject", value: Buffer.from("ns.cursors") }],
    });
    for (let i = 0; i < todo.length; i += 3) {
      await this.gate();
      const chunk = todo.slice(i, i + 3);
      yield { bytes: encodeMessageSet(chunk.map(entry)), count: chunk.length };
    }
  }
}

type AckMode = "ok" | "hold" | "error";

/** A broker stand-in: metadata from the real FSM, fake logs, a publish that appends and acks. */
class FakeHost implements CursorsHost {
  readonly serverId = "s1";
  readonly namespace = "ns";
  readonly clusterSize = 1;
  readonly state = new MetadataState();
  readonly logs = new Map<number, FakeLog>();
  mode: AckMode = "ok";
  /** Acks held back in `hold` mode, with their release functions. */
  readonly held: (() => void)[] = [];
  proposals: MetadataOp[] = [];
  publishes = 0;
  #index = 1;

  constructor(partitions: number, leaders: (p: number) => string = () => "s1") {
    if (partitions > 0) {
      this.state.apply(this.#index++, {
        op: "create_stream",
        name: CURSORS_STREAM,
        subject: "ns.cursors",
        group: "",
        partitions,
        replicationFactor: 1,
        replicas: ["s1"],
        leader: "s1",
        config: { compactEnabled: true },
        creationTimestamp: "1",
      });
      const s = this.state.streams.get(CURSORS_STREAM)!;
      for (const p of s.partitions) {
        p.leader = leaders(p.id);
        this.logs.set(p.id, new FakeLog());
      }
    }
  }
  stream(name: string) {
    return this.state.streams.get(name);
  }
  log(stream: string, partition: number) {
    if (stream !== CURSORS_STREAM || this.stream(stream)?.partitions[partition]?.paused !== false) return;
    return this.logs.get(partition);
  }
  propose(op: MetadataOp) {
    this.proposals.push(op);
    if (op.op === "create_stream" && !this.state.streams.has(op.name)) {
      const res = this.state.apply(this.#index++, op);
      for (let p = 0; p < op.partitions; p++) this.logs.set(p, new FakeLog());
      return Promise.resolve(res);
    }
    return Promise.resolve(this.state.apply(this.#index++, op));
  }
  publish(subject: string, key: Uint8Array, value: Uint8Array): PendingAck {
    this.publishes++;
    const p = subject === "ns.cursors" ? 0 : Number(subject.slice("ns.cursors.".length));
    const log = this.logs.get(p)!;
    let cancelled = false;
    const mode = this.mode;
    const ack = new Promise<Ack>((resolve) => {
      const deliver = (): void => {
        const offset = log.append(key, value);
        if (!cancelled)
          resolve({ offset, ackError: mode === "error" ? AckError.TOO_LARGE : AckError.OK } as Ack);
      };
      if (mode === "hold") this.held.push(deliver);
      else queueMicrotask(deliver);
    });
    return { ack, cancel: () => (cancelled = true) };
  }
}

const codeOf = async (p: Promise<unknown>): Promise<{ code: number; details: string }> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof GrpcError) return { code: e.code, details: e.details };
    throw e;
  }
  throw new Error("expected a GrpcError");
};

const manager = (host: FakeHost, o: CursorsOptions = {}) => new CursorManager(host, o);

describe("routing (spec §0.9)", () => {
  it("crc32 IEEE of the key, mod partitions, identical to Go's crc32.ChecksumIEEE", () => {
    // Go: crc32.ChecksumIEEE([]byte("123456789")) == 0xCBF43926
    expect(cursorsPartitionOf(Buffer.from("123456789"), 2 ** 32 - 1)).toBe(0xcbf43926 % (2 ** 32 - 1));
    expect(cursorsPartitionOf(Buffer.from("123456789"), 7)).toBe(0xcbf43926 % 7);
    expect(cursorKey("c", "s", 3).toString()).toBe("c,s,3");
    expect(cursorKey("ü", "s", 0)).toEqual(Buffer.from("ü,s,0", "utf8"));
  });

  it("FailedPrecondition 'Server not leader for cursors partition N' when another server leads it", async () => {
    const host = new FakeHost(8, (p) => (p % 2 === 0 ? "s1" : "other"));
    const m = manager(host);
    let checked = 0;
    for (let i = 0; i < 40; i++) {
      const cp = cursorsPartitionOf(cursorKey(`c${i}`, "s", 0), 8);
      const set = codeOf(m.setCursor({ cursorId: `c${i}`, stream: "s", partition: 0, offset: 1 }));
      const fetch = codeOf(m.fetchCursor({ cursorId: `c${i}`, stream: "s", partition: 0 }));
      if (cp % 2 === 1) {
        const want = {
          code: Status.FAILED_PRECONDITION,
          details: `Server not leader for cursors partition ${cp}`,
        };
        expect(await set).toEqual(want);
        expect(await fetch).toEqual(want);
        checked++;
      } else {
        await expect(set).rejects.toThrow("expected a GrpcError");
        await expect(fetch).rejects.toThrow("expected a GrpcError");
      }
    }
    expect(checked).toBeGreaterThan(0);
    expect(host.logs.get(1)!.records).toEqual([]);
  });

  it.each([
    [{ cursorId: "c", stream: "", partition: 0 }, "No stream provided"],
    [{ cursorId: "", stream: "s", partition: 0 }, "No cursorId provided"],
  ])("%j -> InvalidArgument %s (before the stream check)", async (req, details) => {
    const m = manager(new FakeHost(0));
    expect(await codeOf(m.fetchCursor(req))).toEqual({ code: Status.INVALID_ARGUMENT, details });
    expect(await codeOf(m.setCursor({ ...req, offset: 1 }))).toEqual({
      code: Status.INVALID_ARGUMENT,
      details,
    });
  });

  it("Internal 'Cursors stream does not exist' without __cursors", async () => {
    const m = manager(new FakeHost(0));
    const want = { code: Status.INTERNAL, details: "Cursors stream does not exist" };
    expect(await codeOf(m.fetchCursor({ cursorId: "c", stream: "s", partition: 0 }))).toEqual(want);
    expect(await codeOf(m.setCursor({ cursorId: "c", stream: "s", partition: 0, offset: 0 }))).toEqual(want);
  });
});

describe("initialize", () => {
  it("creates __cursors when partitions > 0, compacted, with the auto-pause settings", async () => {
    const host = new FakeHost(0);
    await manager(host, { partitions: 3, autoPauseTimeMs: 500 }).initialize();
    expect(host.proposals).toMatchObject([
      {
        op: "create_stream",
        name: CURSORS_STREAM,
        subject: "ns.cursors",
        partitions: 3,
        replicationFactor: 1,
        config: { compactEnabled: true, autoPauseTimeMs: 500, autoPauseDisableIfSubscribers: true },
      },
    ]);
  });

  it("does nothing when disabled or when the stream exists; rejects an RF above the cluster size", async () => {
    const off = new FakeHost(0);
    await manager(off).initialize();
    expect(off.proposals).toEqual([]);
    const on = new FakeHost(2);
    on.proposals = [];
    await manager(on, { partitions: 5 }).initialize();
    expect(on.proposals).toEqual([]);
    expect(on.stream(CURSORS_STREAM)!.partitions).toHaveLength(2);
    const err = await manager(new FakeHost(0), { partitions: 1, replicationFactor: 3 })
      .initialize()
      .catch((e: unknown) => e);
    expect(isBrokerError(err, "invalid_argument")).toBe(true);
  });

  it("option checks", () => {
    expect(resolveCursorsOptions()).toEqual({
      partitions: 0,
      replicationFactor: -1,
      autoPauseTimeMs: 60_000,
      cacheSize: 512,
      timeoutMs: 5000,
    });
    for (const bad of [{ partitions: -1 }, { replicationFactor: 0 }, { cacheSize: 1.5 }, { timeoutMs: 0 }]) {
      expect(() => resolveCursorsOptions(bad)).toThrow(/cursors/);
    }
  });
});

describe("SetCursor / FetchCursor", () => {
  const req = { cursorId: "c", stream: "s", partition: 0 };

  it("stores a Cursor protobuf under the key; -1 when absent; the last value wins", async () => {
    const host = new FakeHost(1);
    const m = manager(host, { cacheSize: 0 });
    expect(await m.fetchCursor(req)).toBe(-1);
    await m.setCursor({ ...req, offset: 5 });
    await m.setCursor({ cursorId: "d", stream: "s", partition: 0, offset: 6 });
    await m.setCursor({ ...req, offset: 7 });
    const recs = host.logs.get(0)!.records;
    expect(recs.map((r) => Buffer.from(r.key!).toString())).toEqual(["c,s,0", "d,s,0", "c,s,0"]);
    expect(Cursor.decode(recs[2]!.value!)).toEqual({ stream: "s", partition: 0, cursorId: "c", offset: 7 });
    expect(await m.fetchCursor(req)).toBe(7);
    expect(await m.fetchCursor({ ...req, cursorId: "d" })).toBe(6);
    expect(await m.fetchCursor({ ...req, partition: 1 })).toBe(-1);
  });

  // Differential check of the in-place key scan against a naive oracle: keys that are prefixes of each
  // other, null keys and values, unrelated records, batches of several entries.
  fcTest.prop([
    fc.array(
      fc.record({
        key: fc.constantFrom<string | null>("c,s,0", "c,s,1", "c,s,10", "cc,s,0", "", null),
        offset: fc.integer({ min: -1, max: 2 ** 40 }),
        nullValue: fc.boolean(),
      }),
      { maxLength: 30 },
    ),
  ])("the lookup returns the value of the last record with the key", async (recs) => {
    const host = new FakeHost(1);
    const m = manager(host, { cacheSize: 0 });
    const log = host.logs.get(0)!;
    const oracle = new Map<string, number>();
    for (const r of recs) {
      const value = r.nullValue ? null : Cursor.encode({ cursorId: "any", stream: "s", offset: r.offset });
      log.append(r.key === null ? null : Buffer.from(r.key), value);
      if (r.key !== null && value !== null) oracle.set(r.key, r.offset);
    }
    for (const k of ["c,s,0", "c,s,1", "c,s,10", "cc,s,0"]) {
      const [cursorId, stream, partition] = k.split(",") as [string, string, string];
      expect(await m.fetchCursor({ cursorId, stream, partition: Number(partition) })).toBe(
        oracle.get(k) ?? -1,
      );
    }
  });

  it("LRU: hits do not read the log; the least recently used entry is evicted", async () => {
    const host = new FakeHost(1);
    const m = manager(host, { cacheSize: 2 });
    for (const id of ["a", "b"]) await m.setCursor({ ...req, cursorId: id, offset: id.charCodeAt(0) });
    let reads = 0;
    host.logs.get(0)!.gate = async () => {
      reads++;
    };
    expect(await m.fetchCursor({ ...req, cursorId: "a" })).toBe(97); // a is now the most recent
    expect(reads).toBe(0);
    await m.setCursor({ ...req, cursorId: "x", offset: 1 }); // evicts b
    expect(m.cacheSize).toBe(2);
    expect(await m.fetchCursor({ ...req, cursorId: "a" })).toBe(97);
    expect(reads).toBe(0);
    expect(await m.fetchCursor({ ...req, cursorId: "b" })).toBe(98);
    expect(reads).toBeGreaterThan(0);
  });

  it("Internal when the ack does not come in time (the call deadline) or carries an error; the entry is dropped", async () => {
    const host = new FakeHost(1);
    const m = manager(host);
    await m.setCursor({ ...req, offset: 1 });
    host.mode = "hold";
    const r = await codeOf(m.setCursor({ ...req, offset: 2 }, { deadline: Date.now() - 1 }));
    expect(r.code).toBe(Status.INTERNAL);
    expect(r.details).toContain("timed out");
    // The held write lands after the timeout: its late ack updates the cache (no log read needed).
    let reads = 0;
    host.logs.get(0)!.gate = async () => {
      reads++;
    };
    for (const deliver of host.held.splice(0)) deliver();
    await Promise.resolve();
    expect(await m.fetchCursor(req)).toBe(2);
    expect(reads).toBe(0);
    host.mode = "error";
    expect((await codeOf(m.setCursor({ ...req, offset: 3 }))).code).toBe(Status.INTERNAL);
    const ac = new AbortController();
    ac.abort();
    host.mode = "hold";
    expect((await codeOf(m.setCursor({ ...req, offset: 4 }, { signal: ac.signal }))).code).toBe(
      Status.CANCELLED,
    );
    // A write given up after it was published: close() stops waiting for its ack.
    const ac2 = new AbortController();
    const cancelled = m.setCursor({ ...req, offset: 5 }, { signal: ac2.signal });
    await Promise.resolve();
    ac2.abort();
    expect((await codeOf(cancelled)).code).toBe(Status.CANCELLED);
    m.close();
    for (const deliver of host.held.splice(0)) deliver();
    await Promise.resolve();
    expect(await m.fetchCursor(req)).toBe(5); // read from the log: the cache was not updated
    expect(reads).toBeGreaterThan(0);
  });

  it.each([
    ["nothing", false, false],
    ["a purge", true, false],
    ["an eviction", false, true],
  ])(
    "a lookup that overlaps a SetCursor of the same key (then %s) does not cache the older value",
    async (_, purge, evict) => {
      const host = new FakeHost(1);
      const m = manager(host, { cacheSize: 1 });
      await m.setCursor({ ...req, offset: 1 });
      m.purge();
      const log = host.logs.get(0)!;
      let release!: () => void;
      const blocked = new Promise<void>((r) => {
        release = r;
      });
      log.gate = () => blocked;
      const fetching = m.fetchCursor(req); // reads offset 1 ... but only after the set below
      await m.setCursor({ ...req, offset: 2 });
      if (purge) m.purge();
      if (evict) await m.setCursor({ ...req, cursorId: "other", offset: 0 });
      release();
      expect([1, 2]).toContain(await fetching);
      expect(await m.fetchCursor(req)).toBe(2);
    },
  );

  it("lookup failed -> Internal", async () => {
    const host = new FakeHost(1);
    const m = manager(host, { cacheSize: 0 });
    await m.setCursor({ ...req, offset: 1 });
    host.logs.get(0)!.gate = () => Promise.reject(new Error("disk on fire"));
    expect(await codeOf(m.fetchCursor(req))).toEqual({
      code: Status.INTERNAL,
      details: "looking up the cursor failed: disk on fire",
    });
  });

  it("resumes a paused __cursors partition before reading and writing", async () => {
    const host = new FakeHost(1);
    const m = manager(host);
    host.stream(CURSORS_STREAM)!.partitions[0]!.paused = true;
    expect(await m.fetchCursor(req)).toBe(-1);
    expect(host.proposals.at(-1)).toMatchObject({
      op: "resume_stream",
      name: CURSORS_STREAM,
      partitions: [0],
    });
    host.stream(CURSORS_STREAM)!.partitions[0]!.paused = true;
    await m.setCursor({ ...req, offset: 9 });
    expect(host.stream(CURSORS_STREAM)!.partitions[0]!.paused).toBe(false);
    expect(await m.fetchCursor(req)).toBe(9);
  });

  // Model check: any interleaving of sets, fetches and purges on a few keys. A fetch must return a value
  // at least as new as the last set acknowledged before it started, and never one newer than any set
  // started before it ended (values increase per key, so "newer" is ">").
  fcTest.prop(
    [
      fc.array(
        fc.record({
          kind: fc.constantFrom("set", "fetch", "fetch", "purge"),
          key: fc.integer({ min: 0, max: 3 }),
        }),
        { minLength: 1, maxLength: 40 },
      ),
      fc.integer({ min: 0, max: 3 }),
      fc.scheduler(),
    ],
    { numRuns: 200 },
  )("fetch never returns a value older than the last acknowledged set", async (ops, cacheSize, s) => {
    const host = new FakeHost(2);
    const m = manager(host, { cacheSize });
    for (const log of host.logs.values()) log.gate = s.scheduleFunction(async () => {});
    const acked = new Map<number, number>();
    const started = new Map<number, number>();
    let next = 0;
    const tasks: Promise<void>[] = [];
    for (const op of ops) {
      const r = { cursorId: `k${op.key}`, stream: "s", partition: 0 };
      if (op.kind === "purge") {
        tasks.push(s.schedule(Promise.resolve()).then(() => m.purge()));
      } else if (op.kind === "set") {
        tasks.push(
          s.schedule(Promise.resolve()).then(async () => {
            const v = ++next;
            started.set(op.key, Math.max(started.get(op.key) ?? -1, v));
            await m.setCursor({ ...r, offset: v });
            acked.set(op.key, Math.max(acked.get(op.key) ?? -1, v));
          }),
        );
      } else {
        tasks.push(
          s.schedule(Promise.resolve()).then(async () => {
            const floor = acked.get(op.key) ?? -1;
            const got = await m.fetchCursor(r);
            expect(got).toBeGreaterThanOrEqual(floor);
            expect(got).toBeLessThanOrEqual(started.get(op.key) ?? -1);
          }),
        );
      }
    }
    await s.waitFor(Promise.all(tasks));
    for (const log of host.logs.values()) log.gate = () => Promise.resolve();
    for (let k = 0; k < 4; k++) {
      expect(await m.fetchCursor({ cursorId: `k${k}`, stream: "s", partition: 0 })).toBe(acked.get(k) ?? -1);
    }
  });
});
