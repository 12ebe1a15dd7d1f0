#!/usr/bin/env bash
# Benchmark: tool invocations through the queue in distributed mode (API and worker
# processes on PostgreSQL and Redis) against a fast local fixture server,
# compared with tools/call made directly. See tests/src/bin/bench-invocations.rs.
#   ops/bench/invocations.sh                      # 1 worker, both eras, rates 200..1200/s, 10 s each
#   ERAS=stateless RATES=400 ops/bench/invocations.sh   # only a 2026-07-28 server
#   WORKERS=2 RATES=400,600 SECONDS=20 ops/bench/invocations.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ops/ci/ensure-services.sh >/dev/null
cargo build --release -q -p switchboard-api -p switchboard-worker
cargo build --release -q -p switchboard-tests --bin bench-invocations
exec "${CARGO_TARGET_DIR:-target}"/release/bench-invocations
