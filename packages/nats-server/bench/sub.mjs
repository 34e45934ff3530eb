// Benchmark subscriber: counts `count` messages on `subject` and reports the receive rate over IPC.
import { connect } from "nats";

const [url, subject, countStr] = process.argv.slice(2);
const count = Number(countStr);
const nc = await connect({ servers: url, noAsyncTraces: true, reconnect: false });
let n = 0;
let first = 0;
let bytes = 0;
const done = new Promise((resolve) => {
  nc.subscribe(subject, {
    callback: (_err, m) => {
      if (n === 0) first = performance.now();
      bytes += m.data.length;
      if (++n === count) resolve(performance.now());
    },
  });
});
void nc.closed().then((err) => {
  if (n < count) {
    console.error(`subscriber closed after ${n}/${count} messages: ${err?.message ?? "closed"}`);
    process.exit(1);
  }
});
await nc.flush();
process.send?.({ ready: true });
const last = await done;
process.send?.({ received: n, bytes, ms: last - first });
await nc.close();
process.exit(0);
