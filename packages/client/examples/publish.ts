// Create a stream, publish with acks (sync and pipelined), then read it back.
// Run: LIFTBRIDGE_ADDR=127.0.0.1:9292 node publish.js (after compiling), or see test/examples.test.ts.
import { connect, isLiftbridgeError } from "@liftbridge/client";

const addr = process.env.LIFTBRIDGE_ADDR ?? "127.0.0.1:9292";
await using client = await connect([addr], { ackWaitTimeMs: 5000 });

try {
  await client.createStream("orders", "orders-stream");
} catch (e) {
  if (!isLiftbridgeError(e, "stream_exists")) throw e;
}

// Publish: resolves with the ack once the leader stored the message.
const ack = await client.publish("orders-stream", new TextEncoder().encode("order #1"), {
  key: new TextEncoder().encode("customer-42"),
  headers: { source: new TextEncoder().encode("example") },
  ackPolicy: "all",
});
console.log(`acked offset ${ack?.offset}`);

// publishAsync: pipelined over the same stream, the handler gets each ack.
let acked = 0;
await new Promise<void>((resolve, reject) => {
  for (let i = 2; i <= 10; i++) {
    client.publishAsync("orders-stream", new TextEncoder().encode(`order #${i}`), (err) => {
      if (err !== undefined) return reject(err);
      if (++acked === 9) resolve();
    });
  }
});
console.log(`${acked} more acked`);
