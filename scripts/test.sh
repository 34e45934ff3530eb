#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs pnpm, dependencies and test peers, then runs
# lint, build, typecheck and every package's tests. Ends with one "N passed, N failed" line.
source "$(dirname "$0")/lib.sh"
install_deps
ensure_test_peers
cd "$ROOT"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
"$PNPM" run check 2>&1 | tee "$log" || status=$?
# Sum vitest's per-package "Tests  N passed | M failed" lines into one closing line.
node -e '
  const text = require("fs").readFileSync(process.argv[1], "utf8").replace(/\x1b\[[0-9;]*m/g, "");
  let passed = 0, failed = 0, skipped = 0, errors = 0;
  for (const line of text.split("\n")) {
    const plain = line.trim().replace(/^@[^ ]+:\s*/, "");
    const e = /^Errors\s+(\d+) errors?/.exec(plain);
    if (e) errors += +e[1];
    const m = /^\S*\s*Tests\s+(.*)\(\d+\)\s*$/.exec(plain);
    if (!m) continue;
    for (const [, n, what] of m[1].matchAll(/(\d+) (passed|failed|skipped|todo)/g)) {
      if (what === "passed") passed += +n; else if (what === "failed") failed += +n; else skipped += +n;
    }
  }
  // Unhandled errors and failed tasks fail the run even when every counted test passed.
  if (process.argv[2] !== "0" && failed === 0) failed = Math.max(1, errors);
  console.log(`tests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$log" "$status"
exit "$status"
