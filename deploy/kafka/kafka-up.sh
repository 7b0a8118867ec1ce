#!/usr/bin/env bash
# Start one Apache Kafka broker (KRaft) on 127.0.0.1 without Docker and wait until it serves.
# The broker jars come from Maven Central through deploy/kafka/pom.xml and are cached in
# $MINIHFT_KAFKA_HOME/lib (default var/kafka), so only the first run downloads.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
home="${MINIHFT_KAFKA_HOME:-$root/var/kafka}"
port="${MINIHFT_KAFKA_PORT:-9092}"
controller_port="${MINIHFT_KAFKA_CONTROLLER_PORT:-9093}"
lib="$home/lib"
data="$home/data"
pidfile="$home/broker.pid"
logfile="$home/broker.log"
mkdir -p "$home"

serving() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && serving; then
  echo "kafka: already running on 127.0.0.1:$port (pid $(cat "$pidfile"))"
  exit 0
fi
if serving; then
  echo "kafka: port $port is taken by another process; set MINIHFT_KAFKA_PORT" >&2
  exit 1
fi

if [[ ! -f "$lib/.complete" ]]; then
  command -v java >/dev/null || { apt-get update -qq && apt-get install -y -qq default-jre-headless; }
  command -v mvn >/dev/null || { apt-get update -qq && apt-get install -y -qq maven; }
  echo "kafka: resolving broker jars from Maven Central (first run only)"
  rm -rf "$lib"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$lib" -DincludeScope=runtime
  touch "$lib/.complete"
fi

sed -e "s#@PORT@#$port#g" -e "s#@CONTROLLER_PORT@#$controller_port#g" -e "s#@DATA_DIR@#$data#g" \
  "$here/server.properties.in" >"$home/server.properties"

# ZGC: the broker allocates ~140 MB/s at 500 round trips/s of tick-to-order; G1's young pauses
# (every 0.7 s, 9-17 ms, up to 90 ms on a busy 2-core host) stalled every request in flight, ZGC
# stops for < 1 ms typically (10x less stop time measured, same CPU). Fixed, pre-touched heap:
# no page faults or resizing in the middle of a request. 4 GB, not 1: the live set stays ~250 MB,
# so a ZGC cycle (whose concurrent work competes with the request threads for the cores) comes
# every ~25 s instead of every ~5 s; tick-to-order's outliers had bunched at those cycles (p99
# 4.4 vs 4.9 ms median, p99.9 5.7-9.5 vs 7.1-13.4 ms, 4 runs each after a restart).
# MINIHFT_KAFKA_JVM_OPTS replaces these.
read -r -a jvm <<<"${MINIHFT_KAFKA_JVM_OPTS:--Xms4g -Xmx4g -XX:+UseZGC -XX:+AlwaysPreTouch}"
java_opts=("${jvm[@]}" -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$here/log4j2.yaml" -cp "$lib/*")
if [[ ! -f "$data/meta.properties" ]]; then
  cluster_id="$(java "${java_opts[@]}" kafka.tools.StorageTool random-uuid)"
  java "${java_opts[@]}" kafka.tools.StorageTool format -t "$cluster_id" \
    -c "$home/server.properties" >/dev/null
fi

# GC pauses stall every request in flight: logged, so a latency tail can be matched to them.
# MINIHFT_KAFKA_CPUS (taskset -c syntax, e.g. 1 or 2-3) keeps the broker off the cores of the
# hot-path services (see MINIHFT_STACK_CPUS in deploy/local/stack.sh).
pin=()
[[ -n "${MINIHFT_KAFKA_CPUS:-}" ]] && pin=(taskset -c "$MINIHFT_KAFKA_CPUS")
nohup "${pin[@]}" java "${java_opts[@]}" "-Xlog:gc:file=$home/gc.log:uptime,level:filecount=2,filesize=10m" kafka.Kafka "$home/server.properties" >"$logfile" 2>&1 &
echo $! >"$pidfile"

for _ in $(seq 1 120); do
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "kafka: broker exited during start-up; last log lines:" >&2
    tail -n 30 "$logfile" >&2
    exit 1
  fi
  if serving && grep -q "Kafka Server started" "$logfile"; then
    echo "kafka: serving on 127.0.0.1:$port (pid $(cat "$pidfile"), log $logfile)"
    exit 0
  fi
  sleep 0.5
done
echo "kafka: not serving after 60 s; see $logfile" >&2
exit 1
