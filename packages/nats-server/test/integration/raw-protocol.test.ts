import { fc } from "@fast-check/vitest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NatsServer, startNatsServer } from "../../src/index.js";
import { exchange, rawConnect } from "./raw.js";
import { launchers, type TestServer } from "./servers.js";

const CONNECT = 'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n';

/** Examples from the NATS client protocol documentation: what a publisher sends, what a subscriber gets. */
const DOC_EXAMPLES: [string, string, string][] = [
  ["SUB FOO 1\r\n", "PUB FOO 11\r\nHello NATS!\r\n", "MSG FOO 1 11\r\nHello NATS!\r\n"],
  [
    "SUB FRONT.DOOR 9\r\n",
    "PUB FRONT.DOOR JOKE.22 11\r\nKnock Knock\r\n",
    "MSG FRONT.DOOR 9 JOKE.22 11\r\nKnock Knock\r\n",
  ],
  ["SUB NOTIFY 2\r\n", "PUB NOTIFY 0\r\n\r\n", "MSG NOTIFY 2 0\r\n\r\n"],
  ["SUB FOO.* 9\r\n", "PUB FOO.BAR 11\r\nHello World\r\n", "MSG FOO.BAR 9 11\r\nHello World\r\n"],
  [
    "SUB FOO.> 9\r\n",
    "PUB FOO.BAR GREETING.34 11\r\nHello World\r\n",
    "MSG FOO.BAR 9 GREETING.34 11\r\nHello World\r\n",
  ],
  ["SUB BAR G1 44\r\n", "PUB BAR 2\r\nhi\r\n", "MSG BAR 44 2\r\nhi\r\n"],
  [
    "SUB FOO 1\r\n",
    "HPUB FOO 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n",
    "HMSG FOO 1 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n",
  ],
  [
    "SUB FRONT.DOOR 1\r\n",
    "HPUB FRONT.DOOR JOKE.22 45 56\r\nNATS/1.0\r\nBREAKFAST: donut\r\nLUNCH: burger\r\n\r\nKnock Knock\r\n",
    "HMSG FRONT.DOOR 1 JOKE.22 45 56\r\nNATS/1.0\r\nBREAKFAST: donut\r\nLUNCH: burger\r\n\r\nKnock Knock\r\n",
  ],
  [
    "SUB NOTIFY 1\r\n",
    "HPUB NOTIFY 22 22\r\nNATS/1.0\r\nBar: Baz\r\n\r\n\r\n",
    "HMSG NOTIFY 1 22 22\r\nNATS/1.0\r\nBar: Baz\r\n\r\n\r\n",
  ],
  [
    "SUB MORNING.MENU 1\r\n",
    "HPUB MORNING.MENU 47 51\r\nNATS/1.0\r\nBREAKFAST: donut\r\nBREAKFAST: eggs\r\n\r\nYum!\r\n",
    "HMSG MORNING.MENU 1 47 51\r\nNATS/1.0\r\nBREAKFAST: donut\r\nBREAKFAST: eggs\r\n\r\nYum!\r\n",
  ],
];

/** Single-connection exchanges where the embedded server must answer exactly like nats-server. */
const SAME_AS_NATS_SERVER: string[] = [
  "PING\r\n",
  "ping\r\n",
  "PING x\r\n",
  "PONG\r\n",
  "INFO {}\r\n",
  "+OK\r\n",
  "FOO\r\n",
  "\r\n",
  "xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
  "MSG foo 1 1\r\na\r\n",
  "PUB foo 3\r\nabcd\r\n",
  "PUB foo 2000000\r\n",
  "PUB foo.. 3\r\nabc\r\n",
  "SUB foo..bar 1\r\n",
  "SUB\r\n",
  "UNSUB\r\n",
  "UNSUB 1 x\r\n",
  "-ERR 'x'\r\n",
  `PUB ${"x".repeat(5000)} 1\r\n`,
  'CONNECT {"verbose":true}\r\nSUB foo 1\r\nPUB foo 1\r\na\r\n',
  "SUB foo 1\r\nUNSUB 1 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\n",
  'CONNECT {"verbose":false}\r\nSUB foo 1\r\nSUB foo 1\r\nPUB foo 1\r\na\r\n',
  'CONNECT {"verbose":true,"pedantic":true}\r\nPUB foo.* 1\r\na\r\nSUB a.>.b 2\r\n',
  'CONNECT {"headers":true}\r\nSUB foo 1\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n',
  'CONNECT {"headers":true,"no_responders":true}\r\nSUB r 1\r\nPUB foo r 0\r\n\r\n',
  'CONNECT {"headers":true,"no_responders":true,"echo":false}\r\nSUB foo 1\r\nSUB r 2\r\nPUB foo r 0\r\n\r\n',
  'CONNECT {"no_responders":true}\r\n',
  'CONNECT {"verbose":false,"pedantic":false}\r\nSUB foo.* 2\r\nSUB foo.> 4\r\nPUB foo.* 1\r\na\r\n',
  'CONNECT {"verbose":false,"headers":true}\r\nSUB foo 1\r\nPUB foo 0\r\n\r\nHPUB foo 0 0\r\n\r\n',
  "PUB\tfoo\t1\r\na\r\n",
  "PUB foo 1\na\r\n",
  "sub FOO 1\r\npub FOO 1\r\na\r\n",
];

describe.each(launchers)("raw protocol: $name", (launcher) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await launcher.start();
  });
  afterAll(() => server.stop());

  it.each(DOC_EXAMPLES)("delivers %j + %j byte for byte", async (sub, pub, expected) => {
    const s = await rawConnect(server.port);
    const p = await rawConnect(server.port);
    await s.send(`${CONNECT}${sub}PING\r\n`);
    await s.until((d) => d.endsWith("PONG\r\n"));
    await p.send(`${CONNECT}${pub}PING\r\n`);
    await p.until((d) => d.endsWith("PONG\r\n"));
    await s.until((d) => d.length >= `PONG\r\n${expected}`.length);
    expect(s.afterInfo).toBe(`PONG\r\n${expected}`);
    s.close();
    p.close();
  });

  it("sends INFO first, with the fields clients rely on", async () => {
    const c = await rawConnect(server.port);
    const line = c.data.slice(0, c.data.indexOf("\r\n"));
    expect(line).toMatch(/^INFO \{.*\} $/);
    const info = JSON.parse(line.slice(5)) as Record<string, unknown>;
    expect(info).toMatchObject({ proto: 1, headers: true, max_payload: 1048576, port: server.port });
    expect(typeof info.server_id).toBe("string");
    expect(typeof info.client_id).toBe("number");
    c.close();
  });
});

describe("raw protocol: embedded answers like nats-server", () => {
  const [embedded, reference] = launchers;
  let ours: TestServer;
  let theirs: TestServer;
  beforeAll(async () => {
    ours = await embedded!.start({ maxPayload: 1024 * 1024 });
    theirs = await reference!.start({ maxPayload: 1024 * 1024 });
  });
  afterAll(async () => {
    await ours.stop();
    await theirs.stop();
  });

  it.each(
    SAME_AS_NATS_SERVER.map((input) => [input.length > 80 ? `${input.slice(0, 40)}...` : input, input]),
  )("%j", async (_label, input) => {
    const [a, b] = await Promise.all([exchange(ours.port, input), exchange(theirs.port, input)]);
    expect(a).toEqual(b);
  });
});

describe("raw protocol: embedded server robustness", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer({ port: 0, maxControlLine: 1024, maxPayload: 64 * 1024 });
  });
  afterAll(() => server.close());

  it.each([
    ["PUB foo\r\n"],
    ["PUB foo bar baz 3\r\nabc\r\n"],
    ["PUB foo x\r\nabc\r\n"],
    ["PUB foo -1\r\n"],
    ["SUB foo\r\n"],
    ["CONNECT {bad json\r\n"],
    ["CONNECT [1]\r\n"],
    ["HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"],
    ['CONNECT {"headers":true}\r\nHPUB foo 3 2\r\nab\r\n'],
  ])("answers malformed %j with -ERR and a close (nats-server closes silently)", async (input) => {
    const r = await exchange(server.port, input);
    expect(r.closed).toBe(true);
    expect(r.out.endsWith("-ERR 'Unknown Protocol Operation'\r\n")).toBe(true);
  });

  const stream =
    `${CONNECT}SUB a.* 1\r\nSUB a.> q 2\r\nPUB a.b r 5\r\nhello\r\n` +
    "HPUB a.c 12 14\r\nNATS/1.0\r\n\r\nhi\r\nUNSUB 1 1\r\nPUB a.d 0\r\n\r\nPING\r\n";

  it("gives the same replies for a stream split at every byte boundary", async () => {
    const whole = await exchange(server.port, stream);
    expect(whole.closed).toBe(false);
    expect(whole.out).toContain("MSG a.b 1 r 5\r\nhello\r\n");
    for (let k = 1; k < stream.length; k++) {
      const c = await rawConnect(server.port);
      await c.send(stream.slice(0, k));
      await new Promise((r) => setImmediate(r));
      await c.send(stream.slice(k));
      await c.send("PING\r\n");
      await c.until((d) => d.split("PONG\r\n").length === 3);
      expect(c.afterInfo).toBe(whole.out);
      c.close();
    }
  });

  it("handles many frames coalesced in one write", async () => {
    const c = await rawConnect(server.port);
    const n = 500;
    await c.send(`${CONNECT}SUB x 1\r\n${"PUB x 3\r\nabc\r\n".repeat(n)}PING\r\n`);
    await c.until((d) => d.endsWith("PONG\r\n"));
    expect(c.afterInfo).toBe(`${"MSG x 1 3\r\nabc\r\n".repeat(n)}PONG\r\n`);
    c.close();
  });

  it("answers an oversized control line with -ERR and a close", async () => {
    const r = await exchange(server.port, `SUB ${"a".repeat(2000)} 1\r\n`);
    expect(r).toEqual({ out: "-ERR 'maximum control line exceeded'\r\n", closed: true });
  });

  it("survives fuzzed input and keeps serving another client", async () => {
    const healthy = await rawConnect(server.port);
    await healthy.send(`${CONNECT}SUB ok 1\r\n`);
    const valid = fc.constantFrom(
      "PING\r\n",
      "SUB a 1\r\n",
      "PUB a 3\r\nabc\r\n",
      "HPUB a 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
      "UNSUB 1 2\r\n",
      CONNECT,
      "PUB a 99999999\r\n",
    );
    const frag = fc.oneof(
      valid,
      fc.string({ maxLength: 40 }),
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString("latin1")),
    );
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frag, { maxLength: 8 }), async (parts) => {
        const c = await rawConnect(server.port);
        for (const p of parts) await c.send(Buffer.from(p, "latin1"));
        await c.send("PING\r\n");
        await c.until((d) => d.endsWith("PONG\r\n"), 500).catch(() => {});
        if (c.closed && !/-err/i.test(parts.join(""))) {
          expect(c.afterInfo).toMatch(/-ERR '[^']+'\r\n$/);
        }
        c.close();
        // The other client is still served.
        round++;
        await healthy.send(`PUB ok 1\r\nx\r\nPING\r\n`);
        await healthy.until((d) => d.split("PONG\r\n").length === round + 1);
      }),
      { numRuns: 60 },
    );
    expect(healthy.closed).toBe(false);
    expect(healthy.afterInfo.split("MSG ok 1 1\r\nx\r\n").length).toBe(round + 1);
    healthy.close();
  });
});

describe("raw protocol: nothing after a fatal error is processed", () => {
  it("ignores operations that follow a rejected CONNECT in the same packet", async () => {
    const server = await startNatsServer({ port: 0 });
    try {
      const watcher = server.connect();
      let got = 0;
      watcher.subscribe("leak", { callback: () => got++ });
      const before = server.subscriptionCount;
      const r = await exchange(
        server.port,
        'CONNECT {"no_responders":true}\r\nSUB x 1\r\nPUB leak 1\r\na\r\n',
      );
      expect(r).toEqual({ out: "-ERR 'no responders requires headers support'\r\n", closed: true });
      await watcher.flush();
      expect(got).toBe(0);
      expect(server.subscriptionCount).toBe(before);
    } finally {
      await server.close();
    }
  });
});
