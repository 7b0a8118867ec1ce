"""The latency benchmarks' CPU layout: which CPUs, and that the broker's affinity comes back."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from minihft.benchmarks import _layout
from minihft.benchmarks._layout import CpuLayout, local_broker_pid

CPUS = sorted(os.sched_getaffinity(0))
needs_two = pytest.mark.skipif(len(CPUS) < 2, reason="a CPU layout needs two CPUs to split")


@pytest.fixture
def stand_in() -> Iterator[subprocess.Popen[bytes]]:
    """Stands for the broker: a process of four threads, each of which must be pinned; a line on
    its stdin starts one more, as the JVM adds compiler and GC threads while it warms up."""
    code = (
        "import sys, threading, time\n"
        "def more(): threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
        "for _ in range(3): more()\n"
        "for _ in sys.stdin: more()\n"
        "time.sleep(30)"
    )
    p = subprocess.Popen(["python3", "-c", code], stdin=subprocess.PIPE)
    while len(os.listdir(f"/proc/{p.pid}/task")) < 4:
        pass
    yield p
    p.kill()
    p.wait()


def affinities(pid: int) -> set[frozenset[int]]:
    return {frozenset(os.sched_getaffinity(int(t))) for t in os.listdir(f"/proc/{pid}/task")}


@needs_two
def test_pins_every_thread_of_both_sides_and_restores_them(
    stand_in: subprocess.Popen[bytes],
) -> None:
    mine_before = os.sched_getaffinity(0)
    broker_before = affinities(stand_in.pid)
    layout = CpuLayout({CPUS[0]}, set(CPUS[1:]), stand_in.pid)
    with layout:
        assert os.sched_getaffinity(0) == {CPUS[0]}
        assert affinities(stand_in.pid) == {frozenset(CPUS[1:])}
        child = subprocess.run(
            ["python3", "-c", "import os; print(sorted(os.sched_getaffinity(0)))"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert child.stdout.strip() == str([CPUS[0]])  # services started inside inherit it
        assert layout.describe() == {"stack_cpus": [CPUS[0]], "broker_cpus": CPUS[1:]}
    assert os.sched_getaffinity(0) == mine_before
    assert affinities(stand_in.pid) == broker_before


@needs_two
def test_a_thread_started_while_pinned_gets_the_previous_set_too(
    stand_in: subprocess.Popen[bytes],
) -> None:
    broker_before = affinities(stand_in.pid)
    with CpuLayout(None, {CPUS[-1]}, stand_in.pid):
        assert stand_in.stdin is not None
        stand_in.stdin.write(b"start a thread\n")
        stand_in.stdin.flush()
        while len(os.listdir(f"/proc/{stand_in.pid}/task")) < 5:
            pass
        assert affinities(stand_in.pid) == {frozenset({CPUS[-1]})}  # the new one inherited it
    assert affinities(stand_in.pid) == broker_before


@needs_two
def test_restores_after_an_exception(stand_in: subprocess.Popen[bytes]) -> None:
    broker_before = affinities(stand_in.pid)
    with pytest.raises(RuntimeError), CpuLayout({CPUS[0]}, {CPUS[-1]}, stand_in.pid):
        raise RuntimeError("benchmark failed")
    assert affinities(stand_in.pid) == broker_before


def test_none_layout_pins_nothing() -> None:
    layout = CpuLayout.choose("none", "127.0.0.1:9092")
    assert layout.describe() == "none"
    before = os.sched_getaffinity(0)
    with layout:
        assert os.sched_getaffinity(0) == before


@needs_two
def test_remote_broker_is_left_alone_but_the_stack_is_pinned() -> None:
    layout = CpuLayout.choose("split", "kafka.example:9092")
    assert layout.broker is None and layout.stack == {CPUS[0]}
    assert layout.describe() == {"stack_cpus": [CPUS[0]], "broker_cpus": "unpinned"}


def test_only_the_kafka_up_broker_on_that_port_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stand_in: subprocess.Popen[bytes]
) -> None:
    monkeypatch.setenv("MINIHFT_KAFKA_HOME", str(tmp_path))
    assert local_broker_pid("127.0.0.1:9092") is None  # no pid file
    (tmp_path / "broker.pid").write_text(f"{stand_in.pid}\n")
    (tmp_path / "server.properties").write_text("listeners=PLAINTEXT://127.0.0.1:9092\n")
    assert local_broker_pid("127.0.0.1:9092") is None  # alive, but not kafka.Kafka
    monkeypatch.setattr(_layout, "_is_broker", lambda pid: pid == stand_in.pid)
    assert local_broker_pid("127.0.0.1:9092") == stand_in.pid
    assert local_broker_pid("127.0.0.1:9093") is None  # another port's broker
    assert local_broker_pid("10.0.0.5:9092") is None
