#!/usr/bin/env bash
# Stop the Prometheus started by prometheus-up.sh: SIGTERM (it closes its TSDB), SIGKILL after 20 s.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
pidfile="$root/var/run/prometheus.pid"
[[ -f "$pidfile" ]] || { echo "prometheus: not running"; exit 0; }
pid="$(cat "$pidfile")"
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
fi
rm -f "$pidfile"
echo "prometheus: stopped"
