// Running the README's TypeScript examples as written (shared by the readme*.test.ts files).
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, vi } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The first ```ts block of the package README after the heading line `heading` (e.g. "### Cursors"),
 * or the README's first block when `heading` is omitted; `@liftbridge/broker` imports point at ../src.
 */
export function readmeExample(heading?: string): string {
  const readme = readFileSync(path.join(here, "..", "README.md"), "utf8");
  let section = readme;
  if (heading !== undefined) {
    const at = readme.indexOf(`\n${heading}\n`);
    expect(at).toBeGreaterThan(0);
    const next = readme.indexOf("\n### ", at + heading.length + 2);
    section = readme.slice(at, next < 0 ? undefined : next);
  }
  const block = /```ts\n([\s\S]*?)```/u.exec(section);
  expect(block).not.toBeNull();
  return block![1]!.replace('"@liftbridge/broker"', '"../src/index.js"');
}

/** Writes `source` as a module next to the tests, imports it, and returns what it `console.log`ged. */
export async function runModule(source: string, tag: string): Promise<unknown[][]> {
  const file = path.join(here, `readme-${tag}.tmp.ts`);
  writeFileSync(file, source);
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  try {
    await import(file);
    return log.mock.calls;
  } finally {
    log.mockRestore();
    rmSync(file, { force: true });
  }
}
