"""The Kafka latency benchmarks run end to end on the real broker (short runs; the figures
themselves belong to `make bench`): every round trip accounted for, every hop stamped, and the
broker's CPU affinity given back afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from minihft.benchmarks._layout import local_broker_pid


def bench(*argv: str) -> dict[str, object]:
    out = subprocess.run(
        [str(Path(sys.executable).with_name("minihft")), "bench", *argv],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    line: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return line


def broker_affinity(bootstrap: str) -> set[frozenset[int]] | None:
    pid = local_broker_pid(bootstrap)
    if pid is None:
        return None
    return {frozenset(os.sched_getaffinity(int(t))) for t in os.listdir(f"/proc/{pid}/task")}


@pytest.mark.parametrize("layout", ["split", "none"])
def test_tick_to_order_accounts_for_every_round_trip(bootstrap: str, layout: str) -> None:
    before = broker_affinity(bootstrap)
    r = bench(
        "tick-to-order", "--round-trips", "300", "--warmup", "50", "--rate", "200",
        "--kafka-bootstrap", bootstrap, "--cpu-layout", layout,
    )  # fmt: skip
    assert r["round_trips"] == 300
    p50, p99, p999 = (float(r[k]) for k in ("p50_us", "p99_us", "p99.9_us"))  # type: ignore[arg-type]
    assert 0 < p50 <= p99 <= p999
    medians = r["hop_median_us"]
    assert isinstance(medians, dict) and len(medians) == 7
    assert all(v >= 0 for v in medians.values())
    # The hops tile the round trip: their medians cannot add up to far more than it.
    assert sum(medians.values()) < 3 * p99
    if layout == "none" or len(os.sched_getaffinity(0)) < 2:
        assert r["cpu_layout"] == "none"
    else:
        assert r["cpu_layout"]["stack_cpus"] == [min(os.sched_getaffinity(0))]  # type: ignore[index]
    assert broker_affinity(bootstrap) == before


def test_kafka_hop_counts_every_message(bootstrap: str) -> None:
    before = broker_affinity(bootstrap)
    r = bench("kafka-hop", "--messages", "500", "--warmup", "50", "--kafka-bootstrap", bootstrap)
    assert r["messages"] == 500
    assert 0 < float(r["p50_us"]) <= float(r["p99_us"])  # type: ignore[arg-type]
    assert broker_affinity(bootstrap) == before
