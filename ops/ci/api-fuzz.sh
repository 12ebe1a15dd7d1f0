#!/usr/bin/env bash
# Holds the OpenAPI document to the server: schemathesis (pinned in
# ops/api-fuzz/requirements.txt, installed by ensure-tools.sh) runs every
# check and phase against the embedded API fuzz server
# (tests/src/bin/api-fuzz-server.rs: loopback only, rate limits off) as two
# users, for FUZZ_SECONDS (default 170), and fails on any failure or warning.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-170}
seed=${FUZZ_SEED:-20261201}

cargo build -q --locked -p switchboard-tests --bin api-fuzz-server
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The server serves until its stdin closes.
coproc SERVER { exec target/debug/api-fuzz-server 2>"$work/server.log"; }
server_in=${SERVER[1]}
if ! read -r -t 60 ready <&"${SERVER[0]}"; then
  echo "the API fuzz server did not start:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval("d"+sys.argv[2]))' "$ready" "$1"; }
url=$(field '["url"]')
export MCP_URL OAUTH_MCP_URL FUZZ_TOOLS FUZZ_AUTH_FILE="$work/auth.json"
FUZZ_TOOLS=$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["tools"]))' "$ready")
MCP_URL=$(field '["mcp_url"]')
OAUTH_MCP_URL=$(field '["oauth_mcp_url"]')
python3 - "$ready" >"$FUZZ_AUTH_FILE" <<'PY'
import json, sys
tokens = json.loads(sys.argv[1])["tokens"]
print(json.dumps({"auth": [
    {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}]}
    for name, token in tokens.items()
]}))
PY

status=0
(cd ops/api-fuzz && timeout $((seconds + 120)) .venv/bin/st run "$url/openapi.json" \
  --max-time "$seconds" --seed "$seed" --no-shrink) || status=$?
exec {server_in}>&-
wait "$SERVER_PID" 2>/dev/null || true
if [ "$status" -ne 0 ]; then
  echo "schemathesis found the document and the server disagreeing (exit $status); server log: $work/server.log" >&2
  tail -20 "$work/server.log" >&2
fi
exit "$status"
