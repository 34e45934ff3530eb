import * as net from "node:net";
import { describe, expect, it, vi } from "vitest";
import { type Message, msg, openTcpTransport } from "../../src/index.js";

describe("TCP transport", () => {
  it("delivers messages between peers, reconnects to a restarted peer, drops malformed frames", async () => {
    const a = await openTcpTransport({ id: "a" });
    let b = await openTcpTransport({ id: "b" });
    const got: Message[] = [];
    b.setHandler((m) => got.push(m));
    a.setPeer("b", b.address);
    const m = msg({ type: "heartbeat", from: "a", to: "b", term: 3, commit: 7, context: "x" });
    a.send(m);
    await vi.waitFor(() => expect(got).toEqual([m]), { timeout: 10_000 });

    // b restarts on a new port; a learns the new address and reconnects.
    await b.close();
    b = await openTcpTransport({ id: "b" });
    b.setHandler((x) => got.push(x));
    a.setPeer("b", b.address);
    a.send({ ...m, term: 4 });
    await vi.waitFor(() => expect(got.map((x) => x.term)).toEqual([3, 4]), { timeout: 10_000 });

    // Garbage on the wire closes that connection without reaching the handler.
    const sock = net.connect(b.address.port, b.address.host);
    await new Promise((r) => sock.once("connect", r));
    sock.write(Buffer.from([0, 0, 0, 3, 9, 9, 9]));
    await new Promise((r) => sock.once("close", r));
    expect(got.length).toBe(2);
    await Promise.all([a.close(), b.close(), a.close()]);
  }, 30_000);
});
