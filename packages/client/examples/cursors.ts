// Cursors: remember how far a reader got, and resume from there.
// The server needs `cursors.stream.partitions: N` (N > 0) in its config, which creates the `__cursors` stream.
import { connect } from "@liftbridge/client";

const addr = process.env.LIFTBRIDGE_ADDR ?? "127.0.0.1:9292";
await using client = await connect([addr]);

const cursorId = "billing-reader";
console.log(`cursor before: ${await client.fetchCursor(cursorId, "invoices", 0)}`); // -1: none yet
await client.setCursor(cursorId, "invoices", 0, 41);
const offset = await client.fetchCursor(cursorId, "invoices", 0);
console.log(`cursor after: ${offset}; resume at ${offset + 1}`);
