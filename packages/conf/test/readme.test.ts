import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { updateReadme } from "../src/readme-table.js";

const readmePath = fileURLToPath(new URL("../README.md", import.meta.url));
const readme = readFileSync(readmePath, "utf8");

describe("README", () => {
  it("generated tables match the schema (run `pnpm gen:readme` if this fails)", () => {
    expect(readme).toBe(updateReadme(readme));
  });

  it("the example runs", async () => {
    const m = /## Example\n\n```ts\n([\s\S]*?)```/.exec(readme);
    expect(m).not.toBeNull();
    const src = fileURLToPath(new URL("../src/index.ts", import.meta.url));
    const code = (m?.[1] ?? "").replace('"@liftbridge/conf"', JSON.stringify(src));
    const file = join(tmpdir(), `liftbridge-conf-readme-${process.pid}.ts`);
    writeFileSync(file, code);
    try {
      await import(/* @vite-ignore */ pathToFileURL(file).href);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
