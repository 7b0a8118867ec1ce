"""Every topic name in minihft is built here and nowhere else.

Live topics have no prefix; a backtest run gets its own namespace `bt.<run_id>.` so runs never
read each other's data and a finished run can be deleted by prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MD_EVENTS = "md.events"
MD_BOOK = "md.book"
ORDERS = "orders"
EXEC_REPORTS = "exec.reports"
ML_SIGNALS = "ml.signals"
CONTROL = "control"
DEAD_LETTER = "dead.letter"

ALL = (MD_EVENTS, MD_BOOK, ORDERS, EXEC_REPORTS, ML_SIGNALS, CONTROL, DEAD_LETTER)

_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Topics:
    """The topic names of one deployment (prefix "") or one backtest run (prefix "bt.<id>.")."""

    prefix: str = ""

    @classmethod
    def for_run(cls, run_id: str) -> Topics:
        if not _RUN_ID.match(run_id):
            raise ValueError(
                f"run_id {run_id!r}: use 1-64 characters from letters, digits, '_' and '-'"
            )
        return cls(prefix=f"bt.{run_id}.")

    def name(self, base: str) -> str:
        if base not in ALL:
            raise ValueError(f"unknown topic {base!r}; known: {', '.join(ALL)}")
        return self.prefix + base

    @property
    def md_events(self) -> str:
        return self.name(MD_EVENTS)

    @property
    def md_book(self) -> str:
        return self.name(MD_BOOK)

    @property
    def orders(self) -> str:
        return self.name(ORDERS)

    @property
    def exec_reports(self) -> str:
        return self.name(EXEC_REPORTS)

    @property
    def ml_signals(self) -> str:
        return self.name(ML_SIGNALS)

    @property
    def control(self) -> str:
        return self.name(CONTROL)

    @property
    def dead_letter(self) -> str:
        return self.name(DEAD_LETTER)

    def all(self) -> tuple[str, ...]:
        return tuple(self.prefix + base for base in ALL)
