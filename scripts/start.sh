#!/usr/bin/env bash
# Starts a single-node Liftbridge server with embedded NATS from a fresh clone: installs what it
# needs, builds, then runs `liftbridge --raft-bootstrap-seed` (gRPC on 9292, NATS on 4222).
# Extra arguments go to the server, e.g. `npm start -- -d ./data --level debug`.
source "$(dirname "$0")/lib.sh"
install_deps
cd "$ROOT"
"$PNPM" exec turbo run build --filter=@liftbridge/server... --output-logs=errors-only >&2
exec node apps/server/dist/cli.js --raft-bootstrap-seed "$@"
