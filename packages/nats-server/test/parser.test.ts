import { fc, test as propTest } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { type ParseErrorKind, type ParserSink, ProtocolParser } from "../src/parser.js";

/** Records parser events as readable strings. */
function recorder(headers = true, limits = { maxPayload: 1024, maxControlLine: 256 }) {
  const events: string[] = [];
  const sink: ParserSink = {
    onConnect: (json) => events.push(`CONNECT ${json}`),
    onPub: (subject, reply, hdrLen, payload) =>
      events.push(`PUB ${subject} ${reply ?? "-"} ${hdrLen} ${JSON.stringify(payload.toString("latin1"))}`),
    onSub: (subject, queue, sid) => events.push(`SUB ${subject} ${queue ?? "-"} ${sid}`),
    onUnsub: (sid, max) => events.push(`UNSUB ${sid} ${max}`),
    onPing: () => events.push("PING"),
    onPong: () => events.push("PONG"),
    onErr: (msg) => events.push(`ERR ${msg}`),
    onParseError: (kind: ParseErrorKind) => events.push(`FAIL ${kind}`),
  };
  const parser = new ProtocolParser(sink, limits);
  parser.headers = headers;
  return { parser, events };
}

function parseAll(input: string | Buffer, chunks?: number[]): string[] {
  const { parser, events } = recorder();
  const buf = typeof input === "string" ? Buffer.from(input, "latin1") : input;
  if (chunks === undefined) {
    parser.feed(buf);
  } else {
    let pos = 0;
    for (const c of chunks) {
      parser.feed(buf.subarray(pos, pos + c));
      pos += c;
    }
    parser.feed(buf.subarray(pos));
  }
  return events;
}

describe("ProtocolParser", () => {
  it.each([
    ["PING\r\n", ["PING"]],
    ["ping\r\n", ["PING"]],
    ["PING extra\r\n", ["PING"]],
    ["PONG\r\n", ["PONG"]],
    ["PUB foo 5\r\nhello\r\n", ['PUB foo - -1 "hello"']],
    ["PUB foo.bar INBOX.22 11\r\nHello World\r\n", ['PUB foo.bar INBOX.22 -1 "Hello World"']],
    ["PUB FRONT.DOOR 0\r\n\r\n", ['PUB FRONT.DOOR - -1 ""']],
    ["pub  foo\t 2\r\nab\r\n", ['PUB foo - -1 "ab"']],
    ["PUB foo 1\na\r\n", ['PUB foo - -1 "a"']],
    [
      "HPUB FOO 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n",
      ['HPUB FOO - 22 "NATS/1.0\\r\\nBar: Baz\\r\\n\\r\\nHello NATS!"'.replace("HPUB", "PUB")],
    ],
    ["SUB FOO 1\r\n", ["SUB FOO - 1"]],
    ["SUB BAR G1 44\r\n", ["SUB BAR G1 44"]],
    ["UNSUB 1\r\n", ["UNSUB 1 -1"]],
    ["UNSUB 1 5\r\n", ["UNSUB 1 5"]],
    ["UNSUB 1 x\r\n", ["UNSUB 1 0"]],
    ['CONNECT {"verbose":false}\r\n', ['CONNECT {"verbose":false}']],
    ["INFO {}\r\n+OK\r\nPING\r\n", ["PING"]],
    ["-ERR 'oops'\r\n", ["ERR 'oops'"]],
    ["FOO\r\n", ["FAIL unknown_op"]],
    ["\r\n", ["FAIL unknown_op"]],
    ["MSG foo 1 1\r\na\r\n", ["FAIL unknown_op"]],
    ["PUB foo\r\n", ["FAIL bad_args"]],
    ["PUB foo bar baz 1\r\n", ["FAIL bad_args"]],
    ["PUB foo x\r\n", ["FAIL bad_args"]],
    ["PUB foo -1\r\n", ["FAIL bad_args"]],
    ["PUB foo 3\r\nabcd\r\n", ["FAIL unknown_op"]],
    ["PUB foo 2000\r\n", ["FAIL max_payload"]],
    ["HPUB foo 3 2\r\nab\r\n", ["FAIL bad_args"]],
    ["SUB\r\n", ["FAIL bad_args"]],
    ["SUB a b c d\r\n", ["FAIL bad_args"]],
    ["UNSUB\r\n", ["FAIL bad_args"]],
    [`PUB ${"x".repeat(300)} 1\r\n`, ["FAIL max_control_line"]],
    ["xyz", ["FAIL unknown_op"]],
    ["PING\r\nFOO\r\nPING\r\n", ["PING", "FAIL unknown_op"]],
  ])("%j", (input, expected) => {
    expect(parseAll(input)).toEqual(expected);
  });

  it("rejects HPUB when headers were not negotiated", () => {
    const { parser, events } = recorder(false);
    parser.feed(Buffer.from("HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"));
    expect(events).toEqual(["FAIL headers_not_enabled"]);
  });

  it("fails on an unterminated control line longer than the limit", () => {
    const { parser, events } = recorder();
    parser.feed(Buffer.from(`PUB ${"a".repeat(400)}`));
    expect(events).toEqual(["FAIL max_control_line"]);
  });

  it("hands payloads inside one chunk over without copying", () => {
    const seen: Buffer[] = [];
    const sink = { ...recorder().parser } as unknown as ParserSink;
    const parser = new ProtocolParser(
      {
        ...sink,
        onPub: (_s, _r, _h, p) => seen.push(p),
        onParseError: () => {},
      } as ParserSink,
      { maxPayload: 100, maxControlLine: 100 },
    );
    const chunk = Buffer.from("PUB a 3\r\nabc\r\n");
    parser.feed(chunk);
    expect(seen[0]?.buffer).toBe(chunk.buffer);
  });

  const stream =
    'CONNECT {"verbose":false,"headers":true}\r\nSUB foo.* q 1\r\nPUB foo.a r 5\r\nhello\r\n' +
    "HPUB foo.b 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\nUNSUB 1 3\r\nPUB x 0\r\n\r\nPONG\r\n";
  const whole = parseAll(stream);

  it("gives the same events for every split point", () => {
    expect(whole).toHaveLength(8);
    for (let k = 0; k <= stream.length; k++) {
      expect(parseAll(stream, [k])).toEqual(whole);
    }
  });

  it("gives the same events fed byte by byte", () => {
    expect(
      parseAll(
        stream,
        Array.from({ length: stream.length }, () => 1),
      ),
    ).toEqual(whole);
  });

  it("gives the same events for coalesced copies of the stream", () => {
    const many = stream.repeat(5);
    expect(parseAll(many)).toEqual([...whole, ...whole, ...whole, ...whole, ...whole]);
  });

  propTest.prop([fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 5 })])(
    "never throws on random bytes, whatever the chunking",
    (bytes, cuts) => {
      const { parser, events } = recorder();
      const buf = Buffer.from(bytes);
      let pos = 0;
      for (const c of cuts) {
        parser.feed(buf.subarray(pos, pos + c));
        pos = Math.min(buf.length, pos + c);
      }
      parser.feed(buf.subarray(pos));
      // At most one failure, and it is the last event.
      const fails = events.filter((e) => e.startsWith("FAIL"));
      expect(fails.length).toBeLessThanOrEqual(1);
      if (fails.length === 1) expect(events[events.length - 1]).toBe(fails[0]);
    },
  );

  const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/);
  const subject = fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => t.join("."));
  propTest.prop([
    subject,
    fc.option(subject, { nil: undefined }),
    fc.uint8Array({ maxLength: 200 }),
    fc.nat(20),
  ])("round-trips PUB frames at any split", (subj, reply, payload, cutSeed) => {
    const head = Buffer.from(`PUB ${subj}${reply ? ` ${reply}` : ""} ${payload.length}\r\n`);
    const frame = Buffer.concat([head, payload, Buffer.from("\r\n")]);
    const cut = cutSeed % (frame.length + 1);
    const events = parseAll(frame, [cut]);
    expect(events).toEqual([
      `PUB ${subj} ${reply ?? "-"} -1 ${JSON.stringify(Buffer.from(payload).toString("latin1"))}`,
    ]);
  });
});
