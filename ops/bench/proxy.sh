#!/usr/bin/env bash
# Benchmark: what the per-connector proxy adds to a tools/call, in a session
# and without one. See tests/src/bin/bench-proxy.rs.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p switchboard-tests --bin bench-proxy
exec "${CARGO_TARGET_DIR:-target}"/release/bench-proxy
