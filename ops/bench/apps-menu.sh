#!/usr/bin/env bash
# Benchmark of the Apps-menu path: GET /api/tools and GET /api/connectors (a user
# with 10 connectors), open-loop at a fixed rate with oha, in embedded (SQLite)
# and distributed (PostgreSQL) mode. Prints rate, p50, p99 and the API's peak RSS,
# then ramps the rate to find the highest one that keeps p99 <= 10 ms.
#
#   ops/bench/apps-menu.sh            # both modes, 20 s at 5,000 req/s, then the ramp
#   RATE=8000 DURATION=30s MODES=embedded ops/bench/apps-menu.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

RATE=${RATE:-5000}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-64}
MODES=${MODES:-"embedded postgres"}
RAMP_UP=${RAMP_UP:-"6000 7000 8000 9000 10000 12000 14000"}
RAMP_DOWN=${RAMP_DOWN:-"4000 3000 2000 1000"}
PORT=${PORT:-18181}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}

command -v oha >/dev/null || cargo install oha --locked
cargo build --release -q -p switchboard-api -p switchboard-worker
cargo build --release -q -p switchboard-tests --bin fixture-server
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/switchboard
WORK=$(mktemp -d)
SERVER_PID= WORKER_PID=
FIXTURE_PORT=${FIXTURE_PORT:-18191}
# The connectors are verified against a local MCP fixture server before they are saved.
"${CARGO_TARGET_DIR:-target}"/release/fixture-server "$FIXTURE_PORT" 5 2>/dev/null &
FIXTURE_PID=$!
cleanup() {
  kill "$FIXTURE_PID" 2>/dev/null || true
  [ -n "$WORKER_PID" ] && kill "$WORKER_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  psql "$PG_ADMIN" -qc "drop database if exists sbbench with (force)" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

start() { # mode
  export SWITCHBOARD_LISTEN=127.0.0.1:$PORT SWITCHBOARD_DATA_DIR=$WORK/$1 RUST_LOG=warn
  unset DATABASE_URL REDIS_URL SWITCHBOARD_ENCRYPTION_KEYS SWITCHBOARD_JWT_SECRET SWITCHBOARD_EGRESS_ALLOW
  if [ "$1" = postgres ]; then
    psql "$PG_ADMIN" -qc "drop database if exists sbbench with (force)" -c "create database sbbench"
    # docker-compose's PostgreSQL speaks plain TCP on its private network; the local
    # server offers TLS, so turn it off to measure the same set-up.
    export DATABASE_URL=${PG_ADMIN%/*}/sbbench?sslmode=disable
    export SWITCHBOARD_ENCRYPTION_KEYS=$("$BIN" keys generate 2>/dev/null)
    export SWITCHBOARD_JWT_SECRET=bench-secret-bench-secret-bench-secret
    export REDIS_URL=redis://127.0.0.1:6379/ SWITCHBOARD_REDIS_PREFIX=bench-apps-$$ SWITCHBOARD_EGRESS_ALLOW=127.0.0.0/8
    "$BIN" migrate >/dev/null
    SWITCHBOARD_WORKER_LISTEN=127.0.0.1:$((PORT + 1)) "${CARGO_TARGET_DIR:-$PWD/target}/release/switchboard-worker" >"$WORK/worker.log" 2>&1 &
    WORKER_PID=$!
  fi
  "$BIN" serve >"$WORK/$1.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.1; done
  echo "server did not start:"; cat "$WORK/$1.log"; exit 1
}

stop() {
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
  if [ -n "$WORKER_PID" ]; then kill "$WORKER_PID"; wait "$WORKER_PID" 2>/dev/null || true; WORKER_PID=; fi
}

meets() { # achieved p99_ms target: p99 <= 10 ms and at least 97% of the target rate
  python3 -c "import sys; sys.exit(0 if $2 <= 10 and $1 >= 0.97 * $3 else 1)"
}

load() { # rate duration -> "rps p50_ms p99_ms"
  oha --no-tui --output-format json -z "$2" -q "$1" -c "$CONNECTIONS" --latency-correction \
    -H "Authorization: Bearer $TOKEN" --rand-regex-url "http://127.0.0.1:$PORT/api/(tools|connectors)" |
    python3 -c 'import json,sys
r = json.load(sys.stdin); s = r["summary"]; p = r["latencyPercentiles"]
codes = r.get("statusCodeDistribution", {}); total = sum(codes.values()) or 1
print("%.0f %.2f %.2f %.1f" % (s["requestsPerSec"], p["p50"] * 1000, p["p99"] * 1000, 100 * codes.get("200", 0) / total))'
}

printf '%-9s %-8s %-9s %-9s %-9s %-6s\n' mode target achieved p50_ms p99_ms ok%
for mode in $MODES; do
  start "$mode"
  TOKEN=$("$BIN" token --user bench-user 2>/dev/null)
  for i in $(seq 1 10); do
    curl -sf "http://127.0.0.1:$PORT/api/connectors" -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
      -d "{\"name\":\"Server $i\",\"server_url\":\"http://127.0.0.1:$FIXTURE_PORT/mcp?n=$i\",\"auth_type\":\"bearer\",\"auth_config\":{\"token\":\"token-$i-0123456789abcdef\"},\"headers\":{\"X-Tenant\":\"t$i\"}}" >/dev/null
  done
  load 1000 3s >/dev/null # warm-up
  read -r rps p50 p99 ok < <(load "$RATE" "$DURATION")
  printf '%-9s %-8s %-9s %-9s %-9s %-6s\n' "$mode" "$RATE" "$rps" "$p50" "$p99" "$ok"
  if meets "$rps" "$p99" "$RATE"; then
    best=$RATE
    for rate in $RAMP_UP; do
      read -r rps p50 p99 ok < <(load "$rate" 10s)
      printf '%-9s %-8s %-9s %-9s %-9s %-6s (ramp)\n' "$mode" "$rate" "$rps" "$p50" "$p99" "$ok"
      if meets "$rps" "$p99" "$rate"; then best=$rate; else break; fi
    done
  else
    best=none
    for rate in $RAMP_DOWN; do
      read -r rps p50 p99 ok < <(load "$rate" 10s)
      printf '%-9s %-8s %-9s %-9s %-9s %-6s (ramp)\n' "$mode" "$rate" "$rps" "$p50" "$p99" "$ok"
      if meets "$rps" "$p99" "$rate"; then best=$rate; break; fi
    done
  fi
  rss=$(awk '/VmHWM/{print $2/1024 " MiB"}' "/proc/$SERVER_PID/status")
  echo "$mode: highest rate with p99 <= 10 ms: $best req/s; API peak RSS: $rss"
  stop
done
