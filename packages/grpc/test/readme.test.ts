import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, expect, it, vi } from "vitest";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const dir = mkdtempSync(join(tmpdir(), "grpc-readme-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function block(after: string, lang: string): string {
  const start = readme.indexOf(after);
  const open = readme.indexOf(`\`\`\`${lang}\n`, start);
  const close = readme.indexOf("\n```", open + 4);
  return readme.slice(open + lang.length + 4, close);
}

it("the README example runs and prints what the README says", async () => {
  const file = join(dir, "example.ts");
  writeFileSync(file, block("## Example", "ts"));
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    lines.push(args.join(" "));
  });
  try {
    await import(pathToFileURL(file).href);
  } finally {
    spy.mockRestore();
  }
  expect(lines).toEqual(block("Output:", "text").split("\n"));
});
