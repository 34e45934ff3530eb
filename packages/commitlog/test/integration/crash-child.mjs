// Child process for the SIGKILL crash test: appends forever with sync "always" and reports every
// resolved append on stdout ("ok <first> <last>"; synchronous writes on a pipe), until killed.
import { writeSync } from "node:fs";
import { openCommitLog } from "../../dist/index.js";

const dir = process.argv[2];
const log = await openCommitLog(dir, { sync: "always", maxSegmentBytes: 64 * 1024, cleanerIntervalMs: 0 });
let next = log.newestOffset + 1;
writeSync(1, `ready ${next}\n`);

async function appendOne() {
  const n = 1 + Math.floor(Math.random() * 20);
  const first = next;
  next += n;
  const recs = [];
  for (let i = 0; i < n; i++)
    recs.push({ value: Buffer.from(`v${first + i}`.padEnd(20 + ((first + i) % 50), ".")) });
  const offs = await log.append(recs);
  if (offs[0] !== first || offs.at(-1) !== first + n - 1) {
    writeSync(1, `mismatch ${offs[0]} ${first}\n`);
    process.exit(1);
  }
  writeSync(1, `ok ${first} ${first + n - 1}\n`);
}

// Keep several appends in flight so group commit is exercised.
const loop = async () => {
  for (;;) await appendOne();
};
await Promise.all([loop(), loop(), loop(), loop()]);
