import { describe, expect, it } from "vitest";
import type { StreamState } from "../src/metadata.js";
import { planBootstrap } from "../src/metadata-raft.js";
import { assertReplicationAvailable, placeStream, serverLoads } from "../src/placement.js";

/** A stream whose partitions have the given (replicas, leader) placements. */
function stream(name: string, placements: [string[], string][]): StreamState {
  return {
    name,
    subject: name,
    group: "",
    config: {},
    creationTimestamp: "1",
    resumeAll: false,
    partitions: placements.map(([replicas, leader], id) => ({
      id,
      subject: name,
      stream: name,
      group: "",
      replicationFactor: replicas.length,
      replicas,
      leader,
      isr: replicas,
      leaderEpoch: 1,
      epoch: 1,
      paused: false,
      readonly: false,
      pauseTimestamps: { first: "0", latest: "0" },
      readonlyTimestamps: { first: "0", latest: "0" },
    })),
  };
}

describe("placement (spec internals §3.7)", () => {
  it("counts partition and leader load per server", () => {
    const l = serverLoads([
      stream("a", [
        [["x", "y"], "x"],
        [["y"], "y"],
      ]),
    ]);
    expect(Object.fromEntries(l.partitions)).toEqual({ x: 1, y: 2 });
    expect(Object.fromEntries(l.leaders)).toEqual({ x: 1, y: 1 });
  });

  it.each<[string, string[], [string[], string][], number, { replicas: string[]; leader: string }]>([
    ["empty cluster state: configuration order", ["a", "b", "c"], [], 1, { replicas: ["a"], leader: "a" }],
    ["lowest partition load first", ["a", "b", "c"], [[["a"], "a"]], 1, { replicas: ["b"], leader: "b" }],
    ["stable among equal loads", ["a", "b", "c"], [[["b"], "b"]], 2, { replicas: ["a", "c"], leader: "a" }],
    [
      "leader = the replica with the lowest leader load",
      ["a", "b", "c"],
      [
        [["a", "b"], "a"],
        [["c"], "c"],
      ],
      3,
      { replicas: ["a", "b", "c"], leader: "b" },
    ],
  ])("%s", (_what, servers, placed, rf, want) => {
    expect(placeStream(servers, [stream("s", placed)], rf)).toEqual(want);
  });

  it("refuses a replication factor outside 1..cluster size", () => {
    expect(() => placeStream(["a"], [], 2)).toThrow("cluster size 1");
    expect(() => placeStream(["a"], [], 0)).toThrow();
  });

  it("replication factors above 1 wait for data replication", () => {
    expect(() => assertReplicationAvailable(1)).not.toThrow();
    expect(() => assertReplicationAvailable(2)).toThrow("needs data replication");
  });
});

describe("planBootstrap (spec internals §3.5)", () => {
  it.each<[string, boolean, string[], number, ReturnType<typeof planBootstrap>]>([
    ["a", true, [], 0, { kind: "bootstrap", voters: ["a"] }],
    ["a", false, [], 0, { kind: "join" }],
    ["b", false, ["c", "a", "b"], 0, { kind: "bootstrap", voters: ["a", "b", "c"] }],
    ["b", false, ["a", "c"], 2, { kind: "bootstrap", voters: ["a", "b"] }],
    // Outside the first Q ids: join (as a non-voter) instead of a divergent configuration.
    ["c", false, ["a", "b"], 2, { kind: "join" }],
  ])("%s seed=%s peers=%j max quorum %i", (id, seed, peers, q, want) => {
    expect(planBootstrap(id, seed, peers, q)).toEqual(want);
  });
});
