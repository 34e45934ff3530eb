// Benchmark publisher: publishes `count` messages of `size` bytes, flushing every 10k messages.
import { connect } from "nats";

const [url, subject, countStr, sizeStr] = process.argv.slice(2);
const count = Number(countStr);
const payload = new Uint8Array(Number(sizeStr)).fill(97);
const nc = await connect({ servers: url, noAsyncTraces: true, reconnect: false });
const start = performance.now();
for (let i = 1; i <= count; i++) {
  nc.publish(subject, payload);
  if (i % 10_000 === 0) await nc.flush();
}
await nc.flush();
process.send?.({ ms: performance.now() - start });
await nc.close();
process.exit(0);
