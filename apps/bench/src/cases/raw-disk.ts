import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Raw disk bound: the same bytes appended with plain `fs` writes, 1000 messages per write. */
export function rawDiskAppend(count: number, size: number, options: { fsyncEachBatch: boolean }) {
  const dir = mkdtempSync(join(tmpdir(), "lb-bench-raw-"));
  const batch = Buffer.alloc(size * 1000, 0x61);
  const fd = openSync(join(dir, "data"), "a");
  try {
    const t0 = performance.now();
    for (let written = 0; written < count; written += 1000) {
      const n = Math.min(1000, count - written);
      writeSync(fd, batch, 0, n * size);
      if (options.fsyncEachBatch) fsyncSync(fd);
    }
    const elapsed = performance.now() - t0;
    return { msgsPerSec: (count * 1000) / elapsed, mbPerSec: (count * size) / 1e6 / (elapsed / 1000) };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}
