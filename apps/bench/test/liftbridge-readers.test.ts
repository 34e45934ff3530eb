import { afterAll, beforeAll, describe, expect, it } from "vitest";
// The readers run in child processes from the built files, so the test uses dist/.
import { grpcJsReaderBound } from "../dist/cases/grpc-js-bound.js";
import {
  liftbridgeConsumeGrpcJs,
  liftbridgeConsumeGrpcJsWindow,
  liftbridgeConsumeLean,
  setServer,
} from "../dist/cases/liftbridge.js";
import { type LiftbridgeServer, startLiftbridge } from "../dist/liftbridge-server.js";

describe("B4 Liftbridge readers (small counts; each reader verifies every byte)", () => {
  let server: LiftbridgeServer;
  beforeAll(async () => {
    server = await startLiftbridge();
    setServer(server);
  });
  afterAll(async () => {
    setServer(undefined);
    await server?.stop();
  });
  const params = (rep: number) => ({
    url: server.natsUrl,
    serverPid: server.pid,
    count: 3000,
    size: 200,
    rep,
  });

  for (const [name, read] of [
    ["lean", liftbridgeConsumeLean],
    ["grpc-js", liftbridgeConsumeGrpcJs],
    ["grpc-js with 1 MiB windows", liftbridgeConsumeGrpcJsWindow],
  ] as const) {
    it(`${name} reader reads the whole stream`, async () => {
      const r = await read(params(1));
      expect(r.msgsPerSec).toBeGreaterThan(0);
      expect(r.serverCpuUsPerMsg).toBeGreaterThanOrEqual(0);
    });
  }

  it("the grpc-js bound's in-memory server streams every message", async () => {
    for (const window of ["default", "1mib"] as const) {
      const r = await grpcJsReaderBound(window)(params(2));
      expect(r.msgsPerSec).toBeGreaterThan(0);
    }
  });
});
