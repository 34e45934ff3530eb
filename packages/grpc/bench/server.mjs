// Benchmark server process: `node server.mjs lean|grpc-js`. Prints {"port":N} once listening.
import { BenchService, decodeCount, encodeOffsetMsg } from "./codec.mjs";

const impl = process.argv[2];
const VALUE = Buffer.alloc(128, 0x61);
let unaryOffset = 0;

if (impl === "lean") {
  const { createServer } = await import("../dist/index.js");
  const server = createServer();
  server.addService(BenchService, {
    async sub(request, call) {
      const count = decodeCount(request);
      for (let i = 0; i < count; i++) {
        if (!call.send(encodeOffsetMsg(i, VALUE))) await call.drain();
        if (call.signal.aborted) return;
      }
    },
    async pub(call) {
      let offset = 0;
      call.onMessage(() => {
        call.send(encodeOffsetMsg(offset++, Buffer.alloc(0)));
      });
      await call.ended;
    },
    unary() {
      return encodeOffsetMsg(unaryOffset++, Buffer.alloc(0));
    },
  });
  const port = await server.listen(0, "127.0.0.1");
  console.log(JSON.stringify({ port }));
} else if (impl === "grpc-js") {
  const grpc = await import("@grpc/grpc-js");
  const server = new grpc.Server();
  server.addService(BenchService, {
    sub(call) {
      const count = decodeCount(call.request);
      let i = 0;
      const pump = () => {
        while (i < count) {
          if (call.cancelled) return;
          const ok = call.write(encodeOffsetMsg(i++, VALUE));
          if (!ok) {
            call.once("drain", pump);
            return;
          }
        }
        call.end();
      };
      pump();
    },
    pub(call) {
      let offset = 0;
      call.on("data", () => call.write(encodeOffsetMsg(offset++, Buffer.alloc(0))));
      call.on("end", () => call.end());
    },
    unary(_call, callback) {
      callback(null, encodeOffsetMsg(unaryOffset++, Buffer.alloc(0)));
    },
  });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  console.log(JSON.stringify({ port }));
} else {
  throw new Error(`unknown server ${impl}`);
}
