// Parses a generated ~1 MB NATS configuration file and reports medians (ms) over several reps,
// against JSON.parse of the same data measured in the same run. Not a CI gate.
// Usage: pnpm --filter @liftbridge/conf bench   (builds first)
import { lexConf, parseConf, printConf } from "../dist/index.js";

const REPS = 15;
const TARGET_BYTES = 1024 * 1024;

/** A realistic document: nested maps, arrays, quoted/unquoted strings, sizes, durations, comments. */
function makeDocument() {
  const parts = [];
  let size = 0;
  let i = 0;
  while (size < TARGET_BYTES) {
    const block = `# account ${i}
account_${i} {
  host: 10.0.${i % 256}.${(i * 7) % 256}
  port: ${4000 + (i % 1000)}
  max_payload: ${(i % 8) + 1}MB
  ping_interval: "${(i % 60) + 1}s"
  enabled: ${i % 2 === 0 ? "true" : "off"}
  ratio: ${(i % 100) / 7 + 0.5}
  name: "service \\"${i}\\" \\t tab"
  path: /var/lib/nats/account-${i}/data // trailing comment
  users [
    { user: alice_${i}, password: "p${i}-secret", permissions: { publish: ["a.>", "b.${i}"], subscribe: "_INBOX.>" } }
    { user: bob_${i}, password: '$2a$11$abcdefghijklmnopqrstuv' }
  ]
  limits = [1, 2, 3, ${i}, 64kb]
  created: 2016-05-04T18:53:41Z
}
`;
    parts.push(block);
    size += block.length;
    i++;
  }
  return parts.join("");
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Wall time and process CPU time (user + system, all threads incl. GC) of one call, in ms. */
function time(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

const text = makeDocument();
const bytes = Buffer.byteLength(text);
const parsed = parseConf(text, { env: {} });
const json = JSON.stringify(parsed.value);
const printed = printConf(parsed.value);
const noopSink = {
  key() {},
  scalar() {},
  mapStart() {},
  mapEnd() {},
  arrayStart() {},
  arrayEnd() {},
  include() {},
};

// Warm up.
for (let k = 0; k < 3; k++) {
  parseConf(text, { env: {} });
  JSON.parse(json);
}

const results = {
  "parseConf (1 MB NATS config)": [],
  "lexConf only (no-op sink)": [],
  "parseConf of printConf output": [],
  "baseline: JSON.parse (same data)": [],
};
for (let r = 0; r < REPS; r++) {
  results["parseConf (1 MB NATS config)"].push(time(() => parseConf(text, { env: {} })));
  results["lexConf only (no-op sink)"].push(time(() => lexConf(text, noopSink)));
  results["parseConf of printConf output"].push(time(() => parseConf(printed, { env: {} })));
  results["baseline: JSON.parse (same data)"].push(time(() => JSON.parse(json)));
}

const wallOf = (xs) => xs.map((x) => x.wall);
const cpuOf = (xs) => xs.map((x) => x.cpu);
const base = median(wallOf(results["baseline: JSON.parse (same data)"]));
const baseCpu = median(cpuOf(results["baseline: JSON.parse (same data)"]));
const [load1] = (await import("node:os")).loadavg();
console.log(
  `input: ${bytes} bytes NATS config, ${parsed.root.entries.size} top-level maps; JSON ${Buffer.byteLength(json)} bytes; printed ${Buffer.byteLength(printed)} bytes`,
);
console.log(
  `reps: ${REPS} (after 3 warm-up runs); node ${process.version}; load average (1 min) ${load1.toFixed(2)}`,
);
for (const [name, xs] of Object.entries(results)) {
  const w = wallOf(xs);
  const m = median(w);
  const cm = median(cpuOf(xs));
  console.log(
    `${name.padEnd(34)} wall median ${m.toFixed(2).padStart(7)} ms (min ${Math.min(...w).toFixed(2)}, max ${Math.max(...w).toFixed(2)})  cpu median ${cm.toFixed(2).padStart(7)} ms  ratio vs JSON.parse: wall ${(m / base).toFixed(2)}x, cpu ${(cm / baseCpu).toFixed(2)}x`,
  );
}
const m = median(wallOf(results["parseConf (1 MB NATS config)"]));
const best = Math.min(...wallOf(results["parseConf (1 MB NATS config)"]));
console.log(
  `target: parseConf of 1 MB < 100 ms -> median ${m.toFixed(2)} ms ${m < 100 ? "MET" : "NOT MET"}; best rep ${best.toFixed(2)} ms`,
);
