// Child process for the memory test (needs --expose-gc): opens thousands of streams, abandons them
// (client resets and vanishing connections), and reports heap before and after, and open calls.
import { connect as h2connect } from "node:http2";
import { createServer } from "../../dist/index.js";

// Never outlive the test that started this process.
setTimeout(() => {
  console.error("abandon-storm: timed out");
  process.exit(2);
}, 60_000).unref();

const id = (b) => b;
const m = (name, requestStream, responseStream) => ({
  path: `/storm.S/${name}`,
  requestStream,
  responseStream,
  requestSerialize: id,
  requestDeserialize: id,
  responseSerialize: id,
  responseDeserialize: id,
});
const def = { stream: m("Stream", false, true), bidi: m("Bidi", true, true) };
const server = createServer();
server.addService(def, {
  async stream(_req, call) {
    const payload = Buffer.alloc(512);
    while (!call.signal.aborted) {
      if (!call.send(payload)) await call.drain();
      await new Promise((r) => setImmediate(r));
    }
  },
  async bidi(call) {
    for await (const x of call) call.send(x);
  },
});
const port = await server.listen(0, "127.0.0.1");
const frame = Buffer.from([0, 0, 0, 0, 1, 42]);

async function storm(rounds, perSession) {
  let abandoned = 0;
  for (let r = 0; r < rounds; r++) {
    const session = h2connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    const firsts = [];
    for (let i = 0; i < perSession; i++) {
      const path = i % 2 === 0 ? "/storm.S/Stream" : "/storm.S/Bidi";
      const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc" });
      req.on("error", () => {});
      if (i % 2 === 0) req.end(frame);
      else req.write(frame);
      abandoned++;
      // Every stream is abandoned once it carried data: a quarter by RST_STREAM(CANCEL), the rest by
      // dropping the whole connection below.
      firsts.push(
        new Promise((resolve) => {
          req.once("data", () => {
            if (i % 4 === 0) req.close(8);
            resolve();
          });
          req.once("close", resolve);
        }),
      );
      req.on("data", () => {});
    }
    await Promise.all(firsts);
    session.destroy();
  }
  return abandoned;
}

const settle = async () => {
  for (let i = 0; i < 50 && server.activeCalls > 0; i++) await new Promise((r) => setTimeout(r, 20));
  for (let i = 0; i < 4; i++) {
    global.gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  return process.memoryUsage().heapUsed;
};

await storm(2, 50); // warm-up
const baseline = await settle();
const abandoned = await storm(20, 100);
const after = await settle();
console.log(JSON.stringify({ baseline, after, activeCalls: server.activeCalls, abandoned }));
await server.close({ graceMs: 0 });
