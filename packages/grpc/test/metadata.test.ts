import type { OutgoingHttpHeaders } from "node:http2";
import { describe, expect, it } from "vitest";
import { metadataFromRawHeaders, metadataToHeaders } from "../src/index.js";

describe("metadata", () => {
  it("reads user keys only, keeps duplicates apart, decodes -bin (padded, unpadded, comma-joined)", () => {
    const md = metadataFromRawHeaders([
      ":path",
      "/a.B/C",
      "content-type",
      "application/grpc",
      "te",
      "trailers",
      "user-agent",
      "x",
      "grpc-timeout",
      "1S",
      "x-a",
      "1, 2",
      "x-a",
      "3",
      "x-b-bin",
      "AAH/",
      "x-b-bin",
      "AQ==,Ag",
    ]);
    expect(md).toEqual({
      "x-a": ["1, 2", "3"],
      "x-b-bin": [Buffer.from([0, 1, 255]), Buffer.from([1]), Buffer.from([2])],
    });
  });

  it("writes lists as repeated headers and -bin values as unpadded base64", () => {
    const h: OutgoingHttpHeaders = {};
    metadataToHeaders({ "X-A": ["1", "2"], "x-b-bin": Buffer.from([1]), "x-c": "v" }, h);
    expect(h).toEqual({ "x-a": ["1", "2"], "x-b-bin": "AQ", "x-c": "v" });
  });

  it("rejects reserved keys and non-printable ASCII values", () => {
    expect(() => metadataToHeaders({ "grpc-status": "0" }, {})).toThrow(TypeError);
    expect(() => metadataToHeaders({ "content-type": "x" }, {})).toThrow(TypeError);
    expect(() => metadataToHeaders({ "x-a": "ü" }, {})).toThrow(TypeError);
    expect(() => metadataToHeaders({ "Bad Key": "v" }, {})).toThrow(TypeError);
  });

  it("round-trips binary values of every byte", () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const h: OutgoingHttpHeaders = {};
    metadataToHeaders({ "k-bin": bytes }, h);
    expect(metadataFromRawHeaders(["k-bin", String(h["k-bin"])])).toEqual({ "k-bin": [bytes] });
  });

  it("passes grpc-status-details-bin (rich error details) through, but no other grpc-* key", () => {
    const h: OutgoingHttpHeaders = {};
    metadataToHeaders({ "grpc-status-details-bin": Buffer.from([8, 5]) }, h);
    expect(h).toEqual({ "grpc-status-details-bin": "CAU" });
    expect(metadataFromRawHeaders(["grpc-status-details-bin", "CAU", "grpc-status", "5"])).toEqual({
      "grpc-status-details-bin": [Buffer.from([8, 5])],
    });
  });
});
