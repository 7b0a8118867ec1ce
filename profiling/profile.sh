#!/usr/bin/env bash
# `make profile`: C++ core under callgrind, Python services under py-spy on the real sample through
# the real broker, per-hop latency from hop stamps. Output: profiling/reports/<date>/ + report.md.
#   PROFILE_OUT=dir  PROFILE_BOOK_EVENTS=n  PROFILE_MATCH_ORDERS=n  PROFILE_SPEED=x  PROFILE_REPEAT=n
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
py="$root/.venv/bin/python"
out="${PROFILE_OUT:-$root/profiling/reports/$(date -u +%F)}"
work="$root/build/profiling"
mkdir -p "$out" "$work"
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
test -x "$root/.venv/bin/py-spy" || "$root/.venv/bin/pip" install -q py-spy==0.4.3

# --- C++: the committed core (HEAD), so another helper's half-edited header cannot break or skew it.
rev="$(git rev-parse --short HEAD)"
rm -rf "$work/head" && mkdir -p "$work/head"
git archive HEAD services/lob_engine/core | tar -x -C "$work/head"
g++ -std=c++20 -O3 -DNDEBUG -g -fno-omit-frame-pointer -I "$work/head/services/lob_engine/core/include" \
  profiling/profile_driver.cpp -o "$work/profile_driver"
"$py" profiling/cpp_inputs.py --out "$work/in" --book-events "${PROFILE_BOOK_EVENTS:-600000}" \
  --match-orders "${PROFILE_MATCH_ORDERS:-300000}" >/dev/null
cp "$work/in/inputs.json" "$out/cpp_inputs.json"
for w in book match; do
  input="$work/in/book_events.bin"
  [[ $w == match ]] && input="$work/in/match_commands.bin"
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.$w.out" --collect-atstart=no \
    --toggle-collect="run_$w" "$work/profile_driver" "$w" "$input" 2>"$work/callgrind.$w.log"
  "$py" profiling/flame.py callgrind "$work/callgrind.$w.out" --root "run_$w" \
    --svg "$out/cpp_$w.svg" --table "$out/cpp_$w.md" --collapsed-out "$out/cpp_$w.collapsed.txt" \
    --title "callgrind Ir: $w (core @ $rev)"
  echo "cpp $w: $(head -1 "$out/cpp_$w.md")"
done

# --- Python services + hop latency, through the real broker.
bash deploy/kafka/kafka-up.sh >/dev/null
"$py" -c 'from minihft.runtime.stack import lob_engine_binary as b; raise SystemExit(b() is None)' ||
  { echo "lob_engine binary not found: run 'make service'" >&2; exit 1; }
"$py" profiling/pipeline_profile.py --out "$work/py" --speed "${PROFILE_SPEED:-120}" \
  --repeat "${PROFILE_REPEAT:-10}"
cp "$work/py/hop_latency.md" "$work/py/pipeline_run.json" "$out/"
for s in feed_handler strategy_runner; do
  cp "$work/py/$s.pyspy.txt" "$out/"
  "$py" profiling/flame.py collapsed "$out/$s.pyspy.txt" --svg "$out/py_$s.svg" \
    --table "$out/py_$s.md" --title "py-spy samples: $s"
done
"$py" profiling/make_report.py "$out" --rev "$rev"
echo "report: $out/report.md"
