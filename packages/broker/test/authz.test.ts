import { fc, test } from "@fast-check/vitest";
import { Status } from "@liftbridge/grpc";
import { describe, expect, it } from "vitest";
import {
  authzError,
  CLIENT_ID_ERROR,
  clientIdOf,
  createEnforcer,
  isBrokerError,
  keyMatch,
  openAuthorizer,
  parseAuthzModel,
  parseAuthzPolicy,
  SAMPLE_AUTHZ_MODEL,
} from "../src/index.js";

const SAMPLE_MODEL = SAMPLE_AUTHZ_MODEL;

const SAMPLE_POLICY = `
p, client1, *, FetchMetadata
p, client1, foo, CreateStream
p, client1, foo, Publish
# a comment
p, client1, __cursors, Publish
`;

const model = (matcher: string, p = "sub, obj, act") =>
  `[request_definition]\nr = sub, obj, act\n[policy_definition]\np = ${p}\n[policy_effect]\ne = some(where (p.eft == allow))\n[matchers]\nm = ${matcher}\n`;

const enforcer = (modelText: string, policyText: string) => {
  const m = parseAuthzModel(modelText);
  return createEnforcer(m, parseAuthzPolicy(m, policyText));
};

describe("parseAuthzModel", () => {
  it("accepts upstream's sample model", () => {
    const m = parseAuthzModel(SAMPLE_MODEL);
    expect(m.requestFields).toEqual(["sub", "obj", "act"]);
    expect(m.policyFields).toEqual(["sub", "obj", "act"]);
    expect(m.matcher).toBe("r.sub == p.sub && r.obj == p.obj && r.act == p.act");
  });

  it.each([
    [`[role_definition]\ng = _, _\n${SAMPLE_MODEL}`, "[role_definition]: role definitions"],
    [SAMPLE_MODEL.replace("r = sub, obj, act", "r = sub, obj, act\nr2 = sub, obj"), 'key "r2"'],
    [SAMPLE_MODEL.replace("r = sub, obj, act", "r = sub, dom, obj, act"), "exactly 3 fields"],
    [
      SAMPLE_MODEL.replace("some(where (p.eft == allow))", "!some(where (p.eft == deny))"),
      'policy effect "!some(where (p.eft == deny))" is not supported',
    ],
    [SAMPLE_MODEL.replace("some(where (p.eft == allow))", "priority(p.eft) || deny"), "policy effect"],
    [model("g(r.sub, p.sub) && r.obj == p.obj"), "role function g() is not supported"],
    [model("regexMatch(r.obj, p.obj)"), "function regexMatch() is not supported (only keyMatch)"],
    [model("r.sub == p.sub && r.obj in ('a', 'b')"), 'operator "in" is not supported'],
    [model("r.sub =~ p.sub"), 'operator "=~" at column 7 is not supported'],
    [model("r.sub == p.sub && r.age > 18"), 'operator ">"'],
    [model("r.sub == p.user"), "p.user is not in policy_definition"],
    [model("r.who == p.sub"), "r.who is not in request_definition"],
    [model("r.sub"), "the matcher needs a boolean operand"],
    [model("r.sub == p.sub &&"), "unexpected end of expression"],
    [model("(r.sub == p.sub"), 'expected ")"'],
    [model("r.sub == p.sub) "), 'unexpected ")"'],
    [model("keyMatch(r.obj)"), "keyMatch takes two string arguments"],
    [SAMPLE_MODEL.replace("[matchers]", "[matcherz]"), "unknown section [matcherz]"],
    [SAMPLE_MODEL.slice(0, SAMPLE_MODEL.indexOf("[matchers]")), 'missing [matchers] with "m = ..."'],
  ])("rejects %#: names the construct (%s)", (text, message) => {
    let err: unknown;
    try {
      parseAuthzModel(text, "/etc/model.conf");
    } catch (e) {
      err = e;
    }
    expect(isBrokerError(err, "invalid_argument")).toBe(true);
    expect((err as Error).message).toContain("/etc/model.conf");
    expect((err as Error).message).toContain(message);
  });
});

describe("parseAuthzPolicy", () => {
  const m = parseAuthzModel(SAMPLE_MODEL);

  it("reads Casbin CSV: comments, blank lines, trimmed and quoted fields", () => {
    const p = parseAuthzPolicy(m, `# header\n\n  p ,  a , "b, c" ,  Subscribe  \np,"x""y",*,Publish\r\n`);
    expect(p.rules).toEqual([
      ["a", "b, c", "Subscribe"],
      ['x"y', "*", "Publish"],
    ]);
  });

  it.each([
    ["g, alice, admin", 'line 1: role assignment "g" is not supported'],
    ["p, a, b, c\nx, a, b, c", 'line 2: unknown policy type "x"'],
    ["p, a, b", "line 1: 2 fields, the policy_definition has 3 (sub, obj, act)"],
    ["p, a, b, c, d", "line 1: 4 fields"],
    ['p, "a, b, c', "line 1: malformed quoted field"],
  ])("rejects %j", (text, message) => {
    expect(() => parseAuthzPolicy(m, text, "policy.csv")).toThrow(`policy.csv: ${message}`);
  });

  it("checks eft values when the policy has an eft field", () => {
    const me = parseAuthzModel(model("r.sub == p.sub", "sub, eft"));
    expect(() => parseAuthzPolicy(me, "p, a, maybe")).toThrow('eft must be "allow" or "deny", got "maybe"');
  });
});

describe("enforcement", () => {
  it("upstream's sample: exact triples only; '*' is a literal resource", () => {
    const e = enforcer(SAMPLE_MODEL, SAMPLE_POLICY);
    expect(e.rules).toBe(4);
    expect(e.enforce("client1", "*", "FetchMetadata")).toBe(true);
    expect(e.enforce("client1", "foo", "CreateStream")).toBe(true);
    expect(e.enforce("client1", "foo", "Publish")).toBe(true);
    expect(e.enforce("client1", "__cursors", "Publish")).toBe(true);
    expect(e.enforce("client1", "bar", "CreateStream")).toBe(false);
    expect(e.enforce("client1", "foo", "DeleteStream")).toBe(false);
    expect(e.enforce("client2", "foo", "CreateStream")).toBe(false);
    expect(e.enforce("client1", "anything", "FetchMetadata")).toBe(false);
  });

  it("keyMatch wildcards, !=, ||, ! and parentheses", () => {
    const e = enforcer(
      model(
        'r.sub == p.sub && keyMatch(r.obj, p.obj) && (r.act == p.act || p.act == "*") && !(r.obj == "secret")',
      ),
      "p, alice, orders.*, Publish\np, bob, *, *\n",
    );
    expect(e.enforce("alice", "orders.eu", "Publish")).toBe(true);
    expect(e.enforce("alice", "orders", "Publish")).toBe(false);
    expect(e.enforce("alice", "orders.eu", "Subscribe")).toBe(false);
    expect(e.enforce("bob", "anything", "DeleteStream")).toBe(true);
    expect(e.enforce("bob", "secret", "Subscribe")).toBe(false);
    const ne = enforcer(model("r.sub != p.sub"), "p, alice, x, y");
    expect(ne.enforce("alice", "x", "y")).toBe(false);
    expect(ne.enforce("bob", "x", "y")).toBe(true);
  });

  it("deny rows never allow under some(where (p.eft == allow))", () => {
    const e = enforcer(
      model("r.sub == p.sub && r.obj == p.obj && r.act == p.act", "sub, obj, act, eft"),
      "p, alice, foo, Publish, deny\np, alice, bar, Publish, allow\n",
    );
    expect(e.enforce("alice", "foo", "Publish")).toBe(false);
    expect(e.enforce("alice", "bar", "Publish")).toBe(true);
  });

  it("no policy rows, or a matcher that reads no p field: evaluated once with empty p fields", () => {
    expect(enforcer(SAMPLE_MODEL, "").enforce("a", "b", "c")).toBe(false);
    const root = enforcer(model('r.sub == "root"'), "p, alice, foo, Publish");
    expect(root.enforce("root", "x", "y")).toBe(true);
    expect(root.enforce("alice", "foo", "Publish")).toBe(false);
    expect(enforcer(model('p.sub == ""'), "").enforce("a", "b", "c")).toBe(true);
  });

  it.each([
    ["foo", "foo", true],
    ["foo", "bar", false],
    ["/foo/bar", "/foo/*", true],
    ["/foo", "/foo/*", false],
    ["/foo/", "/foo/*", true],
    ["anything", "*", true],
    ["", "*", true],
  ])("keyMatch(%j, %j) = %s", (key, pattern, want) => {
    expect(keyMatch(key, pattern)).toBe(want);
  });

  it("cached decisions never mix up triples whose parts contain separators", () => {
    const e = enforcer(
      SAMPLE_MODEL,
      'p, "a\u0000b", c, Publish\np, a, "b\u0000c", Publish\np, a, 1:2, Publish',
    );
    expect(e.enforce("a\u0000b", "c", "Publish")).toBe(true);
    expect(e.enforce("a", "b\u0000c", "Publish")).toBe(true);
    expect(e.enforce("a", "b", "\u0000cPublish")).toBe(false);
    expect(e.enforce("a\u0000", "bc", "Publish")).toBe(false);
    expect(e.enforce("a", "1:2", "Publish")).toBe(true);
    expect(e.enforce("a", "1", ":2Publish")).toBe(false);
  });

  const word = fc.constantFrom("alice", "bob", "foo", "bar", "*", "Publish", "Subscribe", "a,b", "");
  test.prop([fc.array(fc.tuple(word, word, word), { maxLength: 20 }), fc.array(fc.tuple(word, word, word))])(
    "the sample model agrees with a set-membership oracle (and repeated, cached answers agree)",
    (rows, requests) => {
      const csv = rows.map((r) => `p, ${r.map((f) => `"${f}"`).join(", ")}`).join("\n");
      const e = enforcer(SAMPLE_MODEL, csv);
      const set = new Set(rows.map((r) => r.join("\u0000")));
      for (const [s, o, a] of [...requests, ...requests]) {
        // Casbin: with no p line the matcher runs once with empty p fields.
        const want = rows.length > 0 ? set.has([s, o, a].join("\u0000")) : s === "" && o === "" && a === "";
        expect(e.enforce(s, o, a)).toBe(want);
      }
    },
  );
});

describe("openAuthorizer", () => {
  const files = new Map<string, string>([
    ["model.conf", SAMPLE_MODEL],
    ["policy.csv", "p, alice, foo, Publish\n"],
  ]);
  const readFile = async (p: string): Promise<string> => {
    const text = files.get(p);
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: "ENOENT" });
    return text;
  };
  const logs: { level: string; msg: string | undefined; obj: object }[] = [];
  const logger = {
    debug: (obj: object, msg?: string) => logs.push({ level: "debug", msg, obj }),
    info: (obj: object, msg?: string) => logs.push({ level: "info", msg, obj }),
    warn: (obj: object, msg?: string) => logs.push({ level: "warn", msg, obj }),
    error: (obj: object, msg?: string) => logs.push({ level: "error", msg, obj }),
    child: () => logger,
  };

  it("reload swaps the policy; a bad or missing file keeps the old one, logs an error and rejects", async () => {
    const a = await openAuthorizer({ modelFile: "model.conf", policyFile: "policy.csv", readFile, logger });
    expect(a.enforce("alice", "foo", "Publish")).toBe(true);
    expect(a.enforce("bob", "foo", "Publish")).toBe(false);

    files.set("policy.csv", "p, bob, foo, Publish\n");
    await a.reload();
    expect(a.enforce("alice", "foo", "Publish")).toBe(false);
    expect(a.enforce("bob", "foo", "Publish")).toBe(true);
    expect(logs.at(-1)).toMatchObject({ level: "info", msg: "authz policy reloaded" });

    files.set("policy.csv", "p, alice, foo\n");
    const bad = await a.reload().catch((e: unknown) => e);
    expect(isBrokerError(bad, "invalid_argument")).toBe(true);
    expect((bad as Error).message).toContain("policy.csv: line 1: 2 fields");
    expect(a.enforce("bob", "foo", "Publish")).toBe(true);
    expect(a.rules).toBe(1);
    expect(logs.at(-1)).toMatchObject({
      level: "error",
      msg: "authz policy reload failed: keeping the previous policy",
    });

    files.delete("policy.csv");
    expect(isBrokerError(await a.reload().catch((e: unknown) => e), "io")).toBe(true);
    expect(a.enforce("bob", "foo", "Publish")).toBe(true);
  });

  it("concurrent reloads run one after the other; the last file read wins", async () => {
    files.set("policy.csv", "p, alice, foo, Publish\n");
    const a = await openAuthorizer({ modelFile: "model.conf", policyFile: "policy.csv", readFile });
    files.set("policy.csv", "p, carol, foo, Publish\n");
    await Promise.all([a.reload(), a.reload()]);
    expect(a.enforce("carol", "foo", "Publish")).toBe(true);
  });

  it("an unsupported model fails at open, naming the file and construct", async () => {
    files.set("rbac.conf", `[role_definition]\ng = _, _\n${SAMPLE_MODEL}`);
    await expect(
      openAuthorizer({ modelFile: "rbac.conf", policyFile: "policy.csv", readFile }),
    ).rejects.toThrow(
      "rbac.conf: line 1: [role_definition]: role definitions (RBAC, g(...)) are not supported",
    );
  });
});

describe("the call check", () => {
  const allowAll = { enforce: () => true };
  const cert = (CN: unknown) => ({ subject: { CN } }) as never;

  it("client ID = the verified certificate's single non-empty CN", () => {
    expect(clientIdOf({ tls: { authorized: true, peerCertificate: cert("alice") } })).toBe("alice");
    expect(clientIdOf({ tls: undefined })).toBeUndefined();
    expect(clientIdOf({ tls: { authorized: false, peerCertificate: cert("alice") } })).toBeUndefined();
    expect(clientIdOf({ tls: { authorized: true, peerCertificate: undefined } })).toBeUndefined();
    expect(clientIdOf({ tls: { authorized: true, peerCertificate: cert("") } })).toBeUndefined();
    expect(clientIdOf({ tls: { authorized: true, peerCertificate: cert(["a", "b"]) } })).toBeUndefined();
  });

  it("errors are Unknown with upstream's messages", () => {
    expect(authzError(allowAll, "alice", "Publish", "foo")).toBeUndefined();
    const noId = authzError(allowAll, undefined, "Publish", "foo");
    expect(noId?.code).toBe(Status.UNKNOWN);
    expect(noId?.details).toBe(CLIENT_ID_ERROR);
    const denied = authzError({ enforce: () => false }, "bob", "FetchMetadata", "*");
    expect(denied?.code).toBe(Status.UNKNOWN);
    expect(denied?.details).toBe("The client is not authorized to call FetchMetadata on resource *");
  });
});
