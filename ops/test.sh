#!/usr/bin/env bash
# The README's test command, from a fresh machine: starts PostgreSQL and Redis
# on loopback when they are not answering (ops/ci/ensure-services.sh), installs
# what the tests drive and is missing (ops/ci/ensure-tools.sh: chromium and
# chromedriver, the MCP SDKs, the pinned conformance peers, cargo-nextest;
# quick when all is there), then runs every test of the workspace. Arguments go
# to `cargo nextest run`, e.g. `ops/test.sh -E 'test(/^approvals::/)'`.
set -euo pipefail
cd "$(dirname "$0")/.."

ops/ci/ensure-services.sh
ops/ci/ensure-tools.sh
exec cargo nextest run --workspace --locked "$@"
