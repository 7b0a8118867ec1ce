"""CPU layout of the Kafka latency benchmarks: the hot-path processes share one core, the local
broker runs on the others, for the length of the run.

Why: on this 2-vCPU VM a wake-up that crosses cores costs ~12 us more than one on the same core
(a pipe ping-pong between two threads: 29 us per round trip across cores, 5 us on one), and a
tick-to-order round trip is a chain of ~24 wake-ups. With the stack's processes on one core their
hand-offs stay on it, the broker's requests run beside them instead of queueing behind them, and
lob_engine's in-process hops halve (median 41 -> 26 us). It is the layout a trading host uses
anyway: the hot path on cores of its own, the network (here the broker) elsewhere.

The broker is pinned only when it is the one `make kafka-up` started on this host (its pid file,
a live kafka.Kafka process, the bootstrap port in its listeners); its previous affinity is put
back when the run ends, whatever the outcome.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from minihft.runtime.stack import ROOT

LAYOUTS = ("split", "none")


def add_cpu_layout_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cpu-layout",
        choices=LAYOUTS,
        default="split",
        help="split: this process and the services it starts on the first CPU, the local broker "
        "on the others (benchmarks/_layout.py); none: wherever the scheduler puts them",
    )


def local_broker_pid(bootstrap: str) -> int | None:
    """Pid of the `make kafka-up` broker serving `bootstrap`, or None if it is not that one."""
    host, _, port = bootstrap.rpartition(":")
    if host not in ("127.0.0.1", "localhost"):
        return None
    home = Path(os.environ.get("MINIHFT_KAFKA_HOME", ROOT / "var" / "kafka"))
    try:
        pid = int((home / "broker.pid").read_text().strip())
        props = (home / "server.properties").read_text()
    except (OSError, ValueError):
        return None
    if not _is_broker(pid) or f"PLAINTEXT://127.0.0.1:{port}" not in props:
        return None
    return pid


def _is_broker(pid: int) -> bool:
    try:
        return b"kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _threads(pid: int) -> list[int]:
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return []


def _pin(pid: int, cpus: set[int]) -> tuple[int, dict[int, set[int]]]:
    """Pins every thread of `pid`; returns the pid and each thread's previous CPU set."""
    before: dict[int, set[int]] = {}
    for tid in _threads(pid):
        try:
            before[tid] = os.sched_getaffinity(tid)
            os.sched_setaffinity(tid, cpus)
        except OSError:  # the thread ended in between
            continue
    return pid, before


def _unpin(pid: int, before: dict[int, set[int]]) -> None:
    """Gives every thread of `pid` its CPU set back. A thread started while pinned (the JVM adds
    compiler and GC threads as it warms up) inherited the pin: it gets the main thread's set."""
    default = before.get(pid) or os.sched_getaffinity(0)
    for tid in _threads(pid):
        try:
            os.sched_setaffinity(tid, before.get(tid, default))
        except OSError:
            continue


@dataclass
class CpuLayout:
    """`with CpuLayout.choose(args.cpu_layout, bootstrap) as layout:` before any client thread
    or service process is started: threads and children inherit this process's CPU set."""

    stack: set[int] | None = None
    broker: set[int] | None = None
    broker_pid: int | None = None
    _restore: list[tuple[int, dict[int, set[int]]]] = field(default_factory=list)

    @classmethod
    def choose(cls, layout: str, bootstrap: str) -> CpuLayout:
        cpus = sorted(os.sched_getaffinity(0))
        if layout == "none" or len(cpus) < 2:
            return cls()
        pid = local_broker_pid(bootstrap)
        return cls({cpus[0]}, set(cpus[1:]) if pid else None, pid)

    def __enter__(self) -> CpuLayout:
        if self.stack is not None:
            self._restore.append(_pin(os.getpid(), self.stack))
        if self.broker is not None and self.broker_pid is not None:
            self._restore.append(_pin(self.broker_pid, self.broker))
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for pid, before in self._restore:
            _unpin(pid, before)
        self._restore.clear()

    def describe(self) -> dict[str, Any] | str:
        if self.stack is None:
            return "none"
        return {
            "stack_cpus": sorted(self.stack),
            "broker_cpus": sorted(self.broker) if self.broker is not None else "unpinned",
        }
