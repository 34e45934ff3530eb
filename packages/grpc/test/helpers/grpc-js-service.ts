import * as grpc from "@grpc/grpc-js";
import { countMessage, TestService, type TestStats } from "./test-service.js";

function waitCancelled(
  call: grpc.ServerUnaryCall<Buffer, Buffer> | grpc.ServerWritableStream<Buffer, Buffer>,
  ms: number,
): Promise<boolean> {
  return new Promise((resolve) => {
    if (call.cancelled) {
      resolve(true);
      return;
    }
    const timer = setTimeout(() => resolve(false), ms);
    call.once("cancelled", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function writeAll(
  call: grpc.ServerWritableStream<Buffer, Buffer>,
  count: number,
  size: number,
): Promise<void> {
  for (let i = 0; i < count && !call.cancelled; i++) {
    if (!call.write(countMessage(i, size))) await new Promise((r) => call.once("drain", r));
  }
  call.end();
}

/** The test service implemented on @grpc/grpc-js, the reference peer for our client. */
export function grpcJsImplementation(stats: TestStats): grpc.UntypedServiceImplementation {
  return {
    echo(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) {
      const header = new grpc.Metadata();
      for (const v of call.metadata.get("x-echo")) header.add("x-echo", v);
      call.sendMetadata(header);
      const trailer = new grpc.Metadata();
      for (const v of call.metadata.get("x-echo-bin")) trailer.add("x-echo-bin", v);
      callback(null, call.request, trailer);
    },
    fail(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) {
      const { code, message } = JSON.parse(call.request.toString()) as { code: number; message: string };
      const metadata = new grpc.Metadata();
      metadata.set("x-err", "detail");
      metadata.set("x-err-bin", Buffer.from([0, 1, 2, 255]));
      callback({ code, details: message, metadata });
    },
    sleep(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) {
      const { ms, id } = JSON.parse(call.request.toString()) as { ms: number; id: string };
      void waitCancelled(call, ms).then((cancelled) => {
        stats.events.push(`sleep:${id}:${cancelled ? "cancelled" : "done"}`);
        callback(null, Buffer.from("slept"));
      });
    },
    count(call: grpc.ServerWritableStream<Buffer, Buffer>) {
      const { count, size } = JSON.parse(call.request.toString()) as { count: number; size: number };
      void writeAll(call, count, size);
    },
    countGen(call: grpc.ServerWritableStream<Buffer, Buffer>) {
      const { count, size } = JSON.parse(call.request.toString()) as { count: number; size: number };
      void writeAll(call, count, size);
    },
    infinite(call: grpc.ServerWritableStream<Buffer, Buffer>) {
      const { id } = JSON.parse(call.request.toString()) as { id: string };
      let i = 0;
      const pump = async (): Promise<void> => {
        while (!call.cancelled) {
          if (!call.write(countMessage(i++, 64))) await new Promise((r) => setTimeout(r, 5));
          if (i % 64 === 0) await new Promise((r) => setImmediate(r));
        }
        stats.events.push(`infinite:${id}:cancelled`);
      };
      void pump();
    },
    sum(call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) {
      let count = 0;
      let bytes = 0;
      call.on("data", (m: Buffer) => {
        count++;
        bytes += m.length;
      });
      call.on("end", () => callback(null, Buffer.from(JSON.stringify({ count, bytes }))));
    },
    chat(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      call.on("data", (m: Buffer) => call.write(m));
      call.on("end", () => call.end());
    },
    first(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      call.once("data", (m: Buffer) => {
        call.write(m);
        call.end();
      });
    },
    hold(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      call.pause();
    },
    chatIter(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      call.on("data", (m: Buffer) => call.write(m));
      call.on("end", () => call.end());
    },
  };
}

/** Starts a grpc-js server with the test service. */
export async function startGrpcJsServer(
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<{ server: grpc.Server; port: number; stats: TestStats }> {
  const stats: TestStats = { events: [], produced: 0 };
  const server = new grpc.Server();
  server.addService(TestService as unknown as grpc.ServiceDefinition, grpcJsImplementation(stats));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port, stats };
}

/** A generic grpc-js client constructor for the test service. */
export const GrpcJsTestClient = grpc.makeGenericClientConstructor(
  TestService as unknown as grpc.ServiceDefinition,
  "Test",
);

export function stopGrpcJsServer(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    server.tryShutdown(() => resolve());
    setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 1000).unref();
  });
}
