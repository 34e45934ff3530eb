import { cp } from "node:fs/promises";
import fc from "fast-check";
import { expect, it } from "vitest";
import type { FileCommitLog } from "../../src/internal.js";
import { open, readAll, SOAK, s, tempDir, u } from "../helpers.js";

/** The model: the value stored at each offset, and the high watermark. */
interface Model {
  values: string[];
  hw: number;
}
interface Real {
  log: FileCommitLog;
}

const OPTS = { maxSegmentBytes: 300, indexIntervalBytes: 64 };
let counter = 0;

async function check(m: Model, r: Real): Promise<void> {
  const rs = await readAll(r.log);
  expect(rs.map((x) => x.offset)).toEqual(m.values.map((_, i) => i));
  expect(rs.map((x) => s(x.value))).toEqual(m.values);
  expect(r.log.newestOffset).toBe(m.values.length - 1);
  expect(r.log.highWatermark).toBe(m.hw);
  const committed = await readAll(r.log, 0, true);
  expect(committed.length).toBe(Math.min(m.hw + 1, m.values.length));
}

class Append implements fc.AsyncCommand<Model, Real> {
  readonly n: number;
  constructor(n: number) {
    this.n = n;
  }
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const vals = Array.from({ length: this.n }, () => `v${counter++}`);
    const offs = await r.log.append(vals.map((v) => ({ value: u(v) })));
    expect(offs).toEqual(vals.map((_, i) => m.values.length + i));
    m.values.push(...vals);
    await check(m, r);
  }
  toString = () => `append(${this.n})`;
}

class SetHw implements fc.AsyncCommand<Model, Real> {
  readonly frac: number;
  constructor(frac: number) {
    this.frac = frac;
  }
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const hw = Math.floor(this.frac * m.values.length) - 1;
    r.log.setHighWatermark(hw);
    m.hw = Math.max(m.hw, hw);
    await check(m, r);
  }
  toString = () => `setHw(${this.frac.toFixed(2)})`;
}

class Truncate implements fc.AsyncCommand<Model, Real> {
  readonly frac: number;
  constructor(frac: number) {
    this.frac = frac;
  }
  check = (m: Readonly<Model>) => m.values.length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const at = Math.floor(this.frac * m.values.length);
    await r.log.truncate(at);
    m.values.length = at;
    await check(m, r);
  }
  toString = () => `truncate(${this.frac.toFixed(2)})`;
}

class Reopen implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    await r.log.close();
    r.log = await open(r.log.dir, OPTS);
    await check(m, r);
  }
  toString = () => "reopen";
}

class Crash implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    // Copy the files of the running log (as a killed process would leave them) and open the copy.
    const dir = await tempDir();
    await cp(r.log.dir, dir, { recursive: true });
    await r.log.close();
    r.log = await open(dir, OPTS);
    // The HW is checkpointed periodically: after a crash it may be older, never newer.
    expect(r.log.highWatermark).toBeLessThanOrEqual(m.hw);
    m.hw = r.log.highWatermark;
    await check(m, r);
  }
  toString = () => "crash";
}

it("WAL model: append / set HW / truncate / reopen / crash against an array", {
  timeout: 120_000,
}, async () => {
  const commands = [
    fc.integer({ min: 1, max: 12 }).map((n) => new Append(n)),
    fc.double({ min: 0, max: 1, noNaN: true }).map((f) => new SetHw(f)),
    fc.double({ min: 0, max: 1, noNaN: true }).map((f) => new Truncate(f)),
    fc.constant(new Reopen()),
    fc.constant(new Crash()),
  ];
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 25 }), async (cmds) => {
      const log = await open(await tempDir(), OPTS);
      const real: Real = { log };
      await fc.asyncModelRun(() => ({ model: { values: [], hw: -1 }, real }), cmds);
      await real.log.close();
    }),
    { numRuns: 40 * SOAK },
  );
});
