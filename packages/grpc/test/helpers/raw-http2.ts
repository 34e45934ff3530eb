import { connect, constants, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";

export interface RawResult {
  headers: IncomingHttpHeaders | undefined;
  /** True when the response HEADERS frame ended the stream (trailers-only). */
  headersEndStream: boolean;
  trailers: IncomingHttpHeaders | undefined;
  data: Buffer;
  rstCode: number;
}

/** Sends one raw HTTP/2 request (no gRPC library) and collects what came back. */
export function rawRequest(
  port: number,
  body: Buffer[],
  headers: OutgoingHttpHeaders = {},
  options: { endStream?: boolean; timeoutMs?: number } = {},
): Promise<RawResult> {
  const session = connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  return new Promise((resolve) => {
    const req = session.request(
      {
        ":method": "POST",
        ":path": "/test.Test/Echo",
        "content-type": "application/grpc",
        te: "trailers",
        ...headers,
      },
      { endStream: false },
    );
    const result: RawResult = {
      headers: undefined,
      headersEndStream: false,
      trailers: undefined,
      data: Buffer.alloc(0),
      rstCode: -1,
    };
    const chunks: Buffer[] = [];
    req.on("error", () => {});
    req.on("response", (h, flags) => {
      result.headers = h;
      result.headersEndStream = (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    });
    req.on("trailers", (t) => {
      result.trailers = t;
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => req.close(constants.NGHTTP2_CANCEL), options.timeoutMs ?? 10_000);
    req.on("close", () => {
      clearTimeout(timer);
      result.data = Buffer.concat(chunks);
      result.rstCode = req.rstCode ?? -1;
      session.close();
      resolve(result);
    });
    for (const b of body) req.write(b);
    if (options.endStream !== false) req.end();
  });
}

/** The grpc-status of a raw result, from its trailers or a trailers-only HEADERS frame. */
export function rawStatus(r: RawResult): number | undefined {
  const v = r.trailers?.["grpc-status"] ?? r.headers?.["grpc-status"];
  return v === undefined ? undefined : Number(v);
}

export function prefix(length: number, flag = 0): Buffer {
  const b = Buffer.alloc(5);
  b[0] = flag;
  b.writeUInt32BE(length, 1);
  return b;
}
