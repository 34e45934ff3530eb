/**
 * Authorization over real mTLS on loopback (spec §5 "authz denied" rows): `alice` is allowed by the
 * policy, `bob` is not, `nocn` has a verified certificate without a CN. Certificates:
 * test/fixtures/authz (README there says how they were made).
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { APIService, PublishAsyncErrorCode, StartPosition, StopPosition } from "@liftbridge/api";
import { type NatsServer, startNatsServer } from "@liftbridge/nats-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Broker,
  isBrokerError,
  type NatsConnection,
  SAMPLE_AUTHZ_MODEL,
  startBroker,
} from "../../src/index.js";
import { type ApiClient, codeOf, subscribe, unary, waitFor } from "../helpers.js";

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/authz/${name}`, import.meta.url));
const ca = fixture("ca.crt");

const Ctor = grpc.makeGenericClientConstructor(
  APIService as unknown as grpc.ServiceDefinition,
  "API",
) as unknown as new (
  address: string,
  creds: grpc.ChannelCredentials,
  options: grpc.ClientOptions,
) => ApiClient;

/** A grpc-js client over TLS, presenting `who`'s certificate (none when undefined). */
function tlsClient(port: number, who: "alice" | "bob" | "nocn" | undefined): ApiClient {
  const creds =
    who === undefined
      ? grpc.credentials.createSsl(ca)
      : grpc.credentials.createSsl(ca, fixture(`${who}.key`), fixture(`${who}.crt`));
  // The certificate also names localhost: an IP as TLS server name draws a Node deprecation warning.
  return new Ctor(`127.0.0.1:${port}`, creds, { "grpc.ssl_target_name_override": "localhost" });
}

const MODEL = SAMPLE_AUTHZ_MODEL;

const ACTIONS = [
  "CreateStream",
  "DeleteStream",
  "PauseStream",
  "SetStreamReadonly",
  "Subscribe",
  "FetchPartitionMetadata",
  "Publish",
  "PublishToSubject",
  "SetCursor",
  "FetchCursor",
];
/** alice may do everything on streams foo, bar, paused and gone; bob may do nothing. */
const POLICY = [
  "p, alice, *, FetchMetadata",
  ...["foo", "bar", "paused", "gone"].flatMap((s) => ACTIONS.map((a) => `p, alice, ${s}, ${a}`)),
].join("\n");

const denied = (action: string, resource: string) => ({
  code: grpc.status.UNKNOWN,
  details: `The client is not authorized to call ${action} on resource ${resource}`,
});
const CLIENT_ID = { code: grpc.status.UNKNOWN, details: "api: Failed to retrieve client ID" };

interface Setup {
  dir: string;
  nats: NatsServer;
  broker: Broker;
  close(): Promise<void>;
}

async function setup(rejectUnauthorized: boolean, cursorsPartitions = 0): Promise<Setup> {
  const dir = await mkdtemp(path.join(tmpdir(), "lb-authz-"));
  await writeFile(path.join(dir, "model.conf"), MODEL);
  await writeFile(path.join(dir, "policy.csv"), POLICY);
  const nats = await startNatsServer({ port: 0 });
  let broker: Broker;
  try {
    broker = await startBroker({
      dataDir: path.join(dir, "data"),
      serverId: "s1",
      nats: nats.connect({ name: "broker" }) as unknown as NatsConnection,
      raftBootstrapSeed: true,
      listenPort: 0,
      listenHost: "127.0.0.1",
      grpc: {
        tls: {
          key: fixture("server.key"),
          cert: fixture("server.crt"),
          ca,
          requestCert: true,
          rejectUnauthorized,
        },
      },
      authz: { modelFile: path.join(dir, "model.conf"), policyFile: path.join(dir, "policy.csv") },
      cursors: { partitions: cursorsPartitions },
    });
  } catch (e) {
    await nats.close();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    nats,
    broker,
    async close() {
      await broker.close({ graceMs: 0 });
      await nats.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface AsyncResponse {
  correlationId: string;
  ack: { correlationId: string; offset: string | number } | null;
  asyncError: { code: number; message: string } | null;
}

/** Sends `reqs` on one PublishAsync stream, half-closes, and returns every response and the status. */
async function publishAsync(
  client: ApiClient,
  reqs: object[],
): Promise<{ res: AsyncResponse[]; code: number }> {
  const call = client.PublishAsync();
  const res: AsyncResponse[] = [];
  call.on("data", (r: AsyncResponse) => res.push(r));
  const done = new Promise<number>((resolve) => call.on("status", (s: { code: number }) => resolve(s.code)));
  call.on("error", () => {});
  for (const r of reqs) call.write({ value: Buffer.from("v"), ...r });
  call.end();
  return { res, code: await done };
}

describe("authorization over mTLS (client certificate required)", () => {
  let s: Setup;
  let alice: ApiClient;
  let bob: ApiClient;
  let nocn: ApiClient;
  const newest = async (stream: string): Promise<number> => {
    const r = await unary<{ metadata: { newestOffset: string } }>(alice, "FetchPartitionMetadata", {
      stream,
      partition: 0,
    });
    return Number(r.metadata.newestOffset);
  };

  beforeAll(async () => {
    s = await setup(true, 1);
    alice = tlsClient(s.broker.port, "alice");
    bob = tlsClient(s.broker.port, "bob");
    nocn = tlsClient(s.broker.port, "nocn");
    for (const name of ["foo", "bar", "paused"]) await unary(alice, "CreateStream", { name, subject: name });
    await unary(alice, "PauseStream", { name: "paused" });
  });
  afterAll(async () => {
    for (const c of [alice, bob, nocn]) c?.close();
    await s?.close();
  });

  it("alice (allowed) can call every checked RPC", async () => {
    expect(await unary(alice, "FetchMetadata", {})).toMatchObject({ brokers: [{ id: "s1" }] });
    await unary(alice, "Publish", { stream: "foo", value: Buffer.from("a1") });
    await unary(alice, "PublishToSubject", { subject: "foo", value: Buffer.from("a2") });
    await waitFor(async () => (await newest("foo")) === 1, 20_000, "two messages in foo");
    const sub = subscribe(alice, {
      stream: "foo",
      startPosition: StartPosition.EARLIEST,
      stopPosition: StopPosition.STOP_LATEST,
    });
    expect(await sub.status).toEqual({
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: "Stop offset reached",
    });
    expect(sub.messages.length).toBe(3);
    await unary(alice, "SetStreamReadonly", { name: "bar", readonly: true });
    await unary(alice, "SetStreamReadonly", { name: "bar", readonly: false });
    await unary(alice, "CreateStream", { name: "gone", subject: "gone" });
    await unary(alice, "DeleteStream", { name: "gone" });
    const { res, code } = await publishAsync(alice, [{ stream: "bar", correlationId: "ok" }]);
    expect(code).toBe(grpc.status.OK);
    expect(res.map((r) => [r.ack?.correlationId, r.asyncError ?? undefined])).toEqual([["ok", undefined]]);
  });

  it("CreateStream: name, subject and reserved checks come first, then authz (before RF, exists)", async () => {
    const cases: [object, { code: number; details: string }][] = [
      [
        { name: "", subject: "x" },
        { code: grpc.status.INVALID_ARGUMENT, details: "Name cannot be empty" },
      ],
      [
        { name: "x", subject: "a b" },
        { code: grpc.status.INVALID_ARGUMENT, details: "Subject is invalid" },
      ],
      [
        { name: "__cursors", subject: "x" },
        { code: grpc.status.INVALID_ARGUMENT, details: "Stream is reserved" },
      ],
      [{ name: "new", subject: "new" }, denied("CreateStream", "new")],
      [{ name: "new", subject: "new", replicationFactor: 5 }, denied("CreateStream", "new")],
      [{ name: "foo", subject: "foo" }, denied("CreateStream", "foo")],
    ];
    for (const [req, want] of cases) expect(await codeOf(unary(bob, "CreateStream", req))).toEqual(want);
    // alice gets the rows behind the check
    expect(await codeOf(unary(alice, "CreateStream", { name: "foo", subject: "foo" }))).toEqual({
      code: grpc.status.ALREADY_EXISTS,
      details: "stream already exists",
    });
  });

  it.each([
    ["DeleteStream", { name: "__activity" }, "__activity"],
    ["DeleteStream", { name: "nope" }, "nope"],
    ["DeleteStream", { name: "foo" }, "foo"],
    ["PauseStream", { name: "nope" }, "nope"],
    ["PauseStream", { name: "foo", partitions: [7] }, "foo"],
    ["SetStreamReadonly", { name: "nope", readonly: true }, "nope"],
    ["SetStreamReadonly", { name: "foo", readonly: true }, "foo"],
    ["FetchPartitionMetadata", { stream: "nope", partition: 0 }, "nope"],
    ["FetchPartitionMetadata", { stream: "foo", partition: 0 }, "foo"],
    ["FetchMetadata", { streams: ["foo"] }, "*"],
    ["PublishToSubject", { subject: "foo", value: Buffer.from("x") }, "foo"],
    ["PublishToSubject", { subject: "a b", value: Buffer.from("x") }, "a b"],
  ])("%s %j: authz checked first -> Unknown", async (method, req, resource) => {
    expect(await codeOf(unary(bob, method, req))).toEqual(denied(method, resource));
  });

  it("Publish: stream checks first, then authz (before partition and read-only checks); nothing stored", async () => {
    const before = await newest("foo");
    expect(await codeOf(unary(bob, "Publish", { stream: "", value: Buffer.from("x") }))).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: "no stream provided",
    });
    expect(await codeOf(unary(bob, "Publish", { stream: "nope", value: Buffer.from("x") }))).toEqual({
      code: grpc.status.NOT_FOUND,
      details: "no such stream: nope",
    });
    expect(await codeOf(unary(bob, "Publish", { stream: "foo", value: Buffer.from("x") }))).toEqual(
      denied("Publish", "foo"),
    );
    expect(
      await codeOf(unary(bob, "Publish", { stream: "foo", partition: 3, value: Buffer.from("x") })),
    ).toEqual(denied("Publish", "foo"));
    expect(await newest("foo")).toBe(before);
  });

  it("Subscribe: setup errors first, authz after; a denied resume leaves the partition paused", async () => {
    expect((await subscribe(bob, { stream: "nope" }).status).code).toBe(grpc.status.NOT_FOUND);
    const bad = subscribe(bob, {
      stream: "foo",
      stopPosition: StopPosition.STOP_OFFSET,
      stopOffset: 0,
      startPosition: StartPosition.LATEST,
    });
    // stop 0 < start 1: a setup error, reported before the authz check
    expect((await bad.status).code).toBe(grpc.status.INVALID_ARGUMENT);
    const d = subscribe(bob, { stream: "foo", startPosition: StartPosition.EARLIEST });
    expect(await d.status).toEqual(denied("Subscribe", "foo"));
    expect(d.messages).toEqual([]); // no empty first message
    const rv = subscribe(bob, { stream: "foo", reverse: true });
    expect(await rv.status).toEqual(denied("Subscribe", "foo")); // reverse reads are checked too
    expect(rv.messages).toEqual([]);
    const r = subscribe(bob, { stream: "paused", resume: true });
    expect(await r.status).toEqual(denied("Subscribe", "paused"));
    expect(s.broker.core.stream("paused")!.partitions[0]!.paused).toBe(true);
  });

  it("PublishAsync: PERMISSION_DENIED per message, checked first, and the message is NOT published", async () => {
    const before = await newest("foo");
    const { res, code } = await publishAsync(bob, [
      { stream: "foo", correlationId: "d1" },
      { stream: "nope", correlationId: "d2" },
      { stream: "foo", partition: 9, correlationId: "d3" },
    ]);
    expect(code).toBe(grpc.status.OK);
    expect(res).toHaveLength(3);
    expect(
      res.map((r) => [r.correlationId, r.asyncError?.code, r.asyncError?.message, r.ack?.correlationId]),
    ).toEqual([
      [
        "d1",
        PublishAsyncErrorCode.PERMISSION_DENIED,
        "The client is not authorized to call Publish on resource foo",
        "",
      ],
      [
        "d2",
        PublishAsyncErrorCode.PERMISSION_DENIED,
        "The client is not authorized to call Publish on resource nope",
        "",
      ],
      [
        "d3",
        PublishAsyncErrorCode.PERMISSION_DENIED,
        "The client is not authorized to call Publish on resource foo",
        "",
      ],
    ]);
    // A later acked publish by alice lands right after the old end: bob's denied message was not stored.
    await unary(alice, "Publish", { stream: "foo", value: Buffer.from("after") });
    await waitFor(async () => (await newest("foo")) === before + 1, 20_000, "alice's publish");
    const sub = subscribe(alice, {
      stream: "foo",
      startPosition: StartPosition.OFFSET,
      startOffset: before + 1,
      stopPosition: StopPosition.STOP_LATEST,
    });
    await sub.status;
    expect(sub.messages.slice(1).map((m) => Buffer.from(m.value as Uint8Array).toString())).toEqual([
      "after",
    ]);
  });

  it("SetCursor / FetchCursor: empty stream and cursorId checks first, then authz", async () => {
    for (const method of ["SetCursor", "FetchCursor"]) {
      expect(await codeOf(unary(bob, method, { stream: "", cursorId: "c", offset: 1 }))).toEqual({
        code: grpc.status.INVALID_ARGUMENT,
        details: "No stream provided",
      });
      expect(await codeOf(unary(bob, method, { stream: "foo", cursorId: "", offset: 1 }))).toEqual({
        code: grpc.status.INVALID_ARGUMENT,
        details: "No cursorId provided",
      });
      expect(await codeOf(unary(bob, method, { stream: "foo", cursorId: "c", offset: 1 }))).toEqual(
        denied(method, "foo"),
      );
    }
    // alice needs no permission on __cursors (upstream's internal publish asks for one)
    await unary(alice, "SetCursor", { stream: "foo", cursorId: "c", partition: 0, offset: 7 });
    expect(
      Number(
        (await unary<{ offset: string }>(alice, "FetchCursor", { stream: "foo", cursorId: "c" })).offset,
      ),
    ).toBe(7);
  });

  it("a verified certificate without a CN: 'api: Failed to retrieve client ID'", async () => {
    expect(await codeOf(unary(nocn, "FetchMetadata", {}))).toEqual(CLIENT_ID);
    expect(await codeOf(unary(nocn, "DeleteStream", { name: "foo" }))).toEqual(CLIENT_ID);
    expect(await subscribe(nocn, { stream: "foo" }).status).toEqual(CLIENT_ID);
    const { res } = await publishAsync(nocn, [{ stream: "foo", correlationId: "n1" }]);
    expect(res).toMatchObject([
      {
        correlationId: "n1",
        asyncError: { code: PublishAsyncErrorCode.PERMISSION_DENIED, message: CLIENT_ID.details },
      },
    ]);
  });

  it("a client without a certificate cannot connect (client auth required)", async () => {
    const anon = tlsClient(s.broker.port, undefined);
    try {
      expect((await codeOf(unary(anon, "FetchMetadata", {}, 5000))).code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      anon.close();
    }
  });

  it("consumer-group RPCs are not checked", async () => {
    // bob and the CN-less client may call nothing else, yet both run a whole group lifecycle.
    for (const [who, client] of [
      ["bob", bob],
      ["nocn", nocn],
    ] as const) {
      const groupId = `g-${who}`;
      const join = (await unary(client, "JoinConsumerGroup", {
        groupId,
        consumerId: "c",
        streams: ["foo"],
      })) as { coordinator: string; epoch: bigint | number };
      expect(join.coordinator).not.toBe("");
      await unary(client, "FetchConsumerGroupAssignments", { groupId, consumerId: "c", epoch: join.epoch });
      await unary(client, "LeaveConsumerGroup", { groupId, consumerId: "c" });
    }
  });

  it("reloadAuthz() applies a new policy; a bad policy file keeps the previous one", async () => {
    const policy = path.join(s.dir, "policy.csv");
    expect(s.broker.authzEnabled).toBe(true);
    expect(await codeOf(unary(bob, "FetchMetadata", {}))).toEqual(denied("FetchMetadata", "*"));
    await writeFile(policy, `${POLICY}\np, bob, *, FetchMetadata\n`);
    await s.broker.reloadAuthz();
    expect(await unary(bob, "FetchMetadata", {})).toMatchObject({ brokers: [{ id: "s1" }] });
    await writeFile(policy, "p, bob, *\n");
    const err = await s.broker.reloadAuthz().catch((e: unknown) => e);
    expect(isBrokerError(err, "invalid_argument")).toBe(true);
    expect((err as Error).message).toContain("policy.csv: line 1: 2 fields");
    expect(await unary(bob, "FetchMetadata", {})).toMatchObject({ brokers: [{ id: "s1" }] });
    await writeFile(policy, POLICY);
    await s.broker.reloadAuthz();
    expect(await codeOf(unary(bob, "FetchMetadata", {}))).toEqual(denied("FetchMetadata", "*"));
  });
});

describe("authorization with requestCert but rejectUnauthorized false", () => {
  it("a client without a certificate reaches the API and gets 'api: Failed to retrieve client ID'", async () => {
    const s = await setup(false);
    const anon = tlsClient(s.broker.port, undefined);
    const alice = tlsClient(s.broker.port, "alice");
    try {
      expect(await codeOf(unary(anon, "FetchMetadata", {}))).toEqual(CLIENT_ID);
      expect(await codeOf(unary(anon, "CreateStream", { name: "foo", subject: "foo" }))).toEqual(CLIENT_ID);
      expect(await unary(alice, "FetchMetadata", {})).toMatchObject({ brokers: [{ id: "s1" }] });
      // cursors are off here: authz is checked before "Cursors stream does not exist"
      expect(await codeOf(unary(anon, "FetchCursor", { stream: "foo", cursorId: "c" }))).toEqual(CLIENT_ID);
      expect(await codeOf(unary(alice, "FetchCursor", { stream: "foo", cursorId: "c" }))).toEqual({
        code: grpc.status.INTERNAL,
        details: "Cursors stream does not exist",
      });
    } finally {
      anon.close();
      alice.close();
      await s.close();
    }
  });
});

describe("authorization configuration errors", () => {
  let dir: string;
  let nats: NatsServer;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "lb-authz-cfg-"));
    nats = await startNatsServer({ port: 0 });
    await writeFile(path.join(dir, "model.conf"), MODEL);
    await writeFile(
      path.join(dir, "rbac.conf"),
      MODEL.replace("[policy_effect]", "[role_definition]\ng = _, _\n\n[policy_effect]"),
    );
    await writeFile(path.join(dir, "policy.csv"), POLICY);
  });
  afterAll(async () => {
    await nats?.close();
    await rm(dir, { recursive: true, force: true });
  });
  const start = (grpcOptions: object, modelFile: string) =>
    startBroker({
      dataDir: path.join(dir, "data"),
      serverId: "s1",
      nats: nats.connect() as unknown as NatsConnection,
      raftBootstrapSeed: true,
      listenPort: 0,
      listenHost: "127.0.0.1",
      grpc: grpcOptions,
      authz: { modelFile: path.join(dir, modelFile), policyFile: path.join(dir, "policy.csv") },
    });

  it("refuses authz without TLS client certificates", async () => {
    const e = await start({}, "model.conf").catch((x: unknown) => x);
    expect(isBrokerError(e, "invalid_argument")).toBe(true);
    expect((e as Error).message).toContain("authorization needs TLS with client certificates");
    const noClientAuth = await start(
      { tls: { key: fixture("server.key"), cert: fixture("server.crt") } },
      "model.conf",
    ).catch((x: unknown) => x);
    expect(isBrokerError(noClientAuth, "invalid_argument")).toBe(true);
  });

  it("refuses an unsupported model at startup, naming the construct", async () => {
    const e = await start(
      { tls: { key: fixture("server.key"), cert: fixture("server.crt"), ca, requestCert: true } },
      "rbac.conf",
    ).catch((x: unknown) => x);
    expect(isBrokerError(e, "invalid_argument")).toBe(true);
    expect((e as Error).message).toContain("rbac.conf: line 7: [role_definition]: role definitions");
  });
});
