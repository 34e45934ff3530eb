import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as genApi from "../src/gen/api.js";
import * as genHealth from "../src/gen/health.js";
import * as genInternal from "../src/gen/internal.js";
import * as index from "../src/index.js";
import * as internal from "../src/internal.js";

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..");

describe("generated code", () => {
  it("matches what scripts/generate.mjs produces from proto/ (drift check)", () => {
    // Exits 1 and names the stale file when regenerating would change src/gen/.
    const run = () =>
      execFileSync(process.execPath, [join(pkgDir, "scripts", "generate.mjs"), "--check"], {
        cwd: pkgDir,
        encoding: "utf8",
        stdio: "pipe",
      });
    expect(run).not.toThrow();
  });

  it("every generated value is exported from the public (or internal) entry point", () => {
    for (const name of [...Object.keys(genApi), ...Object.keys(genHealth)]) {
      expect(index, name).toHaveProperty(name);
    }
    for (const name of Object.keys(genInternal)) expect(internal, name).toHaveProperty(name);
  });
});
