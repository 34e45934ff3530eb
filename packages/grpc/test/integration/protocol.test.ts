// Wire-level compliance of our server, probed with raw node:http2 requests (no gRPC library in between).
import { constants as h2 } from "node:http2";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type GrpcServer, Status } from "../../src/index.js";
import { prefix, rawRequest, rawStatus } from "../helpers/raw-http2.js";
import { startTestServer, type TestStats } from "../helpers/test-service.js";

const framed = (payload: Buffer, flag = 0): Buffer => Buffer.concat([prefix(payload.length, flag), payload]);

describe("server protocol compliance (raw HTTP/2 probes)", () => {
  let server: GrpcServer;
  let port: number;
  let stats: TestStats;

  beforeAll(async () => {
    ({ server, port, stats } = await startTestServer());
  });
  afterAll(async () => {
    await server.close({ graceMs: 100 });
  });

  it("response headers: :status 200, content-type application/grpc, grpc-status 0 trailer on OK", async () => {
    const r = await rawRequest(port, [framed(Buffer.from("abc"))]);
    expect(r.headers?.[":status"]).toBe(200);
    expect(r.headers?.["content-type"]).toBe("application/grpc");
    expect(r.headers?.["grpc-accept-encoding"]).toBe("identity,gzip,deflate");
    expect(r.trailers?.["grpc-status"]).toBe("0");
    expect(r.data.equals(framed(Buffer.from("abc")))).toBe(true);
  });

  it("accepts application/grpc+proto and ;params content types and does not require te", async () => {
    for (const ct of ["application/grpc+proto", "application/grpc;charset=utf-8"]) {
      const r = await rawRequest(port, [framed(Buffer.from("x"))], { "content-type": ct, te: undefined });
      expect(rawStatus(r)).toBe(Status.OK);
    }
  });

  it("non-POST gives HTTP 405; a non-gRPC content-type gives HTTP 415", async () => {
    const get = await rawRequest(port, [], { ":method": "GET" }, { endStream: true });
    expect(get.headers?.[":status"]).toBe(405);
    const json = await rawRequest(port, [Buffer.from("{}")], { "content-type": "application/json" });
    expect(json.headers?.[":status"]).toBe(415);
  });

  it("unknown method: UNIMPLEMENTED as a trailers-only response (one HEADERS frame with END_STREAM)", async () => {
    const r = await rawRequest(port, [framed(Buffer.from("x"))], { ":path": "/test.Test/Missing" });
    expect(r.headersEndStream).toBe(true);
    expect(r.headers?.["grpc-status"]).toBe(String(Status.UNIMPLEMENTED));
    expect(r.headers?.["content-type"]).toBe("application/grpc");
    expect(r.trailers).toBeUndefined();
  });

  it("grpc-message is percent-encoded UTF-8", async () => {
    const body = Buffer.from(JSON.stringify({ code: Status.NOT_FOUND, message: "ü 100%\n" }));
    const r = await rawRequest(port, [framed(body)], { ":path": "/test.Test/Fail" });
    expect(r.headers?.["grpc-message"]).toBe("%C3%BC 100%25%0A");
  });

  it("unsupported grpc-encoding: UNIMPLEMENTED with grpc-accept-encoding", async () => {
    const r = await rawRequest(port, [framed(Buffer.from("x"), 1)], { "grpc-encoding": "snappy" });
    expect(rawStatus(r)).toBe(Status.UNIMPLEMENTED);
    expect(r.headers?.["grpc-accept-encoding"]).toBe("identity,gzip,deflate");
  });

  it("gzip and deflate requests are decoded; a compressed flag without grpc-encoding is INTERNAL", async () => {
    const gz = await rawRequest(port, [framed(gzipSync(Buffer.from("zipped")), 1)], {
      "grpc-encoding": "gzip",
    });
    expect(rawStatus(gz)).toBe(Status.OK);
    expect(gz.data.subarray(5).toString()).toBe("zipped");
    const noEnc = await rawRequest(port, [framed(Buffer.from("x"), 1)]);
    expect(rawStatus(noEnc)).toBe(Status.INTERNAL);
  });

  it("the size limit applies after decompression (zip bomb gives RESOURCE_EXHAUSTED)", async () => {
    const bomb = gzipSync(Buffer.alloc(5 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(100_000);
    const r = await rawRequest(port, [framed(bomb, 1)], { "grpc-encoding": "gzip" });
    expect(rawStatus(r)).toBe(Status.RESOURCE_EXHAUSTED);
  });

  it("a malformed grpc-timeout is rejected with INTERNAL", async () => {
    const r = await rawRequest(port, [framed(Buffer.from("x"))], { "grpc-timeout": "123456789m" });
    expect(rawStatus(r)).toBe(Status.INTERNAL);
  });

  it("the server enforces grpc-timeout on its own: RST_STREAM(CANCEL) and the handler is signalled", async () => {
    const body = Buffer.from(JSON.stringify({ ms: 10_000, id: "raw-dl" }));
    const r = await rawRequest(port, [framed(body)], { ":path": "/test.Test/Sleep", "grpc-timeout": "200m" });
    expect(r.rstCode).toBe(h2.NGHTTP2_CANCEL);
    expect(rawStatus(r)).toBeUndefined();
    await vi.waitFor(() =>
      expect(stats.events).toContain(`sleep:raw-dl:aborted:${Status.DEADLINE_EXCEEDED}`),
    );
  });

  it("early server closure: status before the client's END_STREAM is followed by RST_STREAM(NO_ERROR)", async () => {
    // A bidi call whose client never half-closes; the server ends it with an error right away.
    const r = await rawRequest(
      port,
      [framed(Buffer.from("x"))],
      { ":path": "/test.Test/Missing" },
      { endStream: false },
    );
    expect(rawStatus(r)).toBe(Status.UNIMPLEMENTED);
    expect(r.rstCode).toBe(h2.NGHTTP2_NO_ERROR);
  });

  it("early server closure after a normal response: trailers, then RST_STREAM(NO_ERROR)", async () => {
    const r = await rawRequest(
      port,
      [framed(Buffer.from("only"))],
      { ":path": "/test.Test/First" },
      { endStream: false },
    );
    expect(r.data.equals(framed(Buffer.from("only")))).toBe(true);
    expect(r.trailers?.["grpc-status"]).toBe("0");
    expect(r.rstCode).toBe(h2.NGHTTP2_NO_ERROR);
  });

  it("a unary method with two request messages or none is an error", async () => {
    const two = await rawRequest(port, [framed(Buffer.from("a")), framed(Buffer.from("b"))]);
    expect(rawStatus(two)).toBe(Status.INTERNAL);
    const none = await rawRequest(port, []);
    expect(rawStatus(none)).toBe(Status.INTERNAL);
  });

  it("messages split across DATA frames at every byte are reassembled", async () => {
    const whole = Buffer.concat([framed(Buffer.from("0123456789"))]);
    const pieces = [...whole].map((b) => Buffer.from([b]));
    const r = await rawRequest(port, pieces);
    expect(rawStatus(r)).toBe(Status.OK);
    expect(r.data.subarray(5).toString()).toBe("0123456789");
  });
});
