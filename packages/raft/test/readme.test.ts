import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

describe("README example", () => {
  it("runs and prints the expected output", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const code = /## Example[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)![1]!;
    const file = new URL("./readme-example.generated.ts", import.meta.url);
    writeFileSync(file, code.replace('from "@liftbridge/raft"', 'from "../src/index.js"'));
    const logs: unknown[][] = [];
    const origLog = console.log;
    console.log = (...args: unknown[]) => logs.push(args);
    try {
      await import(/* @vite-ignore */ file.href);
    } finally {
      console.log = origLog;
      rmSync(file, { force: true });
    }
    expect(logs).toEqual([[3, true]]);
  }, 30_000);
});
