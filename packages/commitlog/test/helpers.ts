import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { type CommitLog, type CommitLogOptions, type LogRecord, openCommitLog } from "../src/index.js";
import type { FileCommitLog } from "../src/internal.js";

const dirs: string[] = [];
const logs: CommitLog[] = [];

afterEach(async () => {
  for (const l of logs.splice(0)) await l.close().catch(() => undefined);
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A fresh temp directory removed after the test. */
export async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "commitlog-test-"));
  dirs.push(d);
  return d;
}

/** Opens a log that is closed after the test. */
export async function open(dir: string, o: CommitLogOptions = {}): Promise<FileCommitLog> {
  const log = await openCommitLog(dir, { cleanerIntervalMs: 0, ...o });
  logs.push(log);
  return log as FileCommitLog;
}

export const u = (s: string): Uint8Array => new TextEncoder().encode(s);
export const s = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString());

/** All records currently readable (no waiting). */
export async function readAll(log: CommitLog, offset = 0, committed = false): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for await (const r of log.read({ offset, wait: false, committed })) out.push(r);
  return out;
}

export const offsets = (rs: readonly LogRecord[]): number[] => rs.map((r) => r.offset);

/** A manual clock for retention-by-age and segment-age tests (timers fire on `advance`). */
export class ManualClock {
  #now: number;
  #timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  constructor(now = 1_700_000_000_000) {
    this.#now = now;
  }
  now(): number {
    return this.#now;
  }
  setTimer(ms: number, fn: () => void): () => void {
    const t = { at: this.#now + ms, fn, live: true };
    this.#timers.push(t);
    return () => {
      t.live = false;
    };
  }
  advance(ms: number): void {
    this.#now += ms;
    const due = this.#timers.filter((t) => t.live && t.at <= this.#now).sort((a, b) => a.at - b.at);
    this.#timers = this.#timers.filter((t) => !due.includes(t));
    for (const t of due) t.fn();
  }
}

/** Multiplier for property-test runs: `SOAK=10 pnpm test` soaks (STYLE §10). */
export const SOAK = Math.max(1, Number(process.env.SOAK ?? 1));
