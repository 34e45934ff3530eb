import { mkdtempSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isBrokerError } from "../src/errors.js";
import { noopLogger } from "../src/logger.js";
import { type MetadataListener, MetadataState } from "../src/metadata.js";
import { MetadataRaft } from "../src/metadata-raft.js";
import { createStreamOp } from "./ops.js";

const create = createStreamOp;

function recorder(): MetadataListener & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    streamCreated: (s) => events.push(`created ${s.name}`),
    streamDeleted: (s) => events.push(`deleted ${s.name}`),
    partitionPaused: (p) => events.push(`paused ${p.stream}/${p.id}`),
    partitionResumed: (p) => events.push(`resumed ${p.stream}/${p.id}`),
    partitionReadonlyChanged: (p) => events.push(`readonly ${p.stream}/${p.id}=${p.readonly}`),
  };
}

describe("MetadataState", () => {
  it("applies ops, reports effects, and skips ops whose preconditions fail", () => {
    const s = new MetadataState();
    const l = recorder();
    expect(s.apply(5, create("a", 2), l)).toEqual({ ok: true });
    expect(s.apply(6, create("a"), l)).toEqual({ ok: false, reason: "stream_exists" });
    expect(s.streams.get("a")!.partitions.map((p) => [p.leaderEpoch, p.epoch, p.isr])).toEqual([
      [5, 5, ["s1"]],
      [5, 5, ["s1"]],
    ]);
    expect(
      s.apply(7, { op: "pause_stream", name: "a", partitions: [1], resumeAll: true, timestamp: "10" }, l).ok,
    ).toBe(true);
    expect(
      s.apply(8, { op: "pause_stream", name: "a", partitions: [2], resumeAll: false, timestamp: "10" }, l),
    ).toEqual({
      ok: false,
      reason: "no_such_partition",
    });
    expect(s.streams.get("a")!.resumeAll).toBe(true);
    expect(s.apply(9, { op: "resume_stream", name: "a", partitions: [], timestamp: "11" }, l).ok).toBe(true);
    expect(s.streams.get("a")!.resumeAll).toBe(false);
    expect(s.streams.get("a")!.partitions[1]!.pauseTimestamps).toEqual({ first: "10", latest: "11" });
    expect(
      s.apply(
        10,
        { op: "set_stream_readonly", name: "a", partitions: [0], readonly: true, timestamp: "12" },
        l,
      ).ok,
    ).toBe(true);
    expect(s.apply(11, { op: "delete_stream", name: "b" }, l)).toEqual({
      ok: false,
      reason: "no_such_stream",
    });
    expect(s.apply(12, { op: "delete_stream", name: "a" }, l).ok).toBe(true);
    expect(l.events).toEqual(["created a", "paused a/1", "resumed a/1", "readonly a/0=true", "deleted a"]);
  });

  it("round-trips through a snapshot", () => {
    const s = new MetadataState();
    s.apply(1, create("x", 3));
    s.apply(2, { op: "set_stream_readonly", name: "x", partitions: [], readonly: true, timestamp: "5" });
    const t = new MetadataState();
    t.restore(s.toSnapshot());
    expect([...t.streams.values()]).toEqual([...s.streams.values()]);
  });
});

describe("MetadataRaft (single node, on disk)", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const open = (dataDir: string, snapshotThreshold = 1024, bootstrapSeed = true) =>
    MetadataRaft.open({
      dataDir,
      serverId: "s1",
      bootstrapSeed,
      listener: recorder(),
      logger: noopLogger,
      snapshotThreshold,
      tickMs: 1000,
    });

  it("refuses to start without state and without the bootstrap flag", async () => {
    const d = mkdtempSync(path.join(tmpdir(), "lb-raft-"));
    dirs.push(d);
    const err = await open(d, 1024, false).catch((e: unknown) => e);
    expect(isBrokerError(err, "raft")).toBe(true);
  });

  it.each([1024, 3])(
    "commits proposals, recovers them after restart (snapshot threshold %i)",
    async (threshold) => {
      const d = mkdtempSync(path.join(tmpdir(), "lb-raft-"));
      dirs.push(d);
      const r = await open(d, threshold);
      expect(r.isLeader).toBe(true);
      for (let i = 0; i < 20; i++) expect(await r.propose(create(`s${i}`))).toEqual({ ok: true });
      expect(await r.propose(create("s3"))).toEqual({ ok: false, reason: "stream_exists" });
      await r.propose({ op: "delete_stream", name: "s4" });
      await r.propose({ op: "pause_stream", name: "s5", partitions: [], resumeAll: false, timestamp: "1" });
      await r.close();
      await expect(r.propose(create("late"))).rejects.toThrow();
      const r2 = await open(d, threshold);
      expect(r2.state.streams.size).toBe(19);
      expect(r2.state.streams.has("s4")).toBe(false);
      expect(r2.state.streams.get("s5")!.partitions[0]!.paused).toBe(true);
      expect(await r2.propose(create("after"))).toEqual({ ok: true });
      await r2.close();
      const r3 = await open(d, threshold);
      expect(r3.state.streams.has("after")).toBe(true);
      await r3.close();
    },
  );

  it("cuts a torn WAL tail on open", async () => {
    const d = mkdtempSync(path.join(tmpdir(), "lb-raft-"));
    dirs.push(d);
    const r = await open(d);
    await r.propose(create("a"));
    await r.propose(create("b"));
    await r.close();
    const wal = path.join(d, "raft", "wal");
    truncateSync(wal, statSync(wal).size - 3);
    const r2 = await open(d);
    // The torn record was the last one written (a hard state or the entry of "b"): "a" survives.
    expect(r2.state.streams.has("a")).toBe(true);
    expect(await r2.propose(create("c"))).toEqual({ ok: true });
    await r2.close();
  });
});
