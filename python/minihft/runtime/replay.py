"""Historical file -> MdEventBatch messages keyed by symbol, paced or as fast as possible.

Shared by feed_handler (live topics) and backtest_orchestrator (a run's topics). Work per batch,
never per event: the file is one MD_EVENT array, cut into per-symbol slices with numpy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from minihft import codec
from minihft.bus.base import Bus
from minihft.records import MD_EVENT
from minihft.runtime.clock import Clock
from minihft.schema.HopPoint import HopPoint

Events = npt.NDArray[Any]


def symbol_key(symbol_id: int) -> bytes:
    """Kafka key of a symbol: decimal text (readable in tools; CRC32 keeps it on one partition)."""
    return str(int(symbol_id)).encode()


def load_events(path: str | Path, symbol_id: int = 0) -> Events:
    """MD_EVENT array of a LOBSTER message file (one symbol: `symbol_id`) or an ITCH 5.0 file."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    name = p.name.lower()
    if "message" in name and (name.endswith(".csv") or name.endswith(".csv.gz")):
        from minihft.marketdata import lobster

        return lobster.read_messages(p, symbol_id=symbol_id).events
    from minihft.marketdata import itch

    return itch.parse_file(p).events


def repeat_symbols(events: Events, copies: int, first_symbol: int = 0) -> Iterator[Events]:
    """`copies` relabelled copies of a single-symbol stream (symbol ids first_symbol + k), for load
    tests: each copy is an independent book with the real data's flow."""
    for k in range(copies):
        ev = events.copy()
        ev["symbol_id"] = first_symbol + k
        yield ev


class BatchPublisher:
    """Cuts MD_EVENT arrays into MdEventBatch messages of at most `batch_events`, one symbol each,
    batch_seq +1 per symbol, a Publish hop stamp of `stage`."""

    def __init__(
        self,
        bus: Bus,
        topic: str,
        clock: Clock,
        *,
        stage: int,
        instance: int = 0,
        batch_events: int = 512,
    ) -> None:
        if batch_events < 1:
            raise ValueError(f"batch_events must be >= 1, got {batch_events}")
        self.bus, self.topic, self.clock = bus, topic, clock
        self.stage, self.instance, self.batch_events = stage, instance, batch_events
        self.next_seq: dict[int, int] = {}
        self.events = 0
        self.batches = 0

    def publish(self, events: Events) -> list[tuple[int, int, int]]:
        """Publishes `events` (any symbols, time order kept per symbol). Returns per batch
        (symbol_id, batch_seq, events)."""
        if events.dtype != MD_EVENT:
            raise TypeError(f"events must have dtype MD_EVENT, got {events.dtype}")
        out: list[tuple[int, int, int]] = []
        if len(events) == 0:
            return out
        sym = events["symbol_id"]
        if sym[0] == sym[-1] and bool((sym == sym[0]).all()):
            groups = [(int(sym[0]), events)]
        else:
            order = np.argsort(sym, kind="stable")
            sorted_ev = events[order]
            ids, starts = np.unique(sorted_ev["symbol_id"], return_index=True)
            bounds = [*starts.tolist(), len(sorted_ev)]
            groups = [
                (int(s), sorted_ev[bounds[i] : bounds[i + 1]]) for i, s in enumerate(ids.tolist())
            ]
        for sid, ev in groups:
            key = symbol_key(sid)
            for start in range(0, len(ev), self.batch_events):
                part = ev[start : start + self.batch_events]
                seq = self.next_seq.get(sid, 0)
                self.next_seq[sid] = seq + 1
                hops = codec.make_hops(
                    (self.clock.now_ns(), self.stage, HopPoint.Publish, self.instance)
                )
                msg = codec.encode(codec.MD_EVENTS, part, symbol_id=sid, batch_seq=seq, hops=hops)
                self.bus.publish(self.topic, msg, key=key)
                out.append((sid, seq, len(part)))
                self.events += len(part)
                self.batches += 1
        return out


def paced_slices(
    ts_event: npt.NDArray[np.int64],
    speed: float | None,
    *,
    max_events: int,
    sleep_for: Callable[[float], bool] | None = None,
    monotonic_ns: Callable[[], int] = time.monotonic_ns,
) -> Iterator[tuple[int, int, float]]:
    """Yields (start, stop, lag_s) slices of a time-ordered stream: with speed None as fast as
    possible (slices of max_events); else every event once its venue time, scaled by 1/speed, is
    due on the monotonic clock. lag_s is how late the slice's first event is. `sleep_for(s)`
    returns True to end the stream early (a stop request)."""
    n = len(ts_event)
    if speed is None:
        for start in range(0, n, max_events):
            yield start, min(n, start + max_events), 0.0
        return
    if speed <= 0:
        raise ValueError(f"speed must be > 0, got {speed}")

    def _sleep(s: float) -> bool:
        time.sleep(s)
        return False

    sleep = sleep_for or _sleep
    if n == 0:
        return
    t0 = int(ts_event[0])
    wall0 = monotonic_ns()
    i = 0
    while i < n:
        venue_now = t0 + int((monotonic_ns() - wall0) * speed)
        due = int(np.searchsorted(ts_event, venue_now, side="right"))
        if due <= i:
            wake = wall0 + (int(ts_event[i]) - t0) / speed
            if sleep(max(0.0, (wake - monotonic_ns()) / 1e9)):
                return
            continue
        stop = min(due, i + max_events)
        lag = (monotonic_ns() - wall0 - (int(ts_event[i]) - t0) / speed) / 1e9
        yield i, stop, max(0.0, lag)
        i = stop
