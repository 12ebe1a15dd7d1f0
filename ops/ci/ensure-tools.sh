#!/usr/bin/env bash
# Installs what the checks need that a fresh machine lacks (Debian packages).
set -euo pipefail

need=()
command -v docker-compose >/dev/null || need+=(docker-compose)
if ((${#need[@]})); then
  echo "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked
