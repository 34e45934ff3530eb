// Cost of encryption at rest on the broker's two hot paths, against the plain path measured in the
// same run. Run after `pnpm build`: `node bench/encryption.mjs` (REPS=5, N=20000 by default). Prints
// the median of REPS repetitions, per message, and the ratio encrypted / plain. Never a CI gate.
//   ingest:    sealing each value (what the leader adds per message) vs copying it;
//   subscribe: opening + encoding a raw batch of entries vs encoding it directly;
//   floor:     bare node:crypto AES-256-GCM (createCipheriv, update, final, tag) per value, the part of
//              the cost that is Node's and not ours.
import { createCipheriv, createSecretKey, randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { encodeMessageSet } from "@liftbridge/commitlog";
import { createValueCipher, openEntries } from "../dist/encryption.js";
import { createMessageEncoder } from "../dist/message-encoder.js";

const REPS = Number(process.env.REPS ?? 5);
const N = Number(process.env.N ?? 20_000);
const BATCH = 1000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const usPerMsg = (fn) => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i += BATCH) fn();
  return Number(process.hrtime.bigint() - t0) / 1e3 / N;
};

const cipher = createValueCipher(Buffer.from("0123456789abcdef0123456789abcdef"));
const headers = [
  { key: "subject", value: Buffer.from("orders") },
  { key: "reply", value: Buffer.alloc(0) },
];
const encoder = createMessageEncoder("orders", 0);
console.log(
  `node ${process.version}, load average ${loadavg()[0].toFixed(1)}, ${REPS} reps of ${N} messages`,
);
console.log("case                         plain us/msg   encrypted us/msg   ratio   bare GCM us/msg");
const bareKey = createSecretKey(randomBytes(32));
const bareIv = randomBytes(12);
for (const size of [128, 1024]) {
  const values = Array.from({ length: BATCH }, (_, i) => Buffer.alloc(size, i & 0xff));
  const entries = (seal) =>
    encodeMessageSet(
      values.map((v, i) => ({
        offset: i,
        timestamp: 1_700_000_000_000_000_000n + BigInt(i),
        leaderEpoch: 0,
        key: null,
        value: seal ? cipher.seal(v) : v,
        headers,
      })),
    );
  const plainSet = entries(false);
  const sealedSet = entries(true);
  const cases = {
    ingest: [
      () => {
        for (const v of values) Buffer.from(v);
      },
      () => {
        for (const v of values) cipher.seal(v);
      },
    ],
    subscribe: [
      () => encoder.encode(plainSet, BATCH),
      () => {
        const r = openEntries(sealedSet, BATCH, cipher);
        encoder.encode(r.bytes, r.count);
      },
    ],
  };
  const bare = () => {
    for (const v of values) {
      const c = createCipheriv("aes-256-gcm", bareKey, bareIv);
      c.update(v);
      c.final();
      c.getAuthTag();
    }
  };
  for (const [name, [plain, enc]] of Object.entries(cases)) {
    usPerMsg(plain);
    usPerMsg(enc); // warm-up
    usPerMsg(bare);
    const p = [];
    const e = [];
    const f = [];
    for (let r = 0; r < REPS; r++) {
      p.push(usPerMsg(plain));
      e.push(usPerMsg(enc));
      f.push(usPerMsg(bare));
    }
    const mp = median(p);
    const me = median(e);
    console.log(
      `${`${name}, ${size} B`.padEnd(28)} ${mp.toFixed(3).padStart(12)} ${me.toFixed(3).padStart(18)} ${(me / mp).toFixed(1).padStart(7)}x ${median(f).toFixed(3).padStart(17)}`,
    );
  }
}
