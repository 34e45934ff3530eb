// Consumer groups: the members of a group share the partitions of its streams, and the group commits
// how far it got (the cursor `__group:<groupId>`), so a member that starts later resumes after the
// last committed offset. The commits need the server's cursors: `cursors.stream.partitions: N` (N > 0).
import { connect, isLiftbridgeError, type Message } from "@liftbridge/client";

const addr = process.env.LIFTBRIDGE_ADDR ?? "127.0.0.1:9292";
await using client = await connect([addr]);
const enc = new TextEncoder();
try {
  await client.createStream("invoices", "invoices", { partitions: 2 });
} catch (e) {
  if (!isLiftbridgeError(e, "stream_exists")) throw e;
}

/** Runs one member of group "billing" until it has handled `count` messages, then leaves. */
async function work(consumerId: string, count: number): Promise<string[]> {
  const received: Message[] = [];
  const consumer = client.createConsumer("billing", {
    consumerId,
    autoOffset: "earliest", // where to start on a partition the group never committed
    autoCheckpointIntervalMs: 1000, // commit every second, and on close
  });
  await consumer.subscribe(["invoices"], (err, message) => {
    if (err !== undefined) console.error(err.message);
    else if (message !== undefined) received.push(message);
  });
  for (let i = 0; i < 400 && received.length < count; i++) await new Promise((r) => setTimeout(r, 25));
  console.log(`${consumerId} assigned: ${JSON.stringify([...consumer.assignments])}`);
  await consumer.close(); // commits the last handled offsets, then leaves the group
  return received.map((m) => new TextDecoder().decode(m.value)).sort();
}

for (const partition of [0, 1])
  for (const n of [1, 2])
    await client.publish("invoices", enc.encode(`invoice ${partition}.${n}`), { partition });
console.log(`worker-1 handled: ${(await work("worker-1", 4)).join(", ")}`);

// While nobody is in the group: one more invoice per partition.
for (const partition of [0, 1])
  await client.publish("invoices", enc.encode(`invoice ${partition}.3`), { partition });
// A new member resumes after the group's commits: only the new invoices.
console.log(`worker-2 handled: ${(await work("worker-2", 2)).join(", ")}`);
const committed = await Promise.all([0, 1].map((p) => client.fetchCursor("__group:billing", "invoices", p)));
console.log(`committed offsets: ${committed.join(", ")}`);
