import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(join(tmpdir(), "liftbridge-api-readme-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("README", () => {
  it("runs the example", async () => {
    const readme = readFileSync(join(pkgDir, "README.md"), "utf8");
    const block = /## Example\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    // The example imports the published name; point it at the sources under test.
    const src = pathToFileURL(join(pkgDir, "src", "index.ts")).href;
    const code = block!.replace(/from "@liftbridge\/api"/g, `from ${JSON.stringify(src)}`);
    expect(code).not.toContain("@liftbridge/api");
    const file = join(dir, "example.ts");
    writeFileSync(file, code);
    await expect(import(/* @vite-ignore */ pathToFileURL(file).href)).resolves.toBeDefined();
  });
});
