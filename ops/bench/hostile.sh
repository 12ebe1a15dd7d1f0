#!/usr/bin/env bash
# Benchmark: time from start to failure of a connection test against each
# hostile server shape at the default 10 s budget, and the API's and worker's
# memory afterwards. See tests/src/bin/bench-hostile.rs.
#   ops/bench/hostile.sh             # every shape 3 times, all at once
#   ROUNDS=10 ops/bench/hostile.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ops/ci/ensure-services.sh >/dev/null
cargo build --release -q -p switchboard-api -p switchboard-worker
cargo build --release -q -p switchboard-tests --bin bench-hostile
exec "${CARGO_TARGET_DIR:-target}"/release/bench-hostile
