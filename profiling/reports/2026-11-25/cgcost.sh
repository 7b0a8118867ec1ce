#!/bin/bash
# Simulated cost of one harness run under callgrind (L1 32 KiB, "LL" = the 1 MiB L2 of a core,
# branch predictor sim): est = Ir + 12*D1 misses + 40*LL misses + 15*mispredicts, a rough cycle
# count that, unlike wall time on this shared 2-core box, repeats exactly.
# Usage: cgcost.sh BIN FILE [mode] [slice]
b=$1; f=$2; m=${3:-0}; sl=${4:-65536}
out=$(valgrind --tool=callgrind --cache-sim=yes --branch-sim=yes --D1=32768,8,64 --LL=1048576,16,64 \
  --callgrind-out-file=/dev/null build/profiling/$b "$f" 1 "$m" "$sl" 2>&1)
echo "$out" | awk -v b="$b" '
/I *refs:/ {gsub(",","",$4); ir=$4}
/D1 *misses:/ {gsub(",","",$4); d1=$4}
/LLd misses:/ {gsub(",","",$4); ll=$4}
/Mispredicts:/ {gsub(",","",$3); mp=$3}
END {printf "%s Ir=%.1fM D1=%.2fM LL=%.2fM mispred=%.2fM est=%.1fM\n", b, ir/1e6, d1/1e6, ll/1e6, mp/1e6, (ir+12*d1+40*ll+15*mp)/1e6}'
