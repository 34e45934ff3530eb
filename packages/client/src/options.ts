import type { ClientTlsOptions } from "@liftbridge/grpc";
import { LiftbridgeError, LiftbridgeErrorCode } from "./errors.js";
import type { Metadata } from "./metadata.js";

/** Structural logger (pino-compatible). Defaults to silent. */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A logger that drops everything. */
export const noopLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * How "any broker" RPCs pick their broker (go-liftbridge `SelectionCriteria`): `random` (default),
 * `latency` (lowest FetchMetadata round trip measured at dial), `workload` (fewest partitions + leaders).
 */
export type ServerSelection = "random" | "latency" | "workload";

/** Options of {@link connect}: every go-liftbridge `ClientOption` as a typed field. */
export interface ClientOptions {
  /** Go `TLSConfig`: TLS settings (CA, client cert + key for mTLS); `true` = system CAs. Wins over `tlsCert`. */
  readonly tls?: ClientTlsOptions | true;
  /** Go `TLSCert`: PEM contents of the CA certificate to trust (Go takes a path; read the file yourself). */
  readonly tlsCert?: string | Uint8Array;
  /** Go `AckWaitTime`: how long publish waits for an ack when the call has no timeout. Default 5000 ms. */
  readonly ackWaitTimeMs?: number;
  /** Go `ResubscribeWaitTime`: how long a subscription keeps resubscribing after Unavailable. Default 30 000 ms. */
  readonly resubscribeWaitTimeMs?: number;
  /** Go `KeepAliveTime` (deprecated upstream): HTTP/2 PING interval. Default 30 000 ms; 0 = off. */
  readonly keepAliveTimeMs?: number;
  /** Go `MaxConnsPerBroker` (deprecated upstream, ignored there too): accepted for parity, unused. */
  readonly maxConnsPerBroker?: number;
  /**
   * Go `ReadBufferSize` (grpc-go's per-connection read buffer): here the HTTP/2 receive window per stream,
   * i.e. how many bytes a server may send ahead of the reader; -1 = transport default (1 MiB).
   */
  readonly readBufferSize?: number;
  /**
   * Go `WriteBufferSize` (grpc-go's socket write buffer): accepted for parity; the lean transport has no
   * such buffer (it writes everything produced in one event-loop turn at once), so it has no effect.
   */
  readonly writeBufferSize?: number;
  /** Go `SetConnectToLowLatencyServer` / `SetConnectToLowWorkloadServer`. Default `random`. */
  readonly serverSelection?: ServerSelection;
  /** Connection timeout of each broker connection. Default 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /** Logger; defaults to silent. */
  readonly logger?: Logger;
  /** Randomness (broker selection, ISR replica pick, ids); default `Math.random`. */
  readonly random?: () => number;
}

/** {@link ClientOptions} with defaults applied. */
export interface ResolvedClientOptions {
  readonly tls: ClientTlsOptions | true | undefined;
  readonly ackWaitTimeMs: number;
  readonly resubscribeWaitTimeMs: number;
  readonly keepAliveTimeMs: number;
  readonly maxConnsPerBroker: number;
  readonly readBufferSize: number;
  readonly writeBufferSize: number;
  readonly serverSelection: ServerSelection;
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
  readonly random: () => number;
}

/** Default ack wait (Go `AckWaitTime` default, 5 s). */
export const DEFAULT_ACK_WAIT_TIME_MS = 5000;
/** Default resubscribe wait (Go default, 30 s). */
export const DEFAULT_RESUBSCRIBE_WAIT_TIME_MS = 30_000;
/** Default keepalive (Go default, 30 s). */
export const DEFAULT_KEEPALIVE_TIME_MS = 30_000;

const invalid = (message: string): LiftbridgeError =>
  new LiftbridgeError(LiftbridgeErrorCode.InvalidArgument, message);

/** Applies defaults (go-liftbridge `DefaultClientOptions`) and validates. */
export function resolveClientOptions(options: ClientOptions = {}): ResolvedClientOptions {
  const nonNegative = (name: string, v: number | undefined, d: number): number => {
    if (v === undefined) return d;
    if (!Number.isFinite(v) || v < 0) throw invalid(`${name} must be a non-negative number`);
    return v;
  };
  const selection = options.serverSelection ?? "random";
  if (selection !== "random" && selection !== "latency" && selection !== "workload")
    throw invalid(`unknown serverSelection ${String(selection)}`);
  let tls: ClientTlsOptions | true | undefined = options.tls;
  if (tls === undefined && options.tlsCert !== undefined) tls = { ca: Buffer.from(options.tlsCert) };
  return {
    tls,
    ackWaitTimeMs: nonNegative("ackWaitTimeMs", options.ackWaitTimeMs, DEFAULT_ACK_WAIT_TIME_MS),
    resubscribeWaitTimeMs: nonNegative(
      "resubscribeWaitTimeMs",
      options.resubscribeWaitTimeMs,
      DEFAULT_RESUBSCRIBE_WAIT_TIME_MS,
    ),
    keepAliveTimeMs: nonNegative("keepAliveTimeMs", options.keepAliveTimeMs, DEFAULT_KEEPALIVE_TIME_MS),
    maxConnsPerBroker: options.maxConnsPerBroker ?? 2,
    readBufferSize: options.readBufferSize ?? -1,
    writeBufferSize: options.writeBufferSize ?? -1,
    serverSelection: selection,
    connectTimeoutMs: nonNegative("connectTimeoutMs", options.connectTimeoutMs, 10_000),
    logger: options.logger ?? noopLogger,
    random: options.random ?? Math.random,
  };
}

/** Per-call options, standing in for Go's `ctx`. */
export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/** go-liftbridge `MaxReplicationFactor`: replicate to every broker. */
export const MAX_REPLICATION_FACTOR = -1;

/** Options of `createStream` (go-liftbridge `StreamOptions`). Unset = server default. Durations in ms. */
export interface StreamOptions extends CallOptions {
  /** Go `Group`: NATS queue group. */
  readonly group?: string;
  /** Go `ReplicationFactor` / `MaxReplication()` (= {@link MAX_REPLICATION_FACTOR}). */
  readonly replicationFactor?: number;
  /** Go `Partitions`; negative is an error. */
  readonly partitions?: number;
  readonly retentionMaxBytes?: number;
  readonly retentionMaxMessages?: number;
  readonly retentionMaxAgeMs?: number;
  readonly cleanerIntervalMs?: number;
  readonly segmentMaxBytes?: number;
  readonly segmentMaxAgeMs?: number;
  readonly compactMaxGoroutines?: number;
  readonly compactEnabled?: boolean;
  readonly autoPauseTimeMs?: number;
  readonly autoPauseDisableIfSubscribers?: boolean;
  /** Go `MinISR`. */
  readonly minIsr?: number;
  readonly optimisticConcurrencyControl?: boolean;
  readonly encryption?: boolean;
}

/** Options of `pauseStream` (Go `PausePartitions`, `ResumeAll`). */
export interface PauseOptions extends CallOptions {
  /** Partitions to pause; empty/absent = all. */
  readonly partitions?: readonly number[];
  readonly resumeAll?: boolean;
}

/** Options of `setStreamReadonly` (Go `ReadonlyPartitions`, `Readonly`). */
export interface ReadonlyOptions extends CallOptions {
  readonly partitions?: readonly number[];
  /** Default true (Go: no option sets read-only). */
  readonly readonly?: boolean;
}

/** Options of `fetchMetadata` (Go `Streams`, `ConsumerGroups`). */
export interface MetadataOptions extends CallOptions {
  readonly streams?: readonly string[];
  readonly consumerGroups?: readonly string[];
}

/** Go `AckPolicyLeader` / `AckPolicyAll` / `AckPolicyNone`. */
export type AckPolicyName = "leader" | "all" | "none";

/** A custom partitioner (Go `Partitioner`): returns the partition for a message. */
export type Partitioner = (
  stream: string,
  key: Uint8Array | undefined,
  value: Uint8Array,
  metadata: Metadata,
) => number;

/** Options of a publish (go-liftbridge `MessageOptions`). */
export interface MessageOptions {
  readonly key?: Uint8Array;
  /** Go `AckInbox` (PublishToSubject; the server overrides it on PublishAsync). */
  readonly ackInbox?: string;
  /** Go `CorrelationID`; generated when absent. */
  readonly correlationId?: string;
  /** Default `leader`. */
  readonly ackPolicy?: AckPolicyName;
  /** Go `Header` / `Headers`. */
  readonly headers?: Readonly<Record<string, Uint8Array>> | ReadonlyMap<string, Uint8Array>;
  /** Go `ToPartition`: wins over any partitioner. */
  readonly partition?: number;
  /** Go `PartitionByKey()` = `"key"`, `PartitionByRoundRobin()` = `"roundRobin"`, `PartitionBy(f)` = f. */
  readonly partitioner?: "key" | "roundRobin" | Partitioner;
  /** Go `ExpectedOffset`; default -1 (no check). */
  readonly expectedOffset?: number;
}

/** Where a subscription starts (Go `StartAt*`). Default `"newOnly"`. */
export type StartAt =
  | "newOnly"
  | "earliest"
  | "latest"
  | { readonly offset: number }
  | { readonly time: Date | number }
  | { readonly timeDeltaMs: number };

/** Where a subscription stops (Go `StopAt*`). Default: never (until closed). */
export type StopAt = "latest" | { readonly offset: number } | { readonly time: Date | number };

export function assertSafeInteger(name: string, v: number, min = Number.MIN_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(v) || v < min)
    throw invalid(`${name} must be a safe integer >= ${min}, got ${v}`);
}
