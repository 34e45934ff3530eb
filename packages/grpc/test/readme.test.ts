import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

it("every test the README's compliance list names exists", () => {
  const section = readme.slice(readme.indexOf("### Compliance list"), readme.indexOf("## Benchmarks"));
  const testDir = new URL("./", import.meta.url);
  const sources = readdirSync(testDir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".ts") || f.endsWith(".py"))
    .map((f) => readFileSync(new URL(f, testDir), "utf8"))
    .join("\n");
  const quoted = [...section.matchAll(/"([^"]+)"/g)]
    .map((m) => m[1] ?? "")
    .filter((n) => !/^gjs-(client|server)$/.test(n));
  const pythonChecks = [...section.matchAll(/`([a-z]+(?:_[a-z]+)+)`/g)].map((m) => m[1] ?? "");
  expect(quoted.length).toBeGreaterThan(40);
  expect(pythonChecks.length).toBeGreaterThan(10);
  for (const name of [...quoted.map((n) => n.replace(/…$/, "")), ...pythonChecks]) {
    expect({ name, found: sources.includes(name) }).toEqual({ name, found: true });
  }
});
