"""RemoteVenue: the strategy host's side of a lock-step backtest through Kafka.

It offers what `inprocess.drive` uses of the in-process Backtester (send, set_timer, run_until,
take_reports, take_trades, depth, mid, now), and carries each call over a run's topics to the
venue simulator process (services/backtest_orchestrator/venue.py) that owns the C++ stepper:
- commands go on `orders` as OrderCommandBatch, as the live strategy_runner sends them;
- run_until goes on `orders` after them (same key, same partition, so the venue has every
  command before it runs), with the timers armed since the last call;
- the venue answers on `exec.reports` with VenueStepped: why it stopped, the time, the reports
  and tape since the last answer, and its book. Nothing moves until the answer is in: that is
  the lock-step, and it is why both transports give the same fills.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from minihft import codec
from minihft.backtest import wire
from minihft.backtest_core import REPORT_EXTRA, TRADE_PRINT, Wake
from minihft.bus.base import Bus, Message
from minihft.bus.topics import Topics
from minihft.codec import BOOK_DEPTH, BOOK_UPDATE, CodecError
from minihft.records import EXEC_REPORT, ORDER_COMMAND
from minihft.runtime.replay import symbol_key

Records = npt.NDArray[Any]
_LOG = logging.getLogger("minihft.backtest.remote")
# A synchronous offset commit costs a broker round trip, as much as the step itself; offsets are
# still committed only after their messages were processed, just not after every step.
COMMIT_EVERY = 64


class RemoteVenue:
    def __init__(
        self,
        bus: Bus,
        topics: Topics,
        *,
        symbol_id: int = 0,
        group: str = "strategy_host",
        timeout_s: float = 60.0,
        venue_failed: Callable[[], str | None] = lambda: None,
    ) -> None:
        """`venue_failed`: says why the venue can no longer answer (its process exited), so a
        dead venue fails the run at once instead of after timeout_s."""
        self.bus, self.t, self.symbol_id, self.timeout_s = bus, topics, symbol_id, timeout_s
        self._venue_failed = venue_failed
        self._key = symbol_key(symbol_id)
        self._replies = bus.subscribe([topics.exec_reports], group)
        self._seq = 0
        self._batch_seq = 0
        self._timers: list[int] = []
        self._now = 0
        self._cursor = 0
        self._depth: npt.NDArray[np.int64] = np.zeros((0, 4), dtype=np.int64)
        self._reports: list[Records] = []
        self._extras: list[Records] = []
        self._trades: list[Records] = []
        self.steps = 0
        self._uncommitted: list[Message] = []
        self.skipped: dict[str, int] = {}  # messages on exec.reports that were not for us

    # ---- commands ----
    def send(self, commands: Records) -> None:
        if commands.dtype != ORDER_COMMAND or commands.ndim != 1:
            raise TypeError(f"commands: expected a 1-d ORDER_COMMAND array, got {commands.dtype}")
        if len(commands) == 0:
            return
        self._batch_seq += 1
        msg = codec.encode(
            codec.ORDERS, commands, symbol_id=self.symbol_id, batch_seq=self._batch_seq
        )
        self.bus.publish(self.t.orders, msg, key=self._key)

    def send_rows(self, rows: list[tuple[int, ...]]) -> None:
        self.send(np.array(rows, dtype=ORDER_COMMAND))

    def set_timer(self, ts: int) -> None:
        self._timers.append(int(ts))

    def run_until(
        self, ts_limit: int, wake: Wake = Wake.REPORT, depth_levels: int = 1
    ) -> tuple[Wake, int]:
        why, now = self.step(ts_limit, int(wake), depth_levels)
        return Wake(why), now

    def step(self, ts_limit: int, wake_bits: int, depth_levels: int) -> tuple[int, int]:
        self._seq += 1
        req = wire.encode_run_until(
            self._seq, ts_limit, wake_bits, depth_levels, self._timers, ts=self._now
        )
        self._timers = []
        # Sent at once (linger 0) without waiting for the broker's ack: the answer proves the
        # request arrived, and delivery errors still surface at close().
        self.bus.publish(self.t.orders, req, key=self._key)
        step = self._await(self._seq)
        self.steps += 1
        self._now, self._cursor, self._depth = step.now, step.cursor, step.depth
        if len(step.reports):
            self._reports.append(step.reports)
            self._extras.append(step.extras)
        if len(step.trades):
            self._trades.append(step.trades)
        return int(step.why), step.now

    def _await(self, seq: int) -> wire.VenueStepped:
        deadline = time.monotonic() + self.timeout_s
        while True:
            msgs = self._replies.poll(max_messages=64, timeout_s=0.05)
            found: wire.VenueStepped | None = None
            for m in msgs:
                step = self._step_of(m)
                if step is None:
                    continue
                if step.seq != seq or found is not None:
                    raise RuntimeError(
                        f"{m.topic}[{m.partition}]@{m.offset}: venue answered RunUntil seq "
                        f"{step.seq}, expected {seq}: two strategy hosts on one run?"
                    )
                found = step
            self._uncommitted += msgs
            if found is not None:
                if len(self._uncommitted) >= COMMIT_EVERY:
                    self._commit()
                return found
            if not msgs and (why := self._venue_failed()) is not None:
                raise RuntimeError(f"lock-step: RunUntil seq {seq} unanswered: {why}")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"lock-step: no VenueStepped for RunUntil seq {seq} on {self.t.exec_reports} "
                    f"after {self.timeout_s} s (is the venue process running?)"
                )

    def _step_of(self, m: Message) -> wire.VenueStepped | None:
        try:
            _, body = wire.decode(m.value)
        except CodecError as exc:
            what = "wrong schema" if exc.actual is not None else "malformed"
            self.skipped[what] = self.skipped.get(what, 0) + 1
            _LOG.warning("%s[%d]@%d skipped: %s", m.topic, m.partition, m.offset, exc)
            return None
        if not isinstance(body, wire.VenueStepped):
            self.skipped[type(body).__name__] = self.skipped.get(type(body).__name__, 0) + 1
            return None
        return body

    # ---- what the strategy sees ----
    def take_reports(self) -> tuple[Records, Records]:
        if not self._reports:
            return np.zeros(0, EXEC_REPORT), np.zeros(0, REPORT_EXTRA)
        r, x = np.concatenate(self._reports), np.concatenate(self._extras)
        self._reports, self._extras = [], []
        return r, x

    def take_report_bytes(self) -> tuple[bytes | bytearray, bytes | bytearray]:
        r, x = self.take_reports()
        return r.tobytes(), x.tobytes()

    def take_trades(self) -> Records:
        if not self._trades:
            return np.zeros(0, TRADE_PRINT)
        out = np.concatenate(self._trades)
        self._trades = []
        return out

    @property
    def now(self) -> int:
        return self._now

    @property
    def cursor(self) -> int:
        return self._cursor

    def depth(self, n: int = 5, symbol_id: int = 0) -> npt.NDArray[np.int64]:
        if symbol_id != self.symbol_id:
            raise ValueError(f"depth: this venue runs symbol {self.symbol_id}, not {symbol_id}")
        if n > len(self._depth):
            raise ValueError(f"depth: the venue sends {len(self._depth)} levels, asked for {n}")
        return self._depth[:n].copy()

    def book_update_into(
        self, symbol_id: int, ts: int, row: npt.NDArray[np.uint8]
    ) -> tuple[int, int, int, int]:
        """Backtester.book_update_into from the depth the venue sent with its last answer."""
        d = self.depth(BOOK_DEPTH, symbol_id)
        u = row.view(BOOK_UPDATE)
        u["ts_event"], u["ts_recv"] = ts, ts
        u["asks"]["price"][0], u["asks"]["qty"][0] = d[:, 0], d[:, 1]
        u["bids"]["price"][0], u["bids"]["qty"][0] = d[:, 2], d[:, 3]
        u["n_asks"], u["n_bids"] = np.count_nonzero(d[:, 1]), np.count_nonzero(d[:, 3])
        ask, ask_q, bid, bid_q = d[0].tolist()
        return ask, ask_q, bid, bid_q

    def _commit(self) -> None:
        self._replies.commit(self._uncommitted)
        self._uncommitted = []

    def close(self) -> None:
        self._commit()
        self._replies.close()
        self.bus.flush()
