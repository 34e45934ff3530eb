import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Prng, SimFs } from "@liftbridge/testkit";
import { describe, expect, it } from "vitest";
import { type Entry, FileStorage, isRaftError, nodeRaftFs } from "../src/index.js";

const ent = (index: number, term: number, fill = index): Entry => ({
  index,
  term,
  kind: "normal",
  data: new Uint8Array(8).fill(fill),
});

describe("FileStorage", () => {
  it("bootstraps, persists and recovers entries, hard state and snapshots", () => {
    const fs = new SimFs();
    const s = FileStorage.open(fs, "/d", { voters: ["a", "b"] });
    expect(s.initialState().conf.voters).toEqual(["a", "b"]);
    s.append([ent(2, 2), ent(3, 2), ent(4, 2)]);
    s.setHardState({ term: 2, vote: "a", commit: 3 });
    s.sync();
    s.createSnapshot(3, s.initialState().conf, new Uint8Array([9, 9]));
    s.compact(2);
    fs.crash();
    const r = FileStorage.open(fs, "/d");
    expect(r.firstIndex()).toBe(4); // recovery restarts the log right after the snapshot
    expect(r.lastIndex()).toBe(4);
    expect(r.term(4)).toBe(2);
    expect(r.initialState().hardState).toEqual({ term: 2, vote: "a", commit: 3 });
    expect([...r.snapshot().data]).toEqual([9, 9]);
  });

  it("drops unsynced and torn tails but never synced data", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const fs = new SimFs(new Prng(BigInt(seed)));
      const s = FileStorage.open(fs, "/d", { voters: ["a"] });
      s.append([ent(2, 1), ent(3, 1)]);
      s.sync();
      for (let i = 4; i < 10; i++) s.append([ent(i, 1)]);
      fs.crash({ torn: true });
      const r = FileStorage.open(fs, "/d");
      expect(r.lastIndex()).toBeGreaterThanOrEqual(3);
      for (let i = 2; i <= r.lastIndex(); i++) expect(r.entries(i, i + 1, 1e9)![0]!.data[0]).toBe(i);
    }
  });

  it("rejects a corrupted snapshot file with code corrupt", () => {
    const fs = new SimFs();
    const s = FileStorage.open(fs, "/d", { voters: ["a"] });
    s.createSnapshot(1, s.initialState().conf, new Uint8Array(32).fill(1));
    fs.flipBit("/d/snap", new Prng(5n));
    let err: unknown;
    try {
      FileStorage.open(fs, "/d");
    } catch (e) {
      err = e;
    }
    expect(isRaftError(err, "corrupt")).toBe(true);
  });

  it("ends the log at a bit flip in the wal tail (CRC)", () => {
    const fs = new SimFs();
    const s = FileStorage.open(fs, "/d", { voters: ["a"] });
    s.append([ent(2, 1)]);
    s.sync();
    const before = fs.readFile("/d/wal")!.length;
    s.append([ent(3, 1)]);
    s.sync();
    const wal = fs.readFile("/d/wal")!;
    wal[before + 12]! ^= 0xff;
    fs.writeFile("/d/wal", wal);
    fs.fsync("/d/wal");
    const r = FileStorage.open(fs, "/d");
    expect(r.lastIndex()).toBe(2);
    expect(r.recovery.tornBytesDropped).toBeGreaterThan(0);
  });

  it("reports corruption before the tail as corrupt instead of truncating acknowledged data", () => {
    const fs = new SimFs();
    const s = FileStorage.open(fs, "/d", { voters: ["a"] });
    s.append([ent(2, 1)]);
    s.append([ent(3, 1)]);
    s.sync();
    const wal = fs.readFile("/d/wal")!;
    wal[20]! ^= 0x01; // inside an early record
    fs.writeFile("/d/wal", wal);
    fs.fsync("/d/wal");
    let err: unknown;
    try {
      FileStorage.open(fs, "/d");
    } catch (e) {
      err = e;
    }
    expect(isRaftError(err, "corrupt")).toBe(true);
  });

  it("works on the real file system", () => {
    const dir = mkdtempSync(join(tmpdir(), "raft-fs-"));
    const fs = nodeRaftFs();
    try {
      const s = FileStorage.open(fs, dir, { voters: ["a"] });
      s.append([ent(2, 1), ent(3, 1)]);
      s.setHardState({ term: 1, vote: null, commit: 3 });
      s.sync();
      s.append([ent(3, 2)]); // truncates 3 and replaces it
      s.sync();
      fs.close();
      const fs2 = nodeRaftFs();
      const r = FileStorage.open(fs2, dir);
      expect(r.lastIndex()).toBe(3);
      expect(r.term(3)).toBe(2);
      fs2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("FileStorage snapshot atomicity", () => {
  it("keeps the previous snapshot if a crash interrupts writing the new one", () => {
    for (const failAt of ["fsync", "rename", "fsyncDir"] as const) {
      const fs = new SimFs();
      const s = FileStorage.open(fs, "/d", { voters: ["a"] });
      s.append([ent(2, 1), ent(3, 1)]);
      s.sync();
      s.createSnapshot(2, s.initialState().conf, new Uint8Array([2]));
      const real = fs[failAt].bind(fs);
      let armed = true;
      // biome-ignore lint/suspicious/noExplicitAny: test-only fault injection on one method
      (fs as any)[failAt] = (...args: unknown[]) => {
        if (armed && (failAt === "fsyncDir" || String(args[0]).includes("snap"))) {
          armed = false;
          throw new Error("power loss");
        }
        // biome-ignore lint/suspicious/noExplicitAny: forwarding
        return (real as any)(...args);
      };
      expect(() => s.createSnapshot(3, s.initialState().conf, new Uint8Array([3]))).toThrow("power loss");
      fs.crash();
      const r = FileStorage.open(fs, "/d");
      const idx = r.snapshot().meta.index;
      expect([2, 3]).toContain(idx); // old or new, never a torn mix
      expect([...r.snapshot().data]).toEqual([idx]);
    }
  });
});
