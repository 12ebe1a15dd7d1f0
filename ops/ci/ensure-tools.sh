#!/usr/bin/env bash
# Installs what the checks need that a fresh machine lacks: Debian packages
# (docker-compose to validate the compose file, prometheus for promtool,
# chromium and chromedriver for the UI tests) and
# the pinned npm peers in ops/conformance (Node 22, the MCP conformance suite,
# the reference server), the MCP Python and TypeScript SDKs in
# ops/gateway-client (.venv, node_modules), the TypeScript client's packages in
# api/client-ts/node_modules and schemathesis in ops/api-fuzz/.venv.
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v promtool >/dev/null || need+=(prometheus)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
if ((${#need[@]})); then
  echo "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked

if [ ! -x ops/conformance/node_modules/node/bin/node ] || [ ops/conformance/package-lock.json -nt ops/conformance/node_modules/.package-lock.json ]; then
  echo "installing the pinned MCP peers (npm ci)"
  (cd ops/conformance && npm ci --no-audit --no-fund --loglevel=error)
fi

# The official MCP TypeScript SDK, for the gateway tests (tests/e2e/gateway.rs).
if [ ! -d ops/gateway-client/node_modules/@modelcontextprotocol/sdk ] || [ ops/gateway-client/package-lock.json -nt ops/gateway-client/node_modules/.package-lock.json ]; then
  echo "installing the MCP TypeScript SDK (npm ci)"
  (cd ops/gateway-client && npm ci --no-audit --no-fund --loglevel=error)
fi

# The TypeScript client's generator, compiler and HTTP layer (ops/ci/client-ts.sh).
if [ ! -x api/client-ts/node_modules/.bin/tsc ] || [ api/client-ts/package-lock.json -nt api/client-ts/node_modules/.package-lock.json ]; then
  echo "installing the TypeScript client's packages (npm ci)"
  (cd api/client-ts && npm ci --no-audit --no-fund --loglevel=error)
fi

# A Python virtualenv at $1 with the pinned requirements of its folder,
# (re)installed when missing or older than them; $2 is a program it must have.
pinned_venv() {
  local venv=$1 dir; dir=$(dirname "$1")
  if [ ! -x "$venv/bin/$2" ] || [ "$dir/requirements.txt" -nt "$venv/.installed" ]; then
    echo "installing $dir/requirements.txt (pip, pinned)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$dir/requirements.txt"
    touch "$venv/.installed"
  fi
}

# The official MCP Python SDK, for the gateway and era tests.
pinned_venv ops/gateway-client/.venv python
# schemathesis, for the API document check (ops/ci/api-fuzz.sh).
pinned_venv ops/api-fuzz/.venv st
