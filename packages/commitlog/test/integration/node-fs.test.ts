import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createNodeFs } from "../../src/index.js";

const SMALL_WRITE_MAX_BYTES = 4096;
const smallWriteFs = createNodeFs({ syncWriteMaxBytes: SMALL_WRITE_MAX_BYTES });

describe("createNodeFs({ syncWriteMaxBytes })", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "lb-small-write-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes small and large chunks at their positions and reads them back", async () => {
    const file = path.join(dir, "f");
    const h = await smallWriteFs.open(file, "wx+");
    const small = Buffer.from("xxhello, worldxx");
    const large = Buffer.alloc(SMALL_WRITE_MAX_BYTES + 10, 0x62);
    await h.write(small, 2, 12, 0);
    await h.write(large, 0, large.length, 12);
    await h.write(Buffer.from("Z"), 0, 1, 5);
    expect(await h.size()).toBe(12 + large.length);
    const back = Buffer.alloc(12);
    expect(await h.read(back, 0, 12, 0)).toBe(12);
    expect(back.toString()).toBe("helloZ world");
    await h.close();
    const all = await readFile(file);
    expect(all.subarray(12).equals(large)).toBe(true);
  });

  it("rejects a small write on a read-only handle", async () => {
    const file = path.join(dir, "ro");
    const w = await smallWriteFs.open(file, "wx+");
    await w.close();
    const r = await smallWriteFs.open(file, "r");
    await expect(r.write(Buffer.from("a"), 0, 1, 0)).rejects.toThrow();
    await r.close();
  });

  it("delegates the directory operations to the node file system", async () => {
    await smallWriteFs.mkdir(path.join(dir, "a", "b"));
    expect(await smallWriteFs.readdir(path.join(dir, "a"))).toEqual(["b"]);
    expect(await smallWriteFs.fileSize(path.join(dir, "missing"))).toBe(-1);
  });
});
