#!/bin/bash
# A/B of harness binaries, alternating, one run per process; prints the median ns/msg of each.
# Usage: ab.sh FILE ROUNDS BIN...
f=$1; rounds=$2; shift 2
declare -A res
for r in $(seq "$rounds"); do
  for b in "$@"; do
    res[$b]+="$(build/profiling/$b "$f" ${RUNS:-3} 0 ${SLICE:-262144} | awk "{print \$${COL:-6}}" | sort -n | sed -n $(( (${RUNS:-3}+1)/2 ))p) "
  done
done
for b in "$@"; do
  echo "$b $(echo ${res[$b]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END{print "median", a[int((NR+1)/2)], "min", a[1], "n", NR}')"
done
