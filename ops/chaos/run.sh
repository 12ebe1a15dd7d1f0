#!/usr/bin/env bash
# The chaos harness (tests/src/chaos/): distributed mode on its own PostgreSQL
# cluster and Redis, a mixed load, workers SIGKILLed every 2-6 s, Redis
# paused, its clients killed and restarted empty, PostgreSQL restarted.
# Fails when a run does not end or an unsafe call runs twice.
#   ops/chaos/run.sh                          # 2,000 jobs at 100/s, release build
#   JOBS=10000 RATE=150 WORKERS=3 ops/chaos/run.sh
#   PROFILE=debug JOBS=1200 RATE=40 ops/chaos/run.sh   # what .ci/run does
set -euo pipefail
cd "$(dirname "$0")/../.."
profile=${PROFILE:-release}
flag=$([ "$profile" = release ] && echo --release || true)
cargo build $flag -q -p switchboard-api -p switchboard-worker --locked
cargo build $flag -q -p switchboard-tests --bin chaos --locked
export SWITCHBOARD_BIN_DIR=${CARGO_TARGET_DIR:-$PWD/target}/$profile
exec "$SWITCHBOARD_BIN_DIR/chaos"
