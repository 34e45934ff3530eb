# Shared helpers for the root scripts: find or install the pinned pnpm, install dependencies.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PNPM_VERSION="$(node -p "require('$ROOT/package.json').packageManager.split('@')[1]")"
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 COREPACK_ENABLE_DOWNLOAD_PROMPT=0

# pnpm: the pinned version on PATH, else a copy installed with npm into .tools/ (no root needed).
ensure_pnpm() {
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
    PNPM=pnpm
  else
    if [ ! -x "$ROOT/.tools/node_modules/.bin/pnpm" ] ||
      [ "$("$ROOT/.tools/node_modules/.bin/pnpm" --version)" != "$PNPM_VERSION" ]; then
      echo "installing pnpm@$PNPM_VERSION into .tools/" >&2
      npm install --silent --no-audit --no-fund --prefix "$ROOT/.tools" "pnpm@$PNPM_VERSION" >&2
    fi
    PNPM="$ROOT/.tools/node_modules/.bin/pnpm"
  fi
  export PATH="$(dirname "$(command -v "$PNPM")"):$PATH"
}

install_deps() {
  ensure_pnpm
  (cd "$ROOT" && "$PNPM" install --frozen-lockfile --reporter=append-only >&2)
}

# Debian's nats-server and python3-grpcio are test peers; install them when missing and we can.
ensure_test_peers() {
  local want=()
  command -v nats-server >/dev/null 2>&1 || want+=(nats-server)
  /usr/bin/python3 -c 'import grpc' >/dev/null 2>&1 || want+=(python3-grpcio)
  [ ${#want[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${want[*]} from apt" >&2
    apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >&2
  else
    echo "warning: ${want[*]} missing and cannot be installed (not root); run: sudo apt-get install ${want[*]}" >&2
  fi
}
