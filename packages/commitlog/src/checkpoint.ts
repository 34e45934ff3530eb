import type { FileSystem } from "./fs.js";

/** Suffix of temporary checkpoint files; stale ones are removed at open. */
export const TMP_SUFFIX = ".tmp";

/**
 * Writes `path` atomically: temp file in the same directory -> fsync -> rename -> fsync dir.
 * After a crash the file holds either the old or the new content, never a mix.
 */
export async function writeFileAtomic(
  fs: FileSystem,
  dir: string,
  path: string,
  data: string,
): Promise<void> {
  const tmp = path + TMP_SUFFIX;
  const h = await fs.open(tmp, "w");
  try {
    const buf = Buffer.from(data, "utf8");
    await h.write(buf, 0, buf.length, 0);
    await h.sync();
  } finally {
    await h.close();
  }
  await fs.rename(tmp, path);
  await fs.syncDir(dir);
}
