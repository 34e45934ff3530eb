// Subscribe from the beginning of a stream until its newest message, then tail new ones briefly.
import { connect } from "@liftbridge/client";

const addr = process.env.LIFTBRIDGE_ADDR ?? "127.0.0.1:9292";
await using client = await connect([addr]);
await client.createStream("events", "events-stream").catch(() => {});
for (let i = 0; i < 3; i++) await client.publish("events-stream", new TextEncoder().encode(`event ${i}`));

// Iterate: ends by itself at the stop position.
const sub = await client.subscribe("events-stream", { startAt: "earliest", stopAt: "latest" });
for await (const message of sub) {
  console.log(`${message.offset}: ${new TextDecoder().decode(message.value)}`);
}

// Callback mode, cancelled with an AbortSignal.
const controller = new AbortController();
const live = await client.subscribe("events-stream", {
  signal: controller.signal,
  callback: (err, message) => {
    if (message !== undefined) {
      console.log(`live: ${new TextDecoder().decode(message.value)}`);
      controller.abort();
    } else if (err !== undefined) console.error(err);
  },
});
await client.publish("events-stream", new TextEncoder().encode("event 3"));
await live.closed;
