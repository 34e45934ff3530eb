import { expect, it } from "vitest";
import { readmeExample, runModule } from "./run-readme.js";

// The README section examples assume `api` (a proto.API client) from the main example; this prelude
// provides it, then the snippet runs as written.
const PRELUDE = `
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { APIService, StartPosition, StopPosition } from "@liftbridge/api";
import { connect, createClient } from "@liftbridge/grpc";
import { startNatsServer } from "@liftbridge/nats-server";
import { startBroker } from "../src/index.js";

const dataDir = await mkdtemp(join(tmpdir(), "liftbridge-readme-"));
const nats = await startNatsServer({ port: 0 });
const broker = await startBroker({
  dataDir, serverId: "readme", nats: nats.connect(), raftBootstrapSeed: true, listenPort: 0, listenHost: "127.0.0.1",
});
const channel = connect(\`http://127.0.0.1:\${broker.port}\`);
const api = createClient(APIService, channel) as any;
void StartPosition; void StopPosition;
try {
`;
const POSTLUDE = `
} finally {
  await channel.close();
  await broker.close();
  await nats.close();
  await rm(dataDir, { recursive: true, force: true });
}
export {};
`;

const run = (title: string, name: string) =>
  runModule(`${PRELUDE}${readmeExample(`### ${title}`)}${POSTLUDE}`, name);

it("runs the README auto-pause example", async () => {
  expect(await run("Auto-pause", "auto-pause")).toEqual([
    ["paused", true],
    ["resumed at offset", 1],
  ]);
});

it("runs the README retention and compaction example", async () => {
  expect(await run("Retention and compaction per stream", "retention")).toEqual([
    [Array.from({ length: 10 }, (_, i) => `m${90 + i}`)],
    [["3", "4", "5"]],
  ]);
});
