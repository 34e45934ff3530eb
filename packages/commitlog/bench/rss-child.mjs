// Child process of bench/run.mjs: "write" fills a log; "reopen" opens it and reads at both ends.
import { readdirSync, statSync } from "node:fs";
import { openCommitLog } from "../dist/index.js";

const [mode, dir, nStr] = process.argv.slice(2);
const n = Number(nStr);
if (mode === "write") {
  const log = await openCommitLog(dir, { cleanerIntervalMs: 0 });
  const value = Buffer.alloc(100, 0x62);
  const batch = Array.from({ length: 1000 }, () => ({ value }));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += 1000) await log.append(batch);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await log.close();
  const bytes = readdirSync(dir).reduce((a, f) => a + statSync(`${dir}/${f}`).size, 0);
  process.send({ rss: process.memoryUsage().rss, recs: n / secs, bytes });
} else {
  const t0 = process.hrtime.bigint();
  const log = await openCommitLog(dir, { cleanerIntervalMs: 0 });
  const openMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (log.newestOffset !== n - 1) throw new Error(`newest ${log.newestOffset}`);
  let seen = 0;
  for await (const r of log.read({ offset: 0, wait: false })) if (++seen >= 1000 || r.offset < 0) break;
  for await (const r of log.read({ offset: n - 1000, wait: false })) seen += r.offset >= 0 ? 1 : 0;
  for await (const r of log.read({ offset: Math.floor(n / 2), wait: false }))
    if (++seen >= 3000 || r.offset < 0) break;
  globalThis.gc?.();
  const rss = process.memoryUsage().rss;
  await log.close();
  process.send({ rss, openMs });
}
