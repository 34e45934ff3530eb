import { readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it, vi } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));

it("runs the README example", async () => {
  const readme = readFileSync(path.join(here, "..", "README.md"), "utf8");
  const code = /```ts\n([\s\S]*?)```/.exec(readme)![1]!.replace('"@liftbridge/broker"', '"../src/index.js"');
  const file = path.join(here, "readme-example.tmp.ts");
  writeFileSync(file, `${code}\nexport {};\n`);
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  try {
    await import(file);
    expect(log).toHaveBeenCalledWith(["plain NATS message", "via gRPC"]);
  } finally {
    log.mockRestore();
    rmSync(file, { force: true });
  }
});
