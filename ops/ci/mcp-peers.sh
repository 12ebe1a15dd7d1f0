#!/usr/bin/env bash
# Switchboard's MCP client against peers nobody here wrote:
#  - the reference server @modelcontextprotocol/server-everything, in its
#    streamableHttp and (legacy) sse modes: the connection test must pass and
#    list its tools;
#  - the official conformance suite @modelcontextprotocol/conformance: every
#    client scenario (`--suite all`) against `switchboard mcp conformance-client`;
#    and every active server scenario against the suite's server
#    (tests/src/fixtures/everything.rs), directly and through Switchboard's
#    per-connector proxy /mcp/connectors/{id} (`conformance-proxy`), held to
#    ops/conformance/expected-server-failures.yml (warnings fail too).
# Everything listens on loopback. Needs ops/ci/ensure-tools.sh first.
set -euo pipefail
cd "$(dirname "$0")/../.."

peers=$PWD/ops/conformance
export PATH="$peers/node_modules/node/bin:$PATH"
cargo build -q -p switchboard-api --locked
cargo build -q -p switchboard-tests --bin conformance-proxy --locked
bin=${CARGO_TARGET_DIR:-$PWD/target}/debug/switchboard
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

reference() { # mode path
  local port; port=$(free_port)
  PORT=$port node "$peers/node_modules/@modelcontextprotocol/server-everything/dist/index.js" "$1" >"$work/everything-$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  (cd "$work" && RUST_LOG="warn,rmcp::transport::worker=off" "$bin" mcp probe "http://127.0.0.1:$port$2" >"$work/probe-$1.json")
  python3 - "$work/probe-$1.json" "$1" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
expected, era = {"streamableHttp": ("streamable_http", "session"), "sse": ("sse", "legacy_sse")}[sys.argv[2]]
assert report["success"], report
assert report["server"]["transport"] == expected, report["server"]
assert report["server"]["era"] == era, report["server"]
assert len(report["tools"]) >= 5, len(report["tools"])
print(f"server-everything {sys.argv[2]}: {report['server']['name']} {report['server']['version']}, "
      f"{len(report['tools'])} tools over {expected} (MCP {report['server']['protocol_version']}, {era})")
PY
}

reference streamableHttp /mcp
reference sse /sse

# Every client scenario of the suite (initialize, tools_call, elicitation
# defaults, sse-retry and all auth/*), with no expected-failures baseline: the
# suite exits non-zero if any check fails or warns.
(cd "$work" && node "$peers/node_modules/.bin/conformance" client \
    --command "$bin mcp conformance-client" --suite all -o "$work/conformance" >"$work/conformance.log" 2>&1) || {
  cat "$work/conformance.log"; exit 1; }
grep -E "^(✓|✗) " "$work/conformance.log" | sed "s/^/conformance /"
grep -E "^Total:" "$work/conformance.log" | sed "s/^/conformance /"
if grep -qE "^✗ " "$work/conformance.log"; then exit 1; fi

# The server suite: the fixture directly, then the same fixture through the
# proxy. `conformance-proxy` serves until its stdin closes.
coproc SERVERS { exec "${CARGO_TARGET_DIR:-$PWD/target}/debug/conformance-proxy" 2>"$work/servers.log"; }
pids+=("$SERVERS_PID")
if ! read -r -t 60 ready <&"${SERVERS[0]}"; then
  echo "the conformance servers did not start:" >&2; cat "$work/servers.log" >&2; exit 1
fi
for which in direct proxied; do
  url=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$ready" "$which")
  log="$work/server-$which.log"
  (cd "$work" && node "$peers/node_modules/.bin/conformance" server --url "$url" \
      --expected-failures "$peers/expected-server-failures.yml" -o "$work/server-$which" >"$log" 2>&1) || {
    cat "$log"; echo "the conformance server suite failed ($which)" >&2; exit 1; }
  grep -E "^(✓|✗) " "$log" | sed "s/^/conformance server ($which) /"
  grep -E "^Total:" "$log" | sed "s/^/conformance server ($which) /"
done
