import { execFile } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);
const pkg = fileURLToPath(new URL("..", import.meta.url));

async function runFile(file: string): Promise<string> {
  const { stdout } = await run(process.execPath, [file], { cwd: pkg, timeout: 60_000 });
  return stdout;
}

it("README example runs as written (imports the built package by name)", async () => {
  const readme = await readFile(`${pkg}/README.md`, "utf8");
  const m = /<!-- readme-example[^>]*-->\s*```js\n([\s\S]*?)```/.exec(readme);
  expect(m).not.toBeNull();
  // Inside the package directory, "@liftbridge/commitlog" resolves to this package (self-reference).
  const file = `${pkg}/test/.readme-example-${process.pid}.mjs`;
  await writeFile(file, m![1]!);
  try {
    const out = await runFile(file);
    expect(out).toContain("appended at [ 0, 1 ]");
    expect(out).toContain("[ 'hello', 'world', 'later' ]");
  } finally {
    await rm(file, { force: true });
  }
});

it("examples/demo.js runs and exits 0", async () => {
  const out = await runFile(`${pkg}/examples/demo.js`);
  expect(out).toContain("tailing reader received offset 5: appended later");
  expect(out).toContain("demo done");
});
