#!/usr/bin/env bash
# Starts the main job from a fresh clone: installs what it needs, builds, runs.
source "$(dirname "$0")/lib.sh"
install_deps
cd "$ROOT"
"$PNPM" exec turbo run build --output-logs=errors-only >&2
exec node packages/commitlog/examples/demo.js "$@"
