import { expect, it } from "vitest";
import { readmeExample, runModule } from "./run-readme.js";

it("runs the README example", async () => {
  const logged = await runModule(`${readmeExample()}\nexport {};\n`, "example");
  expect(logged).toContainEqual([["plain NATS message", "via gRPC"]]);
});
