import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const FIXTURE = fileURLToPath(new URL("./fixtures/kv-node.ts", import.meta.url));
const IDS = ["p1", "p2", "p3"];

interface Proc {
  child: ChildProcess;
  port: number;
  alive: boolean;
}

describe("multi-process raft over TCP with file storage", () => {
  const root = mkdtempSync(join(tmpdir(), "raft-mp-"));
  const procs = new Map<string, Proc>();
  let seq = 0;
  const pending = new Map<string, (m: { ok: boolean; [k: string]: unknown }) => void>();

  afterAll(() => {
    for (const p of procs.values()) if (p.alive) p.child.kill("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  });

  const broadcastPeers = () => {
    const peers = Object.fromEntries([...procs].map(([id, p]) => [id, p.port]));
    for (const p of procs.values()) if (p.alive) p.child.send({ type: "peers", peers });
  };

  const start = (id: string) =>
    new Promise<void>((resolve, reject) => {
      const child = fork(FIXTURE, [id, join(root, id), IDS.join(",")], {
        execArgv: ["--import", "tsx"],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      const timer = setTimeout(() => reject(new Error(`${id} did not start`)), 30_000);
      child.on("message", (m: { type?: string; port?: number; reqId?: string; ok: boolean }) => {
        if (m.type === "ready") {
          clearTimeout(timer);
          procs.set(id, { child, port: m.port!, alive: true });
          broadcastPeers();
          resolve();
        } else if (m.reqId) {
          pending.get(m.reqId)?.(m);
          pending.delete(m.reqId);
        }
      });
      child.on("exit", () => {
        const p = procs.get(id);
        if (p?.child === child) p.alive = false;
      });
    });

  const rpc = (id: string, msg: object, timeoutMs = 5000) =>
    new Promise<{ ok: boolean; [k: string]: unknown }>((resolve) => {
      const p = procs.get(id);
      if (!p?.alive) {
        resolve({ ok: false, error: "down" });
        return;
      }
      const reqId = `r${seq++}`;
      const t = setTimeout(() => {
        pending.delete(reqId);
        resolve({ ok: false, error: "rpc-timeout" });
      }, timeoutMs);
      pending.set(reqId, (m) => {
        clearTimeout(t);
        resolve(m);
      });
      // A child killed a moment ago (its exit not yet seen) fails the send with EPIPE: answer "down"
      // through the callback instead of letting it surface as an uncaught error.
      p.child.send({ ...msg, reqId }, (err) => {
        if (!err) return;
        clearTimeout(t);
        pending.delete(reqId);
        resolve({ ok: false, error: "down" });
      });
    });

  const leader = async (deadlineMs = 20_000): Promise<string> => {
    const end = Date.now() + deadlineMs;
    while (Date.now() < end) {
      let best: { id: string; term: number } | null = null;
      for (const id of IDS) {
        const s = await rpc(id, { type: "status" }, 1000);
        if (s.ok && s.role === "leader" && (!best || (s.term as number) > best.term))
          best = { id, term: s.term as number };
      }
      if (best) return best.id;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("no leader");
  };

  it("survives repeated SIGKILL of the leader without losing acknowledged writes", async () => {
    await Promise.all(IDS.map(start));
    const acked = new Map<string, string>();
    let i = 0;
    const writeSome = async (n: number) => {
      let done = 0;
      const end = Date.now() + 60_000;
      while (done < n && Date.now() < end) {
        const l = await leader();
        const key = `w${i}`;
        const value = `v${i}`;
        const r = await rpc(l, { type: "put", key, value }, 5000);
        if (r.ok) {
          acked.set(key, value);
          done++;
          i++;
        }
      }
      expect(done).toBe(n);
    };
    await writeSome(10);
    const killed: string[] = [];
    for (let round = 0; round < 3; round++) {
      const victim = await leader();
      procs.get(victim)!.child.kill("SIGKILL");
      killed.push(victim);
      await writeSome(8); // a new leader is elected and takes writes meanwhile
      await start(victim); // restart from its data directory
      await writeSome(4);
    }
    // Every acknowledged write is present, read linearizably through the leader.
    const l = await leader();
    const dump = await rpc(l, { type: "dump" }, 10_000);
    expect(dump.ok).toBe(true);
    const data = dump.data as Record<string, string>;
    for (const [k, v] of acked) expect(data[k], k).toBe(v);
    // The restarted nodes catch up with the leader's commit.
    const target = (await rpc(l, { type: "status" })).commit as number;
    for (const id of new Set(killed)) {
      const end = Date.now() + 20_000;
      let applied = 0;
      while (Date.now() < end) {
        applied = (await rpc(id, { type: "status" })).applied as number;
        if (applied >= target) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(applied, `${id} caught up`).toBeGreaterThanOrEqual(target);
    }
    expect(acked.size).toBe(10 + 3 * 12);
  }, 180_000);
});
