#!/usr/bin/env bash
# Benchmark: what pinned tool definitions add to a discovery (comparing with
# the pins, recording the check) and to a call (the catalog's connector list),
# on PostgreSQL and SQLite. See tests/src/bin/bench-pins.rs.
set -euo pipefail
cd "$(dirname "$0")/../.."
ops/ci/ensure-services.sh >/dev/null
cargo build --release -q -p switchboard-tests --bin bench-pins
exec "${CARGO_TARGET_DIR:-target}"/release/bench-pins
