import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { TestServer } from "./helpers.js";

const here = path.dirname(fileURLToPath(import.meta.url));
let server: TestServer;
let dir: string;
beforeAll(async () => {
  server = await TestServer.create();
  dir = await mkdtemp(path.join(here, ".readme-"));
});
afterAll(async () => {
  await server?.destroy();
  await rm(dir, { recursive: true, force: true });
});

it("runs the README example", async () => {
  const readme = readFileSync(path.join(here, "..", "README.md"), "utf8");
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeDefined();
  const file = path.join(dir, "example.ts");
  await writeFile(file, code!);
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => {
    lines.push(a.map(String).join(" "));
  });
  const saved = process.env.LIFTBRIDGE_ADDR;
  process.env.LIFTBRIDGE_ADDR = server.addr;
  try {
    await import(/* @vite-ignore */ file);
  } finally {
    spy.mockRestore();
    if (saved === undefined) delete process.env.LIFTBRIDGE_ADDR;
    else process.env.LIFTBRIDGE_ADDR = saved;
  }
  // crc32("k1") mod 2 picks the partition; either way the message comes back at offset 0.
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^stored at greetings\/greetings(\.1)? offset 0$/);
  expect(lines[1]).toBe("0: hello");
});
