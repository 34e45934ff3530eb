/**
 * Serving a broker over gRPC: `proto.API` plus the standard health service (`proto.API` and `""`
 * SERVING while running, NOT_SERVING when stopping), on `@liftbridge/grpc`.
 * @module
 */
import { APIService, HEALTH_SERVICE_NAME } from "@liftbridge/api";
import {
  createHealthService,
  createServer,
  type GrpcServer,
  type ServerOptions,
  ServingStatus,
} from "@liftbridge/grpc";
import { createApiHandlers } from "./api-service.js";
import { type Authorizer, type AuthzOptions, openAuthorizer } from "./authz.js";
import { type BrokerCore, type BrokerOptions, BrokerCore as Core } from "./broker.js";
import { BrokerError, BrokerErrorCode } from "./errors.js";
import { noopLogger } from "./logger.js";

/**
 * `proto.API` as served: Subscribe's handler sends messages already encoded from the log bytes
 * (`message-encoder.ts`) and PublishAsync's sends successful acks encoded by hand
 * (`publish-response-encoder.ts`), so their response serializers pass buffers through and encode
 * anything else.
 */
const API_SERVICE = {
  ...APIService,
  Subscribe: {
    ...APIService.Subscribe,
    responseSerialize: (m: Parameters<typeof APIService.Subscribe.responseSerialize>[0]): Buffer =>
      Buffer.isBuffer(m) ? m : APIService.Subscribe.responseSerialize(m),
  },
  PublishAsync: {
    ...APIService.PublishAsync,
    responseSerialize: (m: Parameters<typeof APIService.PublishAsync.responseSerialize>[0]): Buffer =>
      Buffer.isBuffer(m) ? m : APIService.PublishAsync.responseSerialize(m),
  },
};

/** Options of {@link startBroker}. */
export interface StartBrokerOptions extends BrokerOptions {
  /** Port to listen on; 0 picks a free one. Default: the advertised `port` (9292). */
  readonly listenPort?: number;
  /** Bind address. Default `0.0.0.0`. */
  readonly listenHost?: string;
  /** gRPC server options (TLS, limits). */
  readonly grpc?: ServerOptions;
  /**
   * Authorization (`tls.client.authz.*`): the Casbin model and policy files. Needs `grpc.tls` with
   * `requestCert: true` (client certificates); the client ID is the verified certificate's CN.
   */
  readonly authz?: Omit<AuthzOptions, "logger">;
}

/** A running broker: its gRPC server and the broker core. */
export interface Broker extends AsyncDisposable {
  /** This server's id. */
  readonly serverId: string;
  /** The bound gRPC port. */
  readonly port: number;
  /** The gRPC server. */
  readonly server: GrpcServer;
  /** @internal The broker core (metadata, partitions). */
  readonly core: BrokerCore;
  /** Whether authorization is on (the `authz` option). */
  readonly authzEnabled: boolean;
  /**
   * Re-reads the authorization policy file (what SIGHUP does). A bad or unreadable file keeps the
   * previous policy, is logged at `error`, and rejects with `BrokerError` (`invalid_argument` / `io`);
   * rejects `invalid_argument` when authorization is off.
   */
  reloadAuthz(): Promise<void>;
  /**
   * Stops: health NOT_SERVING, gRPC shutdown (in-flight calls get `graceMs`, default 2000), then every
   * partition is closed after its in-flight append. Idempotent.
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

/**
 * Opens a broker from `data.dir` (recovering streams, partitions and offsets) and serves it over gRPC.
 * Throws `BrokerError` (`raft` without state and bootstrap flag, `invalid_argument`) or a listen error.
 */
export async function startBroker(options: StartBrokerOptions): Promise<Broker> {
  let authz: Authorizer | undefined;
  if (options.authz !== undefined) {
    if (options.grpc?.tls?.requestCert !== true) {
      throw new BrokerError(
        BrokerErrorCode.InvalidArgument,
        "authorization needs TLS with client certificates (grpc.tls with requestCert: true)",
      );
    }
    authz = await openAuthorizer({ ...options.authz, logger: options.logger ?? noopLogger });
  }
  const core = await Core.open(options);
  const server = createServer(options.grpc ?? {});
  const health = createHealthService({
    "": ServingStatus.SERVING,
    [HEALTH_SERVICE_NAME]: ServingStatus.SERVING,
  });
  server.addService(API_SERVICE, createApiHandlers(core, authz === undefined ? {} : { authz }));
  server.addService(health.definition, health.handlers);
  let port: number;
  try {
    port = await server.listen(options.listenPort ?? options.port ?? 9292, options.listenHost ?? "0.0.0.0");
  } catch (e) {
    await core.close();
    throw e;
  }
  if (core.advertisedPort === 0) core.advertisedPort = port;
  let closing: Promise<void> | undefined;
  const close = (o?: { graceMs?: number }): Promise<void> => {
    closing ??= (async () => {
      health.shutdown();
      await server.close({ graceMs: o?.graceMs ?? 2000 });
      await core.close();
    })();
    return closing;
  };
  return {
    serverId: core.options.serverId,
    port,
    server,
    core,
    authzEnabled: authz !== undefined,
    reloadAuthz: () =>
      authz === undefined
        ? Promise.reject(new BrokerError(BrokerErrorCode.InvalidArgument, "authorization is not enabled"))
        : authz.reload(),
    close,
    [Symbol.asyncDispose]: () => close(),
  };
}
