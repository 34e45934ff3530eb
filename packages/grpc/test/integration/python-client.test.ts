// Interop: our server against Debian's python3-grpcio (generic stubs, raw bytes), over h2c and TLS.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";
import { createHealthService, Status } from "../../src/index.js";
import { startTestServer } from "../helpers/test-service.js";
import { tlsFixtures } from "../helpers/tls.js";

const PYTHON = "/usr/bin/python3";
const script = fileURLToPath(new URL("../interop/python_client.py", import.meta.url));
const caPath = fileURLToPath(new URL("../fixtures/tls/ca.crt", import.meta.url));

function runPython(args: string[]): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [script, ...args], { timeout: 120_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`python failed: ${err.message}\n${stderr}`));
        return;
      }
      resolve(JSON.parse(stdout) as Record<string, string>);
    });
  });
}

const CHECKS = [
  "unary_metadata",
  "empty_message",
  "gzip_request",
  "error_unicode_trailers_only",
  "unknown_method",
  "server_stream",
  "client_stream",
  "bidi",
  "unary_deadline",
  "stream_deadline",
  "cancel_stream",
  "cancel_unary",
  "max_message_size",
  "concurrent_unary",
  "keepalive_pings",
  "health_check",
];

describe.each([
  ["h2c", false],
  ["TLS", true],
])("our server <- python3-grpcio client (%s)", (_name, secure) => {
  it("passes every interop check; handlers see deadlines and cancellations", async () => {
    const { server, port, stats } = await startTestServer(
      secure ? { tls: { key: tlsFixtures.serverKey, cert: tlsFixtures.serverCert } } : {},
    );
    const health = createHealthService();
    server.addService(health.definition, health.handlers);
    try {
      const results = await runPython(secure ? [String(port), caPath] : [String(port)]);
      expect(Object.keys(results).sort()).toEqual([...CHECKS].sort());
      for (const check of CHECKS) expect({ check, result: results[check] }).toEqual({ check, result: "ok" });
      // Server-side effects of the deadline and cancel checks.
      await vi.waitFor(
        () => {
          expect(stats.events).toContainEqual(expect.stringMatching(/^sleep:py-dl:aborted:(4|1)$/));
          expect(stats.events).toContain(`sleep:py-ucancel:aborted:${Status.CANCELLED}`);
          expect(stats.events).toContain(`infinite:py-cancel:returned:${Status.CANCELLED}`);
          expect(stats.events.some((e) => e.startsWith("infinite:py-sdl:returned"))).toBe(true);
          expect(stats.events).toContain("sleep:py-ka:done");
        },
        { timeout: 5000 },
      );
    } finally {
      await server.close({ graceMs: 100 });
    }
  }, 150_000);
});
