// Publishing straight to NATS with the Liftbridge envelope, and reading the ack on a NATS inbox.
import { connect, newMessage, unmarshalAck } from "@liftbridge/client";
import { connect as natsConnect } from "nats";

const addr = process.env.LIFTBRIDGE_ADDR ?? "127.0.0.1:9292";
const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
await using client = await connect([addr]);
await client.createStream("sensors", "sensors-stream").catch(() => {});

const nc = await natsConnect({ servers: natsUrl });
const inbox = "example.acks";
const sub = nc.subscribe(inbox, { max: 1 });
// Partition 0 of a stream lives on its subject; partition N on `<subject>.N`.
nc.publish(
  "sensors",
  newMessage(new TextEncoder().encode("21.5C"), { ackInbox: inbox, correlationId: "reading-1" }),
);
for await (const m of sub) {
  const ack = unmarshalAck(m.data);
  console.log(`ack for ${ack.correlationId}: offset ${ack.offset} on ${ack.stream}`);
}
await nc.close();
