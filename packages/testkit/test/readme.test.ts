import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

describe("README example", () => {
  it("runs deterministically", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const code = /## Example[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)![1]!;
    const run = async (n: number) => {
      const file = new URL(`./readme-example-${n}.generated.ts`, import.meta.url);
      writeFileSync(file, code.replace('from "@liftbridge/testkit"', 'from "../src/index.js"'));
      const logs: unknown[][] = [];
      const origLog = console.log;
      console.log = (...args: unknown[]) => logs.push(args);
      try {
        await import(/* @vite-ignore */ file.href);
      } finally {
        console.log = origLog;
        rmSync(file, { force: true });
      }
      return logs;
    };
    const a = await run(1);
    const b = await run(2);
    expect(a).toEqual(b);
    expect(a.length).toBe(1);
    expect(a[0]!.slice(1)).toEqual(["b", "hello"]);
  });
});
