#!/usr/bin/env bash
# The TypeScript client (api/client-ts) cannot drift from the API: against the
# embedded API fuzz server (tests/src/bin/api-fuzz-server.rs: an MCP fixture,
# rate limits off), it regenerates the types from the server's OpenAPI
# document (the committed src/schema.d.ts must be what comes out), type-checks
# the package and its tests, and runs them (node's test runner): list
# connectors, test a connection and stream its events, call a tool.
# Needs ops/ci/ensure-tools.sh first (Node 22 and the package's npm deps).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/ops/conformance/node_modules/node/bin:$PATH"

cargo build -q --locked -p switchboard-tests --bin api-fuzz-server
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
coproc SERVER { exec target/debug/api-fuzz-server 2>"$work/server.log"; }
server_in=${SERVER[1]}
if ! read -r -t 60 ready <&"${SERVER[0]}"; then
  echo "the API server did not start:" >&2; cat "$work/server.log" >&2; exit 1
fi
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval("d"+sys.argv[2]))' "$ready" "$1"; }
export SWITCHBOARD_URL MCP_URL SWITCHBOARD_TOKEN
SWITCHBOARD_URL=$(field '["url"]')
MCP_URL=$(field '["mcp_url"]')
SWITCHBOARD_TOKEN=$(field '["tokens"]["alice"]')

# Each step says when it fails: `set -e` does not hold in a subshell tested by `||`.
status=0
(
  cd api/client-ts
  curl -sf "$SWITCHBOARD_URL/openapi.json" -o openapi.json || { echo "could not read the OpenAPI document" >&2; exit 1; }
  npm run -s generate >/dev/null || { echo "openapi-typescript could not read the document" >&2; exit 1; }
  if ! git diff --quiet -- src/schema.d.ts; then
    echo "api/client-ts/src/schema.d.ts is not what the server's document gives: run ops/ci/client-ts.sh and commit it" >&2
    git --no-pager diff --stat -- src/schema.d.ts >&2
    exit 1
  fi
  rm -rf dist
  npm run -s build || exit 1
  npm test || exit 1
) || status=$?
exec {server_in}>&-
wait "$SERVER_PID" 2>/dev/null || true
exit "$status"
