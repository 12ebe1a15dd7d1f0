#!/usr/bin/env bash
# Benchmark: OAuth token use and single-flight refresh (distributed mode, in
# one process with two independent service stacks), and tool calls on an
# OAuth connector next to one without auth. See tests/src/bin/bench-oauth.rs.
set -euo pipefail
cd "$(dirname "$0")/../.."
ops/ci/ensure-services.sh >/dev/null
cargo build --release -q -p switchboard-tests --bin bench-oauth
RUST_LOG=off exec "${CARGO_TARGET_DIR:-target}"/release/bench-oauth
