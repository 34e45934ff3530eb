// A partitioned stream: publish by key (crc32 mod partitions, as Go), read one partition.
import { connect } from "@liftbridge/client";

const addr = process.env.LIFTBRIDGE_ADDR ?? "127.0.0.1:9292";
await using client = await connect([addr]);
await client.createStream("metrics", "metrics-stream", { partitions: 3 }).catch(() => {});

const enc = new TextEncoder();
for (const host of ["web-1", "web-2", "db-1", "web-1"]) {
  const ack = await client.publish("metrics-stream", enc.encode(`cpu of ${host}`), {
    key: enc.encode(host),
    partitioner: "key",
  });
  console.log(`${host} -> ${ack?.msgSubject}`);
}
await client.publish("metrics-stream", enc.encode("explicit"), { partition: 2 });

const md = await client.fetchMetadata({ streams: ["metrics-stream"] });
console.log(`partitions: ${md.partitionCountForStream("metrics-stream")}`);
const info = await client.fetchPartitionMetadata("metrics-stream", 2);
console.log(`partition 2 newest offset: ${info.newestOffset}`);
