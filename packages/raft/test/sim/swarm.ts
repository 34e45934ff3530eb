import {
  checkKvLinearizable,
  drawSwarmProfile,
  formatSeed,
  formatSimFail,
  InvariantViolation,
  Prng,
  replayCommand,
  type SimFailure,
  type SwarmProfile,
  swizzleClogPlan,
  TraceRecorder,
} from "@liftbridge/testkit";
import type { RaftMutations } from "../../src/internal.js";
import { SimCluster, type SimClusterOptions } from "./cluster.js";

/** Options of one seeded swarm run. */
export interface RunOptions {
  readonly soak?: boolean;
  /** Event cap for the fault phase (the liveness phase gets its own budget). */
  readonly maxEvents?: number;
  /** Virtual duration of the fault phase. */
  readonly chaosMs?: number;
  readonly mutations?: RaftMutations;
  readonly trace?: TraceRecorder;
  readonly commit?: string;
  /** Override the drawn profile (mutation tests pin the faults that expose a bug). */
  readonly profile?: Partial<SwarmProfile>;
  /** Override cluster options (mutation tests). */
  readonly cluster?: Partial<Omit<SimClusterOptions, "seed" | "nodes" | "trace">>;
}

/** Outcome of one seeded run. */
export interface RunResult {
  readonly ok: boolean;
  readonly seed: string;
  readonly events: number;
  readonly virtualMs: number;
  readonly traceHash: string;
  readonly profile: SwarmProfile;
  readonly ops: number;
  readonly failure?: SimFailure;
  /** The SIM FAIL line plus the replay command. */
  readonly report?: string;
}

const KEYS = ["a", "b", "c"];

/** Runs one seed: draw a swarm profile, inject faults, run the KV workload, heal, check everything. */
export function runSeed(seed: bigint, opts: RunOptions = {}): RunResult {
  const root = new Prng(seed);
  const profile: SwarmProfile = {
    ...drawSwarmProfile(root.fork("profile"), { soak: opts.soak ?? false }),
    ...opts.profile,
  };
  const trace = opts.trace ?? new TraceRecorder();
  const chaosMs = opts.chaosMs ?? (opts.soak ? 8000 : 3000);
  const maxEvents = opts.maxEvents ?? (opts.soak ? 60_000 : 20_000);
  const c = new SimCluster({
    seed,
    nodes: profile.nodes,
    readOnly: profile.leaseReads ? "lease" : "safe",
    snapshotEvery: profile.snapshots ? 15 : 0,
    keepEntries: 3,
    fsyncErrorRate: profile.fsyncErrors ? 0.002 : 0,
    ...(opts.mutations ? { mutations: opts.mutations } : {}),
    ...opts.cluster,
    trace,
  });
  c.net.faults = {
    dropRate: profile.dropRate,
    dupRate: profile.dupRate,
    minDelayMs: 0.5,
    maxDelayMs: profile.maxDelayMs,
    longTailRate: profile.longTailRate,
    longTailMs: 400,
    reorder: profile.reorder,
  };
  trace.add(`profile ${JSON.stringify(profile)}`);
  let phase: "chaos" | "liveness" | "final" = "chaos";
  const fp = c.faultPrng;
  const wp = c.workPrng;

  // ---- workload: three clients, one op at a time each
  let valueSeq = 0;
  const client = (proc: string) => {
    if (phase !== "chaos") return;
    const up = c.upIds();
    if (up.length === 0) {
      c.queue.after(50, "client", "client", () => client(proc));
      return;
    }
    const leader = c.leader();
    const via = leader && wp.chance(0.8) ? leader.id : wp.pick(up);
    const key = wp.pick(KEYS);
    const op = wp.chance(0.6) ? c.write(via, key, `${proc}-${valueSeq++}`, proc) : c.read(via, key, proc);
    const poll = () => {
      if (op.outcome !== null) c.queue.after(1 + wp.float() * 30, "client", "client", () => client(proc));
      else c.queue.after(10, "client-wait", "client", poll);
    };
    poll();
  };
  for (const p of ["c1", "c2", "c3"])
    c.queue.after(50 + wp.float() * 50, "client", "client", () => client(p));

  // ---- faults
  const learners = new Set<string>();
  const fault = () => {
    if (phase !== "chaos") return;
    const kinds: string[] = [];
    if (profile.partitions) kinds.push("partition", "isolate-leader", "one-way", "bridge");
    if (profile.swizzle) kinds.push("swizzle");
    if (profile.crashes) kinds.push("crash", "crash");
    if (profile.clockFaults) kinds.push("pause", "drift", "jump");
    if (profile.membership) kinds.push("membership", "membership");
    if (profile.transfers) kinds.push("transfer");
    if (kinds.length > 0) injectFault(c, fp.pick(kinds), profile, learners, () => phase === "chaos");
    c.queue.after(fp.float() * 2 * profile.faultEveryMs, "fault", "faults", fault);
  };
  c.queue.after(200 + fp.float() * profile.faultEveryMs, "fault", "faults", fault);

  const started = c.events;
  try {
    while (c.queue.now < chaosMs && c.events - started < maxEvents && c.step()) {
      // fault phase
    }
    // ---- liveness phase (TigerBeetle): heal everything, restart everyone, require progress.
    phase = "liveness";
    c.net.heal();
    // Raft needs broadcast time << election timeout: the liveness phase runs on a sane network.
    c.net.faults = {
      ...c.net.faults,
      dropRate: 0,
      dupRate: 0,
      longTailRate: 0,
      maxDelayMs: Math.min(c.net.faults.maxDelayMs, 10),
    };
    for (const n of c.nodes.values()) {
      n.clock.pausedUntil = -1;
      n.clock.drift = 0;
      n.fs.fsyncErrorRate = 0;
    }
    for (const id of c.ids()) c.start(id);
    c.trace.add(`liveness ${c.summary()}`);
    const live = () => {
      const l = c.leader();
      if (!l) return false;
      const s = l.core!.status();
      if (s.leadTransferee !== null || s.conf.votersOutgoing.length > 0) return false;
      for (const id of [...s.conf.voters, ...s.conf.learners]) {
        const n = c.nodes.get(id);
        if (!n?.core || n.core.status().applied < s.commit) return false;
      }
      return c.allOpsDone() && s.commit === s.lastIndex;
    };
    const livenessEvents = c.events;
    const ok = c.runUntil(() => live() || c.events - livenessEvents > 100_000, 30_000);
    if (!ok || !live()) c.fail("Liveness", `no stable leader after heal: ${c.summary()}`);
    // ---- final reads through the leader, then whole-history checks.
    phase = "final";
    // A read may be refused if leadership moves; retry a few times.
    for (const k of KEYS) {
      let done = false;
      for (let attempt = 0; attempt < 5 && !done; attempt++) {
        c.runUntil(() => c.leader() !== null, 5_000);
        const l = c.leader();
        if (!l) break;
        const op = c.read(l.id, k, "final");
        c.runUntil(() => op.outcome !== null, 5_000);
        done = op.outcome === "ok";
      }
      if (!done) c.fail("Liveness", `final read of ${k} did not complete: ${c.summary()}`);
    }
    c.checkAll();
    c.history.closeAll();
    const lin = checkKvLinearizable(c.history.ops);
    if (!lin.ok) c.fail("Linearizability", `key=${lin.badKey}`);
    return {
      ok: true,
      seed: formatSeed(seed),
      events: c.events,
      virtualMs: c.queue.now,
      traceHash: c.traceHash(),
      profile,
      ops: c.history.ops.length,
    };
  } catch (err) {
    const inv =
      err instanceof InvariantViolation
        ? err.invariant
        : (err as Error).name === "AssertionError"
          ? "CoreAssertion"
          : "Crash";
    const detail = err instanceof InvariantViolation ? err.detail : String((err as Error).message ?? err);
    const failure: SimFailure = {
      pkg: "raft",
      seed: formatSeed(seed),
      commit: opts.commit ?? "dev",
      profile: profile.name,
      event: c.queue.executed,
      timeMs: c.queue.now,
      invariant: inv,
      detail: detail.replace(/\s+/g, " "),
    };
    trace.add(`failure ${inv} ${detail}`);
    trace.add(`nodes ${c.summary()}`);
    return {
      ok: false,
      seed: formatSeed(seed),
      events: c.events,
      virtualMs: c.queue.now,
      traceHash: c.traceHash(),
      profile,
      ops: c.history.ops.length,
      failure,
      report: `${formatSimFail(failure)}\n${replayCommand(formatSeed(seed), c.queue.executed)}${opts.soak ? " --soak" : ""}`,
    };
  }
}

function injectFault(
  c: SimCluster,
  kind: string,
  profile: SwarmProfile,
  learners: Set<string>,
  chaos: () => boolean,
): void {
  const fp = c.faultPrng;
  const ids = c.ids();
  const heal = (ms: number) => c.queue.after(ms, "heal", "faults", () => c.net.heal());
  const leader = c.leader();
  c.trace.add(`fault ${kind}`);
  switch (kind) {
    case "partition": {
      const sh = fp.shuffle(ids);
      const k = 1 + fp.int(sh.length - 1);
      c.net.partition([sh.slice(0, k), sh.slice(k)]);
      heal(200 + fp.float() * 3000);
      return;
    }
    case "isolate-leader":
      if (leader) {
        c.net.isolate(leader.id, ids);
        heal(200 + fp.float() * 3000);
      }
      return;
    case "one-way": {
      const a = fp.pick(ids);
      c.net.oneWay(
        a,
        ids.filter((x) => x !== a),
      );
      heal(200 + fp.float() * 2000);
      return;
    }
    case "bridge": {
      if (ids.length < 3) return;
      const sh = fp.shuffle(ids);
      const b = sh[0]!;
      const rest = sh.slice(1);
      const k = 1 + fp.int(rest.length - 1);
      c.net.bridge(rest.slice(0, k), b, rest.slice(k));
      heal(300 + fp.float() * 3000);
      return;
    }
    case "swizzle": {
      for (const step of swizzleClogPlan(fp, ids, 50 + fp.float() * 150)) {
        c.queue.after(step.atMs, "swizzle", "faults", () => {
          // Clogs stop with the fault phase; the liveness phase runs on a healed network.
          if (step.op === "unclog") c.net.restore(step.from, step.to);
          else if (chaos()) c.net.cut(step.from, step.to);
        });
      }
      return;
    }
    case "crash": {
      const up = c.upIds();
      if (up.length === 0) return;
      const id = fp.pick(up);
      c.crash(id, { torn: profile.tornWrites });
      // Half the crashes are quick process restarts, half are long outages.
      const down = fp.chance(0.5) ? 1 + fp.float() * 30 : 50 + fp.float() * 2000;
      c.queue.after(down, "restart", id, () => c.start(id));
      return;
    }
    case "pause": {
      const n = c.nodes.get(fp.pick(ids))!;
      n.clock.pausedUntil = c.queue.now + 100 + fp.float() * 1500;
      return;
    }
    case "drift": {
      // Within the bound the lease assumes (±5% against a 20% margin); beyond it only without leases.
      const n = c.nodes.get(fp.pick(ids))!;
      n.clock.drift = (fp.float() * 2 - 1) * (profile.leaseReads ? 0.05 : 0.5);
      return;
    }
    case "jump": {
      const n = c.nodes.get(fp.pick(ids))!;
      // Backward jumps stretch a lease in real time: only allowed when leases are off.
      n.clock.jump(profile.leaseReads ? fp.float() * 500 : (fp.float() * 2 - 1) * 500);
      return;
    }
    case "transfer": {
      if (!leader) return;
      const voters = leader.core!.status().conf.voters.filter((v) => v !== leader.id);
      if (voters.length > 0) c.withCore(leader.id, (core) => core.transferLeadership(fp.pick(voters)));
      return;
    }
    case "membership": {
      if (!leader) return;
      const s = leader.core!.status();
      const voters = s.conf.voters;
      const r = fp.int(4);
      if (r === 0 && c.nodes.size < 9) {
        const id = c.addEmptyNode();
        if (c.proposeConf(leader.id, { changes: [{ type: "add_learner", node: id }] }) > 0) learners.add(id);
      } else if (r === 1 && s.conf.learners.length > 0) {
        c.proposeConf(leader.id, { changes: [{ type: "add_voter", node: fp.pick(s.conf.learners) }] });
      } else if (r === 2 && voters.length > 3) {
        c.proposeConf(leader.id, { changes: [{ type: "remove", node: fp.pick(voters) }] });
      } else if (r === 3 && s.conf.learners.length > 0 && voters.length >= 3) {
        c.proposeConf(leader.id, {
          changes: [
            { type: "add_voter", node: fp.pick(s.conf.learners) },
            { type: "remove", node: fp.pick(voters) },
          ],
        });
      }
      return;
    }
  }
}
