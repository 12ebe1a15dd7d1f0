#!/usr/bin/env bash
# Checks the operations files: the compose file parses, the Prometheus config
# and alert rules are valid and their unit tests pass, and every metric the
# alerts and the dashboard use is one the code emits.
set -euo pipefail
cd "$(dirname "$0")/../.."

SWITCHBOARD_ENCRYPTION_KEYS=ci:placeholder SWITCHBOARD_JWT_SECRET=ci-placeholder-secret-of-32-bytes! \
  docker-compose config -q
echo "docker-compose.yml: ok"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/etc/prometheus/|$PWD/ops/prometheus/|" ops/prometheus/prometheus.yml > "$tmp/prometheus.yml"
promtool check config "$tmp/prometheus.yml"
promtool test rules ops/prometheus/alerts.test.yml

missing=0
for metric in $(grep -ohE 'switchboard_[a-z_]+' ops/prometheus/alerts.yml ops/grafana/dashboards/*.json | sed -E 's/_(bucket|sum|count)$//' | sort -u); do
  if ! grep -rqE "\"$metric\"|$metric\"" core/src worker/src api/src; then
    echo "metric $metric is used by ops/ but never emitted by the code" >&2
    missing=1
  fi
done
[ "$missing" = 0 ] && echo "metric names: ok"
exit "$missing"
