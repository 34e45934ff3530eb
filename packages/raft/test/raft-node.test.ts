import { ManualClock, SimFs } from "@liftbridge/testkit";
import { describe, expect, it } from "vitest";
import {
  bootstrapMemoryStorage,
  createRaftNode,
  type Entry,
  FileStorage,
  isRaftError,
  type Message,
  type RaftTransport,
} from "../src/index.js";

const sm = () => ({
  applied: [] as string[],
  apply(e: Entry) {
    const s = new TextDecoder().decode(e.data);
    this.applied.push(s);
    return s.length;
  },
  snapshot: () => new Uint8Array(0),
  restore: () => {},
});

const nullTransport = (): RaftTransport => ({
  send: (_m: Message) => {},
  setHandler: () => {},
  close: async () => {},
});

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe("RaftNode driver", () => {
  it("elects itself in a single-node cluster on ticks and applies proposals", async () => {
    const clock = new ManualClock();
    const machine = sm();
    const node = createRaftNode({
      id: "a",
      storage: bootstrapMemoryStorage(["a"]),
      transport: nullTransport(),
      stateMachine: machine,
      clock,
      tickMs: 10,
      random: () => 0,
    });
    await settle();
    for (let i = 0; i < 30 && node.status().role !== "leader"; i++) {
      clock.advance(10);
      await settle();
    }
    expect(node.status().role).toBe("leader");
    const p = node.propose(new TextEncoder().encode("abc"));
    const r = await p;
    expect(r.result).toBe(3);
    expect(machine.applied).toEqual(["abc"]);
    await expect(node.readBarrier()).resolves.toBeGreaterThanOrEqual(r.index);
    await node.close();
    await expect(node.closed).resolves.toBeUndefined();
    await expect(node.propose(new Uint8Array(1))).rejects.toSatisfy((e) => isRaftError(e, "closed"));
  });

  it("refuses proposals on a follower with not_leader", async () => {
    const node = createRaftNode({
      id: "a",
      storage: bootstrapMemoryStorage(["a", "b", "c"]),
      transport: nullTransport(),
      stateMachine: sm(),
      clock: new ManualClock(),
    });
    await expect(node.propose(new Uint8Array(1))).rejects.toSatisfy((e) => isRaftError(e, "not_leader"));
    await node.close();
  });

  it("stops with the error when fsync fails (fail-stop)", async () => {
    const fs = new SimFs();
    const storage = FileStorage.open(fs, "/d", { voters: ["a"] });
    const clock = new ManualClock();
    const node = createRaftNode({
      id: "a",
      storage,
      transport: nullTransport(),
      stateMachine: sm(),
      clock,
      tickMs: 10,
    });
    await settle();
    fs.fsync = () => {
      throw new Error("EIO");
    };
    for (let i = 0; i < 30; i++) {
      clock.advance(10);
      await settle();
    }
    const err = await node.closed;
    expect(err?.message).toBe("EIO");
    await node.close();
  });
});
