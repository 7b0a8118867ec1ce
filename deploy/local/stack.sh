#!/usr/bin/env bash
# The whole local stack as plain processes (no Docker): broker, lob_engine, strategy_runner,
# feed_handler replaying the bundled real sample. pids in var/run/, logs in var/log/.
#   stack.sh up | down
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
run="$root/var/run"
logs="$root/var/log"
py="$root/.venv/bin/python"
speed="${MINIHFT_FEED_SPEED:-10}"
sample="$root/data/sample/GOOG_2012-06-21_34200000_36000000_message_10.csv.gz"
mkdir -p "$run" "$logs"

alive() { [[ -f "$run/$1.pid" ]] && kill -0 "$(cat "$run/$1.pid")" 2>/dev/null; }

start() {  # name, command...
  local name="$1"
  shift
  if alive "$name"; then
    echo "$name: already running (pid $(cat "$run/$name.pid"))"
    return
  fi
  # MINIHFT_STACK_CPUS (taskset -c syntax): the services on cores of their own, so their
  # hand-offs are same-core wake-ups and the broker (MINIHFT_KAFKA_CPUS) runs beside them.
  local pin=()
  [[ -n "${MINIHFT_STACK_CPUS:-}" ]] && pin=(taskset -c "$MINIHFT_STACK_CPUS")
  nohup "${pin[@]}" "$@" >>"$logs/$name.log" 2>&1 &
  echo $! >"$run/$name.pid"
  echo "$name: started (pid $!, log var/log/$name.log)"
}

wait_ready() {  # name, port
  for _ in $(seq 1 60); do
    if curl -fsS "http://127.0.0.1:$2/readyz" >/dev/null 2>&1; then return 0; fi
    alive "$1" || { echo "$1: exited; last log lines:" >&2; tail -n 20 "$logs/$1.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "$1: not ready after 30 s; see var/log/$1.log" >&2
  exit 1
}

stop() {  # name: SIGTERM (the service commits and exits), SIGKILL after 20 s
  alive "$1" || { rm -f "$run/$1.pid"; echo "$1: not running"; return; }
  local pid
  pid="$(cat "$run/$1.pid")"
  kill -TERM "$pid"
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  rm -f "$run/$1.pid"
  echo "$1: stopped"
}

case "${1:-}" in
  up)
    bash "$root/deploy/kafka/kafka-up.sh"
    lob="$("$py" -c 'from minihft.runtime.stack import lob_engine_binary as b; print(b() or "")')"
    [[ -n "$lob" ]] || { echo "lob_engine binary not found: run 'make service' first" >&2; exit 1; }
    # lob_engine waits for its topics rather than creating them: create the live set first.
    "$py" -c 'from minihft.bus import Topics; from minihft.bus.kafka import KafkaBus
KafkaBus().create_topics(list(Topics().all()))'
    start lob_engine "$lob" --metrics-port 9102 --group lob_engine
    wait_ready lob_engine 9102
    start strategy_runner "$py" -m minihft.services.strategy_runner --http-port 9103
    wait_ready strategy_runner 9103
    start feed_handler "$py" -m minihft.services.feed_handler --http-port 9101 \
      --file "$sample" --speed "$speed" --clear-first
    wait_ready feed_handler 9101
    "$root/.venv/bin/minihft" status || true
    ;;
  down)
    # Upstream first, so nothing is left half-processed in between.
    stop feed_handler
    stop strategy_runner
    stop lob_engine
    # MINIHFT_KEEP_BROKER=1 leaves the broker up (it is shared with tests on a dev machine).
    [[ -n "${MINIHFT_KEEP_BROKER:-}" ]] || bash "$root/deploy/kafka/kafka-down.sh"
    ;;
  *)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
