import { constants as h2 } from "node:http2";
import { describe, expect, it } from "vitest";
import {
  GrpcError,
  isGrpcError,
  Status,
  statusFromHttp,
  statusFromRstCode,
  statusName,
} from "../src/index.js";

describe("status", () => {
  it("names codes", () => {
    expect(statusName(Status.RESOURCE_EXHAUSTED)).toBe("RESOURCE_EXHAUSTED");
    expect(statusName(99)).toBe("UNKNOWN");
  });

  it("maps HTTP statuses (http-grpc-status-mapping.md)", () => {
    expect([400, 401, 403, 404, 429, 502, 503, 504, 500].map(statusFromHttp)).toEqual([
      Status.INTERNAL,
      Status.UNAUTHENTICATED,
      Status.PERMISSION_DENIED,
      Status.UNIMPLEMENTED,
      Status.UNAVAILABLE,
      Status.UNAVAILABLE,
      Status.UNAVAILABLE,
      Status.UNAVAILABLE,
      Status.UNKNOWN,
    ]);
  });

  it("maps RST_STREAM codes (PROTOCOL-HTTP2.md Errors)", () => {
    expect(statusFromRstCode(h2.NGHTTP2_REFUSED_STREAM)).toBe(Status.UNAVAILABLE);
    expect(statusFromRstCode(h2.NGHTTP2_CANCEL)).toBe(Status.CANCELLED);
    expect(statusFromRstCode(h2.NGHTTP2_ENHANCE_YOUR_CALM)).toBe(Status.RESOURCE_EXHAUSTED);
    expect(statusFromRstCode(h2.NGHTTP2_INADEQUATE_SECURITY)).toBe(Status.PERMISSION_DENIED);
    expect(statusFromRstCode(h2.NGHTTP2_PROTOCOL_ERROR)).toBe(Status.INTERNAL);
  });

  it("GrpcError carries code, wire details and metadata; isGrpcError checks structurally", () => {
    const e = new GrpcError(Status.NOT_FOUND, "no such stream", { "x-a": "1" });
    expect(e.message).toBe("[not_found] no such stream");
    expect(e.details).toBe("no such stream");
    expect(e.metadata).toEqual({ "x-a": ["1"] });
    expect(isGrpcError(e, Status.NOT_FOUND)).toBe(true);
    expect(isGrpcError(e, Status.INTERNAL)).toBe(false);
    expect(isGrpcError({ name: "GrpcError", code: 5, details: "" })).toBe(true);
    expect(isGrpcError(new Error("x"))).toBe(false);
  });
});
