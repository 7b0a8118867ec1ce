#!/usr/bin/env bash
# Stop the broker started by kafka-up.sh: SIGTERM for a controlled shutdown, SIGKILL after 30 s.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
home="${MINIHFT_KAFKA_HOME:-$root/var/kafka}"
pidfile="$home/broker.pid"
[[ -f "$pidfile" ]] || { echo "kafka: not running"; exit 0; }
pid="$(cat "$pidfile")"
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
fi
rm -f "$pidfile"
echo "kafka: stopped"
