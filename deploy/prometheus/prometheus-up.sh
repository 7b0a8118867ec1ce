#!/usr/bin/env bash
# Start Prometheus on 127.0.0.1 without Docker, scraping the local stack (prometheus.local.yml),
# and wait until it is ready. Debian's `prometheus` package is installed on first use; its
# systemd unit is not used (the binary runs here, storage in var/prometheus).
#   MINIHFT_PROMETHEUS_PORT (9090), MINIHFT_PROMETHEUS_DATA (var/prometheus),
#   MINIHFT_PROMETHEUS_CONFIG (deploy/prometheus/prometheus.local.yml)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="${MINIHFT_PROMETHEUS_PORT:-9090}"
data="${MINIHFT_PROMETHEUS_DATA:-$root/var/prometheus}"
config="${MINIHFT_PROMETHEUS_CONFIG:-$here/prometheus.local.yml}"
pidfile="$root/var/run/prometheus.pid"
logfile="$root/var/log/prometheus.log"
mkdir -p "$data" "$root/var/run" "$root/var/log"

ready() { curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; }

if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && ready; then
  echo "prometheus: already running on 127.0.0.1:$port (pid $(cat "$pidfile"))"
  exit 0
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "prometheus: port $port is taken by another process; set MINIHFT_PROMETHEUS_PORT" >&2
  exit 1
fi

bash "$here/install.sh"
promtool check config "$config" >/dev/null

# The admin API stays off; lifecycle lets `curl -X POST .../-/reload` pick up config edits.
nohup prometheus --config.file="$config" --storage.tsdb.path="$data" \
  --storage.tsdb.retention.time=2d --web.listen-address="127.0.0.1:$port" \
  --web.enable-lifecycle >>"$logfile" 2>&1 &
echo $! >"$pidfile"

for _ in $(seq 1 60); do
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "prometheus: exited during start-up; last log lines:" >&2
    tail -n 20 "$logfile" >&2
    exit 1
  fi
  if ready; then
    echo "prometheus: serving on http://127.0.0.1:$port (pid $(cat "$pidfile"), log var/log/prometheus.log)"
    exit 0
  fi
  sleep 0.5
done
echo "prometheus: not ready after 30 s; see $logfile" >&2
exit 1
