#!/usr/bin/env bash
# Installs pnpm, the workspace's dependencies and the test peers, then builds.
source "$(dirname "$0")/lib.sh"
install_deps
ensure_test_peers
cd "$ROOT"
"$PNPM" exec turbo run build
