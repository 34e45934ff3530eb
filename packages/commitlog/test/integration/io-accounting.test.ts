import { cp } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { type FileHandle, type FileSystem, nodeFs } from "../../src/index.js";
import { ManualClock, open, readAll, tempDir, u } from "../helpers.js";

/** A FileSystem that counts bytes read from `.log` files and data syncs, delegating to the real one. */
class CountingFs implements FileSystem {
  logBytesRead = 0;
  datasyncs = 0;
  open = async (path: string, flags: string): Promise<FileHandle> => {
    const h = await nodeFs.open(path, flags);
    const isLog = path.endsWith(".log");
    return {
      read: async (b, o, l, p) => {
        const n = await h.read(b, o, l, p);
        if (isLog) this.logBytesRead += n;
        return n;
      },
      write: (b, o, l, p) => h.write(b, o, l, p),
      sync: () => h.sync(),
      datasync: async () => {
        this.datasyncs++;
        await h.datasync();
      },
      truncate: (n) => h.truncate(n),
      size: () => h.size(),
      close: () => h.close(),
    };
  };
  mkdir = nodeFs.mkdir;
  readdir = nodeFs.readdir;
  rename = nodeFs.rename;
  unlink = nodeFs.unlink;
  rmdir = nodeFs.rmdir;
  readFile = nodeFs.readFile;
  fileSize = nodeFs.fileSize;
  syncDir = nodeFs.syncDir;
}

describe("start-up cost", () => {
  it("opening a cleanly closed log reads no record; after a crash only the active segment is scanned", async () => {
    const dir = await tempDir();
    const log = await open(dir, { maxSegmentBytes: 4096 });
    for (let i = 0; i < 200; i++) await log.append([{ value: u(`record-${i}`.padEnd(100, "x")) }]);
    const crashed = await tempDir();
    await cp(dir, crashed, { recursive: true }); // files of a process that never closed
    const activeSize = log.active.size;
    await log.close();

    const fs1 = new CountingFs();
    const reopened = await open(dir, { fs: fs1, maxSegmentBytes: 4096 });
    expect(fs1.logBytesRead).toBe(0);
    expect(reopened.newestOffset).toBe(199);

    const fs2 = new CountingFs();
    const recovered = await open(crashed, { fs: fs2, maxSegmentBytes: 4096 });
    expect(fs2.logBytesRead).toBeGreaterThan(0);
    expect(fs2.logBytesRead).toBeLessThanOrEqual(activeSize);
    expect((await readAll(recovered)).length).toBe(200);
  });
});

describe("sync policies", () => {
  it("none never fsyncs appends; always fsyncs before append resolves; interval fsyncs on its timer", async () => {
    const none = new CountingFs();
    const l1 = await open(await tempDir(), { fs: none, sync: "none" });
    for (let i = 0; i < 5; i++) await l1.append([{ value: u("x") }]);
    expect(none.datasyncs).toBe(0);

    const always = new CountingFs();
    const l2 = await open(await tempDir(), { fs: always, sync: "always" });
    for (let i = 0; i < 5; i++) {
      const before = always.datasyncs;
      await l2.append([{ value: u("x") }]);
      expect(always.datasyncs).toBeGreaterThan(before);
    }
    // Group commit: many concurrent appends share fsyncs.
    const before = always.datasyncs;
    await Promise.all(Array.from({ length: 50 }, () => l2.append([{ value: u("y") }])));
    expect(always.datasyncs - before).toBeLessThan(50);

    const clock = new ManualClock();
    const interval = new CountingFs();
    const l3 = await open(await tempDir(), { fs: interval, sync: "interval", syncIntervalMs: 100, clock });
    await l3.append([{ value: u("x") }]);
    expect(interval.datasyncs).toBe(0);
    clock.advance(100);
    await expect.poll(() => interval.datasyncs).toBeGreaterThan(0);
  });
});
