"""The local stack (`make up`): which services, their ports, groups, inputs, pid and log files."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
RUN_DIR = ROOT / "var" / "run"
LOG_DIR = ROOT / "var" / "log"


@dataclass(frozen=True)
class StackService:
    name: str
    port: int  # /metrics, /healthz, /readyz
    group: str | None  # consumer group, None for a pure producer
    inputs: tuple[str, ...]  # topic bases it consumes
    rate_metric: str  # counter whose rate `minihft status` shows


SERVICES = (
    StackService("feed_handler", 9101, None, (), "minihft_feed_handler_events_published_total"),
    StackService(
        "lob_engine", 9102, "lob_engine", ("md.events", "orders"),
        "minihft_lob_engine_md_events_total",
    ),
    StackService(
        "strategy_runner", 9103, "strategy_runner", ("md.book", "exec.reports"),
        "minihft_strategy_runner_book_updates_total",
    ),
)  # fmt: skip


def pid_file(name: str) -> Path:
    return RUN_DIR / f"{name}.pid"


def read_pid(name: str) -> int | None:
    try:
        pid = int(pid_file(name).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return pid


def lob_engine_binary() -> Path | None:
    """The lob_engine service binary: $MINIHFT_LOB_ENGINE_BIN, else the `make service` build."""
    env = os.environ.get("MINIHFT_LOB_ENGINE_BIN")
    candidates = [Path(env)] if env else []
    candidates += [
        ROOT / "build" / "service" / "lob_engine",
        ROOT / "build" / "service" / "services" / "lob_engine" / "service" / "lob_engine",
        ROOT / "build" / "cpp" / "services" / "lob_engine" / "service" / "lob_engine",
    ]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    found = shutil.which("lob_engine")
    return Path(found) if found else None
