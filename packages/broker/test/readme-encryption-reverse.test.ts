import { expect, it } from "vitest";
import { readmeExample, runModule } from "./run-readme.js";

const run = (heading: string, tag: string) => runModule(`${readmeExample(heading)}\nexport {};\n`, tag);

it("runs the README example of encryption at rest", async () => {
  expect(await run("### Encryption at rest", "encryption")).toEqual([[false], [["hunter2"]]]);
});

it("runs the README example of reverse subscriptions", async () => {
  expect(await run("### Reverse subscriptions", "reverse")).toEqual([
    [8, "Stop offset reached"],
    [["d", "c", "b"]],
  ]);
});
