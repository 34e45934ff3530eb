import { describe, expect, it } from "vitest";
import {
  createHealthService,
  decodeHealthCheckRequest,
  decodeHealthCheckResponse,
  encodeHealthCheckRequest,
  encodeHealthCheckResponse,
  isGrpcError,
  ServingStatus,
  Status,
} from "../src/index.js";

describe("grpc.health.v1 codec (hand-encoded protobuf)", () => {
  it("matches the protobuf wire format", () => {
    expect(encodeHealthCheckRequest({ service: "" })).toEqual(Buffer.alloc(0));
    expect(encodeHealthCheckRequest({ service: "proto.API" })).toEqual(
      Buffer.from("\x0a\x09proto.API", "latin1"),
    );
    expect(encodeHealthCheckResponse({ status: ServingStatus.SERVING })).toEqual(Buffer.from([0x08, 0x01]));
    expect(encodeHealthCheckResponse({ status: ServingStatus.UNKNOWN })).toEqual(Buffer.alloc(0));
  });

  it("decodes, treating omitted fields as defaults and skipping unknown fields", () => {
    expect(decodeHealthCheckRequest(Buffer.alloc(0))).toEqual({ service: "" });
    expect(decodeHealthCheckResponse(Buffer.alloc(0))).toEqual({ status: ServingStatus.UNKNOWN });
    const withUnknown = Buffer.from([0x10, 0x05, 0x1a, 0x01, 0x41, 0x0a, 0x01, 0x78, 0x25, 1, 2, 3, 4]);
    expect(decodeHealthCheckRequest(withUnknown)).toEqual({ service: "x" });
    expect(() => decodeHealthCheckRequest(Buffer.from([0x0a, 0x05, 0x41]))).toThrow(RangeError);
  });
});

describe("health service", () => {
  it("Check answers known services and NOT_FOUND for unknown ones", () => {
    const health = createHealthService({ "": ServingStatus.SERVING, "proto.API": ServingStatus.NOT_SERVING });
    const call = {} as Parameters<typeof health.handlers.check>[1];
    expect(health.handlers.check({ service: "" }, call)).toEqual({ status: ServingStatus.SERVING });
    expect(health.handlers.check({ service: "proto.API" }, call)).toEqual({
      status: ServingStatus.NOT_SERVING,
    });
    try {
      health.handlers.check({ service: "nope" }, call);
      expect.unreachable();
    } catch (e) {
      expect(isGrpcError(e, Status.NOT_FOUND)).toBe(true);
    }
    health.shutdown();
    expect(health.getStatus("")).toBe(ServingStatus.NOT_SERVING);
  });
});
