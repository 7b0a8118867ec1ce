"""The injected clock: services read time only through it, so tests and backtests control time.

int64 ns. WallClock is CLOCK_REALTIME because hop stamps are compared across the processes of one
host (the C++ lob_engine stamps with system_clock too).
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ns(self) -> int: ...


class WallClock:
    def now_ns(self) -> int:
        return time.time_ns()


class ManualClock:
    """Time moves only when told: deterministic tests and lock-step backtests."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now = int(start_ns)

    def now_ns(self) -> int:
        return self._now

    def set(self, ns: int) -> None:
        if ns < self._now:
            raise ValueError(f"ManualClock cannot go back from {self._now} to {ns}")
        self._now = int(ns)

    def advance(self, ns: int) -> None:
        self.set(self._now + ns)
