/**
 * `tls.client.auth.*` and `tls.client.authz.*` through the config file, and SIGHUP reloading the policy
 * of a `liftbridge` child process. Certificates: packages/broker/test/fixtures/authz (README there).
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { APIService } from "@liftbridge/api";
import { SAMPLE_AUTHZ_MODEL } from "@liftbridge/broker";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ApiClient, apiClient, logLines, type ServerProcess, startServer, unary } from "./helpers.js";

const FIXTURES = fileURLToPath(new URL("../../../packages/broker/test/fixtures/authz/", import.meta.url));
const fixture = (name: string): string => path.join(FIXTURES, name);

const Ctor = grpc.makeGenericClientConstructor(
  APIService as unknown as grpc.ServiceDefinition,
  "API",
) as unknown as new (
  a: string,
  c: grpc.ChannelCredentials,
  o: grpc.ClientOptions,
) => ApiClient;

function tlsClient(port: number, who: "alice" | "bob" | undefined): ApiClient {
  const ca = readFileSync(fixture("ca.crt"));
  const creds =
    who === undefined
      ? grpc.credentials.createSsl(ca)
      : grpc.credentials.createSsl(
          ca,
          readFileSync(fixture(`${who}.key`)),
          readFileSync(fixture(`${who}.crt`)),
        );
  // The certificate also names localhost: an IP as TLS server name draws a Node deprecation warning.
  return new Ctor(`127.0.0.1:${port}`, creds, { "grpc.ssl_target_name_override": "localhost" });
}

/** The status of a call that must fail. */
async function statusOf(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as grpc.ServiceError;
    return { code: err.code, details: err.details };
  }
  throw new Error("expected the call to fail");
}

async function waitFor(
  fn: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const MODEL = SAMPLE_AUTHZ_MODEL;
const ALICE_ONLY = "p, alice, *, FetchMetadata\n";
const DENIED = {
  code: grpc.status.UNKNOWN,
  details: "The client is not authorized to call FetchMetadata on resource *",
};

describe("liftbridge with tls.client.authz", () => {
  let dir: string;
  let server: ServerProcess | undefined;
  const clients: ApiClient[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "lb-authz-server-"));
    server = undefined;
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    if (server !== undefined && server.proc.exitCode === null) server.proc.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });
  const start = async (config: Record<string, string | boolean>) => {
    const file = path.join(dir, "liftbridge.yaml");
    await writeFile(
      file,
      Object.entries(config)
        .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
        .join("\n"),
    );
    server = await startServer([
      "--raft-bootstrap-seed",
      "-d",
      path.join(dir, "data"),
      "-p",
      "0",
      "--embedded-nats-port",
      "0",
      "-c",
      file,
    ]);
    return server;
  };
  const tls = () => ({
    "tls.key": fixture("server.key"),
    "tls.cert": fixture("server.crt"),
    "tls.client.auth.enabled": true,
    "tls.client.auth.ca": fixture("ca.crt"),
  });

  it("SIGHUP reloads the policy file: the decision changes; a bad file keeps the previous policy", async () => {
    const policy = path.join(dir, "policy.csv");
    await writeFile(path.join(dir, "model.conf"), MODEL);
    await writeFile(policy, ALICE_ONLY);
    const s = await start({
      ...tls(),
      "tls.client.authz.enabled": true,
      "tls.client.authz.model": path.join(dir, "model.conf"),
      "tls.client.authz.policy": policy,
    });
    const alice = tlsClient(s.port, "alice");
    const bob = tlsClient(s.port, "bob");
    const anonymous = tlsClient(s.port, undefined);
    clients.push(alice, bob, anonymous);
    expect(await unary(alice, "FetchMetadata", {})).toMatchObject({ brokers: [{ id: s.serverId }] });
    expect(await statusOf(unary(bob, "FetchMetadata", {}))).toEqual(DENIED);
    // tls.client.auth.enabled: no client certificate, no connection
    expect((await statusOf(unary(anonymous, "FetchMetadata", {}))).code).toBe(grpc.status.UNAVAILABLE);

    await writeFile(policy, `${ALICE_ONLY}p, bob, *, FetchMetadata\n`);
    s.proc.kill("SIGHUP");
    await waitFor(() => logLines(s.output, "authz policy reloaded").length === 1, "the reload log line");
    expect(await unary(bob, "FetchMetadata", {})).toMatchObject({ brokers: [{ id: s.serverId }] });

    await writeFile(policy, "p, bob, *\n");
    s.proc.kill("SIGHUP");
    await waitFor(
      () => logLines(s.output, "authz policy reload failed: keeping the previous policy").length === 1,
      "the reload failure log line",
    );
    const failed = logLines(s.output, "authz policy reload failed: keeping the previous policy")[0]!;
    expect(failed).toMatchObject({ level: 50, component: "authz", policyFile: policy, rules: 2 });
    expect(JSON.stringify(failed.err)).toContain("line 1: 2 fields");
    expect(await unary(bob, "FetchMetadata", {})).toMatchObject({ brokers: [{ id: s.serverId }] });

    await writeFile(policy, ALICE_ONLY);
    s.proc.kill("SIGHUP");
    await waitFor(() => logLines(s.output, "authz policy reloaded").length === 2, "the second reload");
    expect(await statusOf(unary(bob, "FetchMetadata", {}))).toEqual(DENIED);

    s.proc.kill("SIGINT");
    expect(await s.exited).toBe(0);
  });

  it("SIGHUP without authorization logs and keeps serving (upstream crashes)", async () => {
    const s = await start({});
    const c = apiClient(s.port);
    clients.push(c);
    s.proc.kill("SIGHUP");
    await waitFor(
      () => logLines(s.output, "authorization is off: nothing to reload").length === 1,
      "the SIGHUP log line",
    );
    expect(await unary(c, "FetchMetadata", {})).toMatchObject({ brokers: [{ id: s.serverId }] });
    s.proc.kill("SIGINT");
    expect(await s.exited).toBe(0);
  });

  it("an unsupported model stops startup with an error naming the construct", async () => {
    await writeFile(path.join(dir, "model.conf"), MODEL.replace("r.sub == p.sub", "g(r.sub, p.sub)"));
    await writeFile(path.join(dir, "policy.csv"), ALICE_ONLY);
    const err = await start({
      ...tls(),
      "tls.client.authz.enabled": true,
      "tls.client.authz.model": path.join(dir, "model.conf"),
      "tls.client.authz.policy": path.join(dir, "policy.csv"),
    }).catch((e: unknown) => e);
    expect(String(err)).toContain("server exited with 1");
    expect(String(err)).toContain("role function g() is not supported");
  });
});
