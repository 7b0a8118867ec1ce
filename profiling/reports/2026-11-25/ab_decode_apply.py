"""Alternating A/B of harness binaries in build/profiling on the fused path (mode 2, 64 KiB slices,
one run per process, each under flock /tmp/minihft-bench.lock). Usage:
ab_decode_apply.py FILE ROUNDS "BIN [lookahead_from]"... ; prints median and min ns/message (wall, cpu).
"""
import subprocess, sys, statistics
f=sys.argv[1]; rounds=int(sys.argv[2]); variants=sys.argv[3:]
res={v:[] for v in variants}; cpu={v:[] for v in variants}
for r in range(rounds):
    for v in variants:
        parts=v.split()
        out=subprocess.run(["flock","/tmp/minihft-bench.lock","/work/main/build/profiling/"+parts[0],f,"1","2","65536"]+parts[1:],capture_output=True,text=True).stdout.split()
        res[v].append(float(out[2])); cpu[v].append(float(out[5]))
for v in variants:
    print(f"{v:20s} wall med {statistics.median(res[v]):6.1f} min {min(res[v]):6.1f}  cpu med {statistics.median(cpu[v]):6.1f} min {min(cpu[v]):6.1f}")
