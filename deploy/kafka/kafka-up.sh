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

java_opts=(-Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$here/log4j2.yaml" -cp "$lib/*")
if [[ ! -f "$data/meta.properties" ]]; then
  cluster_id="$(java "${java_opts[@]}" kafka.tools.StorageTool random-uuid)"
  java "${java_opts[@]}" kafka.tools.StorageTool format -t "$cluster_id" \
    -c "$home/server.properties" >/dev/null
fi

nohup java "${java_opts[@]}" kafka.Kafka "$home/server.properties" >"$logfile" 2>&1 &
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
