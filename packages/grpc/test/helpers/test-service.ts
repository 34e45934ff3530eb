import type { GrpcServer, MethodDefinition } from "../../src/index.js";
import {
  createServer,
  GrpcError,
  type ServerOptions,
  type ServiceHandlers,
  Status,
} from "../../src/index.js";

const id = (b: Buffer): Buffer => b;

function method(
  name: string,
  requestStream: boolean,
  responseStream: boolean,
): MethodDefinition<Buffer, Buffer> {
  return {
    path: `/test.Test/${name}`,
    requestStream,
    responseStream,
    requestSerialize: id,
    requestDeserialize: id,
    responseSerialize: id,
    responseDeserialize: id,
    originalName: name,
  };
}

/**
 * The test service: raw-bytes messages, so the same definition serves our client, grpc-js (generic
 * client) and python grpcio (generic stubs). Commands travel as JSON request bodies.
 */
export const TestService = {
  echo: method("Echo", false, false) as MethodDefinition<Buffer, Buffer> & {
    requestStream: false;
    responseStream: false;
  },
  fail: method("Fail", false, false) as MethodDefinition<Buffer, Buffer> & {
    requestStream: false;
    responseStream: false;
  },
  sleep: method("Sleep", false, false) as MethodDefinition<Buffer, Buffer> & {
    requestStream: false;
    responseStream: false;
  },
  count: method("Count", false, true) as MethodDefinition<Buffer, Buffer> & {
    requestStream: false;
    responseStream: true;
  },
  countGen: method("CountGen", false, true) as MethodDefinition<Buffer, Buffer> & {
    requestStream: false;
    responseStream: true;
  },
  infinite: method("Infinite", false, true) as MethodDefinition<Buffer, Buffer> & {
    requestStream: false;
    responseStream: true;
  },
  sum: method("Sum", true, false) as MethodDefinition<Buffer, Buffer> & {
    requestStream: true;
    responseStream: false;
  },
  chat: method("Chat", true, true) as MethodDefinition<Buffer, Buffer> & {
    requestStream: true;
    responseStream: true;
  },
  chatIter: method("ChatIter", true, true) as MethodDefinition<Buffer, Buffer> & {
    requestStream: true;
    responseStream: true;
  },
  hold: method("Hold", true, true) as MethodDefinition<Buffer, Buffer> & {
    requestStream: true;
    responseStream: true;
  },
  first: method("First", true, true) as MethodDefinition<Buffer, Buffer> & {
    requestStream: true;
    responseStream: true;
  },
} as const;

/** What the handlers observed, for assertions about the server side. */
export interface TestStats {
  readonly events: string[];
  /** Messages produced by `Infinite` calls so far. */
  produced: number;
}

/** Encodes the i-th streamed message: 4-byte index, then `size - 4` bytes of filler. */
export function countMessage(i: number, size: number): Buffer {
  const b = Buffer.alloc(Math.max(4, size), 0x61);
  b.writeUInt32BE(i, 0);
  return b;
}

function abortWait(signal: AbortSignal, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(true);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(false);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export function testHandlers(stats: TestStats): ServiceHandlers<typeof TestService> {
  return {
    echo(request, call) {
      const echo = call.metadata["x-echo"];
      if (echo !== undefined) call.setHeader({ "x-echo": echo as string[] });
      const echoBin = call.metadata["x-echo-bin"];
      if (echoBin !== undefined) call.setTrailer({ "x-echo-bin": echoBin as Buffer[] });
      return request;
    },
    fail(request) {
      const { code, message } = JSON.parse(request.toString()) as { code: Status; message: string };
      throw new GrpcError(code, message, { "x-err": "detail", "x-err-bin": Buffer.from([0, 1, 2, 255]) });
    },
    async sleep(request, call) {
      const { ms, id: tag } = JSON.parse(request.toString()) as { ms: number; id: string };
      const aborted = await abortWait(call.signal, ms);
      stats.events.push(
        `sleep:${tag}:${aborted ? `aborted:${(call.signal.reason as GrpcError).code}` : "done"}`,
      );
      return Buffer.from("slept");
    },
    async count(request, call) {
      const { count, size } = JSON.parse(request.toString()) as { count: number; size: number };
      for (let i = 0; i < count; i++) {
        if (!call.send(countMessage(i, size))) await call.drain();
        if (call.signal.aborted) return;
      }
    },
    async *countGen(request) {
      const { count, size } = JSON.parse(request.toString()) as { count: number; size: number };
      for (let i = 0; i < count; i++) yield countMessage(i, size);
    },
    async infinite(request, call) {
      const { id: tag, size } = JSON.parse(request.toString()) as { id: string; size?: number };
      let i = 0;
      try {
        while (!call.signal.aborted) {
          if (!call.send(countMessage(i++, size ?? 64))) await call.drain();
          stats.produced++;
          if (i % 64 === 0) await new Promise((r) => setImmediate(r));
        }
      } finally {
        stats.events.push(`infinite:${tag}:returned:${(call.signal.reason as GrpcError | undefined)?.code}`);
      }
    },
    async sum(call) {
      let count = 0;
      let bytes = 0;
      for await (const m of call) {
        count++;
        bytes += m.length;
      }
      return Buffer.from(JSON.stringify({ count, bytes }));
    },
    async chat(call) {
      call.onMessage((m) => {
        call.send(m);
      });
      await call.ended;
    },
    async chatIter(call) {
      for await (const m of call) await call.write(m);
    },
    async first(call) {
      // Answers the first request and ends the call without waiting for the client's half-close.
      for await (const m of call) {
        call.send(m);
        return;
      }
    },
    async hold(call) {
      // Never reads: inbound backpressure must stop the client.
      await abortWait(call.signal, 60_000);
      stats.events.push("hold:returned");
    },
  };
}

/** Starts a server with the test service on 127.0.0.1 and an ephemeral port. */
export async function startTestServer(
  options: ServerOptions = {},
  listenPort = 0,
): Promise<{ server: GrpcServer; port: number; stats: TestStats }> {
  const stats: TestStats = { events: [], produced: 0 };
  const server = createServer(options);
  server.addService(TestService, testHandlers(stats));
  const port = await server.listen(listenPort, "127.0.0.1");
  return { server, port, stats };
}

export const UNICODE_MESSAGE = "not found: ünïcödé 100% \t tab ☃ 𝄞";
export { Status };
