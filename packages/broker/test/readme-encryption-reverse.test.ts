import { readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it, vi } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The first ```ts block after `heading` in the README. */
function exampleAfter(heading: string): string {
  const readme = readFileSync(path.join(here, "..", "README.md"), "utf8");
  const at = readme.indexOf(`\n${heading}\n`);
  expect(at).toBeGreaterThan(0);
  const next = readme.indexOf("\n### ", at + heading.length + 2);
  const block = /```ts\n([\s\S]*?)```/u.exec(readme.slice(at, next < 0 ? undefined : next));
  expect(block).not.toBeNull();
  return block![1]!.replace('"@liftbridge/broker"', '"../src/index.js"');
}

async function run(heading: string, tag: string): Promise<unknown[][]> {
  const file = path.join(here, `readme-${tag}.tmp.ts`);
  writeFileSync(file, `${exampleAfter(heading)}\nexport {};\n`);
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  try {
    await import(file);
    return log.mock.calls;
  } finally {
    log.mockRestore();
    rmSync(file, { force: true });
  }
}

it("runs the README example of encryption at rest", async () => {
  expect(await run("### Encryption at rest", "encryption")).toEqual([[false], [["hunter2"]]]);
});

it("runs the README example of reverse subscriptions", async () => {
  expect(await run("### Reverse subscriptions", "reverse")).toEqual([
    [8, "Stop offset reached"],
    [["d", "c", "b"]],
  ]);
});
