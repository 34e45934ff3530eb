// Consumer groups: members of one group share a stream's partitions; offsets are checkpointed.
// The single-node server does not implement groups yet; test/examples.test.ts runs this against the fake cluster.
import { connect, type Message } from "@liftbridge/client";

const addr = process.env.LIFTBRIDGE_ADDR ?? "127.0.0.1:9292";
await using client = await connect([addr]);

const received: Message[] = [];
const consumer = client.createConsumer("billing", {
  consumerId: "worker-1",
  autoOffset: "earliest",
  autoCheckpointIntervalMs: 1000,
});
await consumer.subscribe(["invoices"], (err, message) => {
  if (err !== undefined) console.error(err.message);
  else if (message !== undefined) received.push(message);
});
// Wait until this member got its partitions and some messages.
for (let i = 0; i < 200 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
console.log(`assigned: ${JSON.stringify([...consumer.assignments])}`);
console.log(`received ${received.length} messages`);
await consumer.checkpoint();
await consumer.close(); // leaves the group
