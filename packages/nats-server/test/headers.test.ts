import { describe, expect, it } from "vitest";
import { createHeaders, decodeHeaders } from "../src/index.js";

describe("headers", () => {
  it("encodes and decodes", () => {
    const h = createHeaders();
    h.set("A", "1");
    h.append("B", "2");
    h.append("B", "3");
    const raw = h.encode();
    expect(raw.toString()).toBe("NATS/1.0\r\nA: 1\r\nB: 2\r\nB: 3\r\n\r\n");
    const d = decodeHeaders(raw);
    expect(d?.get("A")).toBe("1");
    expect(d?.get("a")).toBe("1");
    expect(d?.values("B")).toEqual(["2", "3"]);
    expect(d?.keys()).toEqual(["A", "B"]);
    d?.delete("A");
    expect(d?.has("A")).toBe(false);
  });

  it("reads status lines", () => {
    const d = decodeHeaders(Buffer.from("NATS/1.0 503\r\n\r\n"));
    expect([d?.code, d?.description]).toEqual([503, ""]);
    const e = decodeHeaders(Buffer.from("NATS/1.0 408 Request Timeout\r\n\r\n"));
    expect([e?.code, e?.description]).toEqual([408, "Request Timeout"]);
    expect(createHeaders(503, "No Responders").encode().toString()).toBe(
      "NATS/1.0 503 No Responders\r\n\r\n",
    );
    expect(decodeHeaders(Buffer.from("HTTP/1.1\r\n\r\n"))).toBeUndefined();
  });

  it("refuses header injection", () => {
    const h = createHeaders();
    expect(() => h.set("A\r\nB", "x")).toThrow(TypeError);
    expect(() => h.set("A", "x\r\nB: y")).toThrow(TypeError);
  });
});
