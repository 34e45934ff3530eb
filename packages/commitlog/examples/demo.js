// Commit-log demo: `node packages/commitlog/examples/demo.js` (after `pnpm build`).
// Opens a log in a fresh temp dir, appends, reads back, shows a tailing reader receiving a record
// appended later, closes, reopens to show durability, and removes the directory.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCommitLog } from "@liftbridge/commitlog";

const enc = new TextEncoder();
const dec = new TextDecoder();
const dir = await mkdtemp(join(tmpdir(), "liftbridge-commitlog-demo-"));
console.log(`opened commit log in ${dir}`);
let log = await openCommitLog(dir, { sync: "always", maxSegmentBytes: 256 });

const offsets = await log.append([
  { key: enc.encode("sensor-1"), value: enc.encode("21.5C") },
  { key: enc.encode("sensor-2"), value: enc.encode("19.0C") },
  { key: null, value: enc.encode("no key"), headers: [{ key: "subject", value: enc.encode("demo.temps") }] },
]);
console.log(`appended 3 records at offsets ${offsets.join(", ")}`);
const more = await Promise.all([
  log.append([{ value: enc.encode("a") }]),
  log.append([{ value: enc.encode("b") }]),
]);
console.log(`two appends in one turn (group commit) got offsets ${more.flat().join(", ")}`);

console.log("reading back:");
for await (const r of log.read({ offset: 0, wait: false })) {
  const key = r.key === null ? "null" : dec.decode(r.key);
  console.log(`  offset ${r.offset} key=${key} value=${dec.decode(r.value)} headers=${r.headers.length}`);
}

const ac = new AbortController();
const tail = (async () => {
  for await (const r of log.read({ offset: log.newestOffset + 1, signal: ac.signal })) {
    console.log(`tailing reader received offset ${r.offset}: ${dec.decode(r.value)}`);
    ac.abort();
  }
})();
await new Promise((r) => setTimeout(r, 50));
console.log("appending a record while the tailing reader waits...");
await log.append([{ value: enc.encode("appended later") }]);
await tail;

log.setHighWatermark(log.newestOffset);
console.log(`newest offset ${log.newestOffset}, high watermark ${log.highWatermark}`);
await log.close();
log = await openCommitLog(dir);
console.log(`reopened: oldest ${log.oldestOffset}, newest ${log.newestOffset}, HW ${log.highWatermark}`);
await log.close();
await rm(dir, { recursive: true, force: true });
console.log("closed and removed the directory; demo done");
