import { GrpcError } from "./errors.js";
import type { ServerCall, ServerWritableCall } from "./server-call.js";
import type { MethodDefinition } from "./service.js";
import { Status } from "./status.js";

/** `grpc.health.v1.HealthCheckResponse.ServingStatus`. */
export const ServingStatus = {
  UNKNOWN: 0,
  SERVING: 1,
  NOT_SERVING: 2,
  /** Only in `Watch` responses: the service is not known to the server. */
  SERVICE_UNKNOWN: 3,
} as const;
/** One of the {@link ServingStatus} values. */
export type ServingStatus = (typeof ServingStatus)[keyof typeof ServingStatus];

/** `grpc.health.v1.HealthCheckRequest`. */
export interface HealthCheckRequest {
  /** The service name; "" means the server as a whole. */
  service: string;
}
/** `grpc.health.v1.HealthCheckResponse`. */
export interface HealthCheckResponse {
  status: ServingStatus;
}

// The two messages are tiny, so they are encoded by hand: this package needs no protobuf library.
// HealthCheckRequest { string service = 1; }  HealthCheckResponse { ServingStatus status = 1; }

/** Encodes a `HealthCheckRequest` (protobuf wire format). */
export function encodeHealthCheckRequest(request: HealthCheckRequest): Buffer {
  const service = Buffer.from(request.service, "utf8");
  if (service.length === 0) return Buffer.alloc(0); // proto3 omits default values
  const len = encodeVarint(service.length);
  return Buffer.concat([Buffer.from([0x0a]), len, service]);
}

/** Decodes a `HealthCheckRequest`; unknown fields are skipped. Throws `RangeError` on malformed bytes. */
export function decodeHealthCheckRequest(bytes: Buffer): HealthCheckRequest {
  let service = "";
  forEachField(bytes, (field, wireType, value) => {
    if (field === 1 && wireType === 2 && Buffer.isBuffer(value)) service = value.toString("utf8");
  });
  return { service };
}

/** Encodes a `HealthCheckResponse`. */
export function encodeHealthCheckResponse(response: HealthCheckResponse): Buffer {
  if (response.status === 0) return Buffer.alloc(0);
  return Buffer.concat([Buffer.from([0x08]), encodeVarint(response.status)]);
}

/** Decodes a `HealthCheckResponse` (a missing status is UNKNOWN, proto3 pitfall §4.4). */
export function decodeHealthCheckResponse(bytes: Buffer): HealthCheckResponse {
  let status = 0;
  forEachField(bytes, (field, wireType, value) => {
    if (field === 1 && wireType === 0 && typeof value === "number") status = value;
  });
  return { status: (status >= 0 && status <= 3 ? status : 0) as ServingStatus };
}

function encodeVarint(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

function forEachField(
  bytes: Buffer,
  visit: (field: number, wireType: number, value: number | Buffer | undefined) => void,
): void {
  let pos = 0;
  const readVarint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= bytes.length) throw new RangeError("truncated varint");
      const b = bytes[pos++] as number;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new RangeError("varint too long");
  };
  while (pos < bytes.length) {
    const tag = readVarint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === 0) visit(field, wireType, readVarint());
    else if (wireType === 2) {
      const len = readVarint();
      if (pos + len > bytes.length) throw new RangeError("truncated field");
      visit(field, wireType, bytes.subarray(pos, pos + len));
      pos += len;
    } else if (wireType === 1) pos += 8;
    else if (wireType === 5) pos += 4;
    else throw new RangeError(`unsupported wire type ${wireType}`);
    if (pos > bytes.length) throw new RangeError("truncated field");
  }
}

/** The `grpc.health.v1.Health` service definition (for servers and clients). */
export const HealthDefinition = {
  check: {
    path: "/grpc.health.v1.Health/Check",
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeHealthCheckRequest,
    requestDeserialize: decodeHealthCheckRequest,
    responseSerialize: encodeHealthCheckResponse,
    responseDeserialize: decodeHealthCheckResponse,
    originalName: "Check",
  } as MethodDefinition<HealthCheckRequest, HealthCheckResponse> & {
    requestStream: false;
    responseStream: false;
  },
  watch: {
    path: "/grpc.health.v1.Health/Watch",
    requestStream: false,
    responseStream: true,
    requestSerialize: encodeHealthCheckRequest,
    requestDeserialize: decodeHealthCheckRequest,
    responseSerialize: encodeHealthCheckResponse,
    responseDeserialize: decodeHealthCheckResponse,
    originalName: "Watch",
  } as MethodDefinition<HealthCheckRequest, HealthCheckResponse> & {
    requestStream: false;
    responseStream: true;
  },
} as const;

/**
 * The standard health service (grpc `doc/health-checking.md`): `Check` answers the current status of a
 * service (NOT_FOUND for an unknown one); `Watch` streams the status now and on every change
 * (SERVICE_UNKNOWN for an unknown one, without ending the call).
 */
export interface HealthService {
  /** Pass to `server.addService(health.definition, health.handlers)`. */
  readonly definition: typeof HealthDefinition;
  readonly handlers: {
    readonly check: (request: HealthCheckRequest, call: ServerCall) => HealthCheckResponse;
    readonly watch: (
      request: HealthCheckRequest,
      call: ServerWritableCall<HealthCheckResponse>,
    ) => Promise<void>;
  };
  /** Sets the status of `service` ("" is the whole server) and notifies its watchers. */
  setStatus(service: string, status: ServingStatus): void;
  /** The status of `service`, or `undefined` when unknown. */
  getStatus(service: string): ServingStatus | undefined;
  /** Marks every known service NOT_SERVING (call it when shutting down). */
  shutdown(): void;
}

/**
 * Creates a health service; `initial` sets the first statuses (by default `{ "": SERVING }`).
 */
export function createHealthService(
  initial: Readonly<Record<string, ServingStatus>> = { "": ServingStatus.SERVING },
): HealthService {
  const statuses = new Map<string, ServingStatus>(Object.entries(initial));
  const watchers = new Map<string, Set<(status: ServingStatus) => void>>();
  const notify = (service: string, status: ServingStatus): void => {
    for (const w of watchers.get(service) ?? []) w(status);
  };
  return {
    definition: HealthDefinition,
    handlers: {
      check(request) {
        const status = statuses.get(request.service);
        if (status === undefined) throw new GrpcError(Status.NOT_FOUND, `unknown service ${request.service}`);
        return { status };
      },
      async watch(request, call) {
        const service = request.service;
        let last: ServingStatus | undefined;
        const send = (status: ServingStatus): void => {
          if (status === last) return;
          last = status;
          call.send({ status });
        };
        send(statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN);
        let set = watchers.get(service);
        if (set === undefined) {
          set = new Set();
          watchers.set(service, set);
        }
        set.add(send);
        try {
          await new Promise<void>((resolve) => {
            if (call.signal.aborted) resolve();
            else call.signal.addEventListener("abort", () => resolve(), { once: true });
          });
        } finally {
          set.delete(send);
          if (set.size === 0) watchers.delete(service);
        }
      },
    },
    setStatus(service, status) {
      statuses.set(service, status);
      notify(service, status);
    },
    getStatus(service) {
      return statuses.get(service);
    },
    shutdown() {
      for (const service of statuses.keys()) {
        statuses.set(service, ServingStatus.NOT_SERVING);
        notify(service, ServingStatus.NOT_SERVING);
      }
    },
  };
}
