import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freePort, freePorts } from "../src/index.js";

describe("freePorts", () => {
  it("returns distinct ports that a server can then listen on", async () => {
    const ports = await freePorts(8);
    expect(new Set(ports).size).toBe(8);
    const port = await freePort();
    const s = createServer();
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => resolve());
    });
    expect((s.address() as { port: number }).port).toBe(port);
    await new Promise((r) => s.close(r));
  });
});
