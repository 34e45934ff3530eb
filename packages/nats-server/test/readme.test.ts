import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { expect, it } from "vitest";

const root = join(import.meta.dirname, "..");

it("runs the README example", async () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeDefined();
  // The example is plain JavaScript; run it against the built package.
  const dist = pathToFileURL(join(root, "dist", "index.js")).href;
  const dir = mkdtempSync(join(root, "node_modules", ".readme-"));
  try {
    const file = join(dir, "example.mjs");
    writeFileSync(file, (code as string).replace('"@liftbridge/nats-server"', JSON.stringify(dist)));
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [file], { timeout: 20_000, cwd: root }, (err, stdout, stderr) =>
        err ? reject(new Error(stderr || err.message)) : resolve(stdout),
      ),
    );
    expect(out).toBe("accepted 42\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
