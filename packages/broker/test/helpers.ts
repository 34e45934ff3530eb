import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { APIService } from "@liftbridge/api";
import { type NatsServer, startNatsServer } from "@liftbridge/nats-server";
import { type NatsConnection as NatsJs, connect as natsConnect } from "nats";
import {
  type Broker,
  fromNatsJs,
  type NatsConnection,
  type StartBrokerOptions,
  startBroker,
} from "../src/index.js";

// biome-ignore lint/suspicious/noExplicitAny: grpc-js generic client methods are untyped.
export type ApiClient = grpc.Client & Record<string, any>;

const ApiClientCtor = grpc.makeGenericClientConstructor(
  APIService as unknown as grpc.ServiceDefinition,
  "API",
) as unknown as new (
  address: string,
  creds: grpc.ChannelCredentials,
) => ApiClient;

/** A grpc-js client for proto.API, using @liftbridge/api's definitions. */
export function apiClient(port: number): ApiClient {
  return new ApiClientCtor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

/** Promisified unary call with a deadline. */
export function unary<Res>(client: ApiClient, method: string, req: object, timeoutMs = 10_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    client[method](req, { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, res: Res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

/** Unary call without a deadline (fire-and-forget semantics for Publish). */
export function unaryNoDeadline<Res>(client: ApiClient, method: string, req: object): Promise<Res> {
  return new Promise((resolve, reject) => {
    client[method](req, (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res)));
  });
}

/** The status code a promise rejects with. */
export async function codeOf(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as grpc.ServiceError;
    return { code: err.code, details: err.details };
  }
  throw new Error("expected the call to fail");
}

export interface Received {
  messages: Record<string, unknown>[];
  status: Promise<{ code: number; details: string }>;
  call: grpc.ClientReadableStream<Record<string, unknown>>;
}

/** Opens a Subscribe stream; collects messages (the first empty one included) and the final status. */
export function subscribe(client: ApiClient, req: object): Received {
  const call = client.Subscribe(req) as grpc.ClientReadableStream<Record<string, unknown>>;
  const messages: Record<string, unknown>[] = [];
  call.on("data", (m: Record<string, unknown>) => messages.push(m));
  const status = new Promise<{ code: number; details: string }>((resolve) => {
    call.on("status", (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details }));
    call.on("error", () => {});
  });
  return { messages, status, call };
}

/** Polls `fn` until it returns true or the deadline passes. */
export async function waitFor(
  fn: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  what = "condition",
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface Env {
  dir: string;
  nats: NatsServer;
  broker: Broker;
  client: ApiClient;
  /** An external nats.js connection to the same NATS server (plain publishers, user ack inboxes). */
  natsClient: NatsJs;
  restart(opts?: Partial<StartBrokerOptions>): Promise<void>;
  close(): Promise<void>;
}

/** Embedded NATS + a broker on the in-process connection + a grpc-js client. */
export async function startEnv(opts: Partial<StartBrokerOptions> = {}): Promise<Env> {
  const dir = await mkdtemp(path.join(tmpdir(), "lb-broker-"));
  const nats = await startNatsServer({ port: 0 });
  const natsClient = await natsConnect({ servers: `127.0.0.1:${nats.port}`, noAsyncTraces: true });
  const inproc = nats.connect({ name: "broker" });
  const make = (o: Partial<StartBrokerOptions>) =>
    startBroker({
      dataDir: dir,
      serverId: "s1",
      nats: inproc as unknown as NatsConnection,
      raftBootstrapSeed: true,
      listenPort: 0,
      listenHost: "127.0.0.1",
      ...opts,
      ...o,
    });
  const env: Env = {
    dir,
    nats,
    natsClient,
    broker: await make({}),
    client: undefined as unknown as ApiClient,
    async restart(o = {}) {
      env.client.close();
      await env.broker.close();
      env.broker = await make(o);
      env.client = apiClient(env.broker.port);
    },
    async close() {
      env.client.close();
      await env.broker.close({ graceMs: 0 });
      await natsClient.close();
      await nats.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  env.client = apiClient(env.broker.port);
  return env;
}

/** A broker on an external NATS server reached through nats.js. */
export async function startBrokerOnNats(url: string, dir: string, opts: Partial<StartBrokerOptions> = {}) {
  const nc = await natsConnect({ servers: url, noAsyncTraces: true });
  const broker = await startBroker({
    dataDir: dir,
    serverId: "s1",
    nats: fromNatsJs(nc),
    raftBootstrapSeed: true,
    listenPort: 0,
    listenHost: "127.0.0.1",
    ...opts,
  }).catch(async (e: unknown) => {
    await nc.close(); // a broker that failed to start must not leave its connection open
    throw e;
  });
  return { nc, broker };
}
