// The standard health service over the wire: Check and Watch, with our client and with grpc-js.
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import {
  connect,
  createClient,
  createHealthService,
  createServer,
  HealthDefinition,
  isGrpcError,
  ServingStatus,
  Status,
} from "../../src/index.js";

describe("grpc.health.v1.Health", () => {
  it("Check and Watch (status now, on change, SERVICE_UNKNOWN for unknown services)", async () => {
    const health = createHealthService({ "": ServingStatus.SERVING, "proto.API": ServingStatus.SERVING });
    const server = createServer();
    server.addService(health.definition, health.handlers);
    const port = await server.listen(0, "127.0.0.1");
    const channel = connect(`127.0.0.1:${port}`);
    try {
      const client = createClient(HealthDefinition, channel);
      expect(await client.check({ service: "proto.API" })).toEqual({ status: ServingStatus.SERVING });
      const missing = await client.check({ service: "nope" }).catch((e) => e);
      expect(isGrpcError(missing, Status.NOT_FOUND)).toBe(true);

      const watch = client.watch({ service: "proto.API" });
      const seen: ServingStatus[] = [];
      const it = watch[Symbol.asyncIterator]();
      seen.push((await it.next()).value.status);
      health.setStatus("proto.API", ServingStatus.NOT_SERVING);
      seen.push((await it.next()).value.status);
      expect(seen).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
      watch.cancel();

      const unknown = client.watch({ service: "later" });
      const uit = unknown[Symbol.asyncIterator]();
      expect((await uit.next()).value).toEqual({ status: ServingStatus.SERVICE_UNKNOWN });
      health.setStatus("later", ServingStatus.SERVING);
      expect((await uit.next()).value).toEqual({ status: ServingStatus.SERVING });
      unknown.cancel();
    } finally {
      await channel.close();
      await server.close({ graceMs: 100 });
    }
  });

  it("a grpc-js client can Check our health service with the same definition", async () => {
    const health = createHealthService();
    const server = createServer();
    server.addService(health.definition, health.handlers);
    const port = await server.listen(0, "127.0.0.1");
    const Ctor = grpc.makeGenericClientConstructor(
      HealthDefinition as unknown as grpc.ServiceDefinition,
      "Health",
    );
    const client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Record<
      string,
      (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void
    > &
      grpc.Client;
    try {
      const res = await new Promise((resolve, reject) =>
        client.check?.({ service: "" }, (err, r) => (err ? reject(err) : resolve(r))),
      );
      expect(res).toEqual({ status: ServingStatus.SERVING });
    } finally {
      client.close();
      await server.close({ graceMs: 100 });
    }
  });
});
