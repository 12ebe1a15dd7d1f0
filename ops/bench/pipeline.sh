#!/usr/bin/env bash
# Benchmark: connection tests end to end in distributed mode (API and worker
# processes on PostgreSQL and Redis) against a fast local fixture server,
# compared with the MCP client alone. See tests/src/bin/bench-pipeline.rs.
#   ops/bench/pipeline.sh                      # 1 worker, rates 100..600/s, 10 s each
#   WORKERS=2 RATES=300,400 SECONDS=20 ops/bench/pipeline.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ops/ci/ensure-services.sh >/dev/null
cargo build --release -q -p switchboard-api -p switchboard-worker
cargo build --release -q -p switchboard-tests --bin bench-pipeline
exec "${CARGO_TARGET_DIR:-target}"/release/bench-pipeline
