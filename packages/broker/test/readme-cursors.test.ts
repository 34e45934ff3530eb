import { readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));

/** Code lines without comment-only lines, so the README can drop the example's header comments. */
const code = (text: string): string[] =>
  text.split("\n").filter((l) => l.trim() !== "" && !l.trimStart().startsWith("//"));

it("the README's Cursors example is the client's examples/cursors.ts (which the client's tests run)", () => {
  const readme = readFileSync(path.join(here, "..", "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### Cursors"));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  expect(block).toBeDefined();
  const example = readFileSync(path.join(here, "..", "..", "client", "examples", "cursors.ts"), "utf8");
  expect(code(block!)).toEqual(code(example));
});
