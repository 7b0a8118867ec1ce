"""Typed wrapper of the C++ backtest fill simulator.

Rules: fill_simulator.hpp and backtest_stepper.hpp.

Our orders are filled against historical venue L3 flow with an exact FIFO queue position; the
stepping loop runs in C++ and returns to Python only on the wake-ups a strategy subscribed to.
All batches are numpy structured arrays: EXEC_REPORT plus a parallel REPORT_EXTRA (venue time,
fee in 1e-4 ticks, justifying event index, fill cause), and TRADE_PRINT for the tape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import IntEnum, IntFlag
from typing import Any

import numpy as np
import numpy.typing as npt

from minihft import _lob
from minihft.records import (
    EXEC_REPORT,
    MD_EVENT,
    ORDER_COMMAND,
    CommandType,
    OrderFlags,
    OrderType,
    Side,
    TimeInForce,
)

Records = npt.NDArray[np.void]
I64 = npt.NDArray[np.int64]

NEVER: int = int(_lob.NEVER)
LOBSTER_EMPTY = 9_999_999_999

REPORT_EXTRA = np.dtype(
    [
        ("ts_venue", "<i8"),
        ("fee_e4", "<i8"),
        ("md_index", "<i8"),
        ("cause", "u1"),
        ("reserved", "u1", (7,)),
    ]
)
TRADE_PRINT = np.dtype(
    [
        ("ts", "<i8"),
        ("price", "<i8"),
        ("qty", "<i8"),
        ("symbol_id", "<u4"),
        ("aggressor", "u1"),
        ("hidden", "u1"),
        ("reserved", "<u2"),
    ]
)


class Wake(IntFlag):
    BOOK = 1  # top depth_levels of a symbol changed
    TRADE = 2  # the tape printed
    REPORT = 4  # one of our reports became visible
    TIMER = 8
    LIMIT = 16  # reached ts_limit
    END = 32  # nothing left: events, arrivals, reports, timers


class FillCause(IntEnum):
    NONE = 0
    SWEEP = 1  # we took displayed liquidity
    QUEUE_BEHIND = 2  # an order behind ours at our price executed
    TRADE_THROUGH = 3  # an execution at a worse price than ours on our side
    HIDDEN = 4  # a hidden execution at our price or worse


@dataclass(frozen=True)
class BacktestConfig:
    """Latencies in ns (constant + uniform jitter from `seed`); fees per share in 1e-4 ticks."""

    order_latency_ns: int = 0
    order_jitter_ns: int = 0
    cancel_latency_ns: int = 0
    cancel_jitter_ns: int = 0
    report_latency_ns: int = 0
    report_jitter_ns: int = 0
    maker_fee_e4: int = 0
    taker_fee_e4: int = 0
    seed: int = 0
    hidden_fills: bool = True
    record_trades: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_WAKES: dict[int, Wake] = {}
# Shared, read-only: handed out for every wake-up without reports.
_NO_REPORTS = np.zeros(0, EXEC_REPORT)
_NO_EXTRA = np.zeros(0, REPORT_EXTRA)
_NO_TRADES = np.zeros(0, TRADE_PRINT)
_NO_REPORTS.flags.writeable = False
_NO_EXTRA.flags.writeable = False
_NO_TRADES.flags.writeable = False

_SUBMIT, _CANCEL, _REPLACE = (
    int(CommandType.SUBMIT_ORDER),
    int(CommandType.CANCEL_ORDER),
    int(CommandType.REPLACE_ORDER),
)
_POST_ONLY = int(OrderFlags.POST_ONLY)

_DTYPE_NAMES = {id(MD_EVENT): "MD_EVENT", id(ORDER_COMMAND): "ORDER_COMMAND"}


def _dtype_name(dtype: np.dtype[Any]) -> str:
    # Only on the error path: formatting a structured dtype costs more than a whole command.
    return _DTYPE_NAMES.get(id(dtype)) or str(dtype)


def _bytes(arr: Records, dtype: np.dtype[Any], what: str) -> npt.NDArray[np.uint8]:
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{what}: expected a numpy array of {_dtype_name(dtype)}, got {type(arr)}")
    if arr.dtype != dtype:
        raise TypeError(f"{what}: expected dtype {_dtype_name(dtype)}, got {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{what}: expected a 1-d array, got shape {arr.shape}")
    return np.ascontiguousarray(arr).view(np.uint8)


def mid_of(touch: tuple[int, int, int, int]) -> float | None:
    """Mid of a touch (ask px, ask qty, bid px, bid qty); None unless both sides are there."""
    ask, ask_q, bid, bid_q = touch
    return None if ask_q <= 0 or bid_q <= 0 else (float(ask) + float(bid)) / 2.0


def lobster_depth(depth: npt.ArrayLike) -> I64:
    """LOBSTER orderbook rows (..., L, 4) as int64 with the +-9999999999 dummies as 0, 0."""
    d = np.array(depth, dtype=np.int64)
    if d.ndim < 2 or d.shape[-1] != 4:
        raise ValueError(f"lobster depth: expected shape (..., L, 4), got {d.shape}")
    for px, qty in ((0, 1), (2, 3)):
        empty = (np.abs(d[..., px]) == LOBSTER_EMPTY) | (d[..., qty] <= 0)
        d[..., px][empty] = 0
        d[..., qty][empty] = 0
    return np.ascontiguousarray(d)


def _seed(seed_row: npt.ArrayLike | None) -> I64 | None:
    return None if seed_row is None else lobster_depth(seed_row)


def _truth(truth: npt.ArrayLike | None) -> I64 | None:
    return None if truth is None else lobster_depth(truth)


def command(
    ctype: CommandType,
    order_id: int,
    *,
    side: Side = Side.BUY,
    price: int = 0,
    qty: int = 0,
    ts: int = 0,
    order_type: OrderType = OrderType.LIMIT,
    tif: TimeInForce = TimeInForce.DAY,
    post_only: bool = False,
    account: int = 1,
    symbol_id: int = 0,
) -> Records:
    """One ORDER_COMMAND row (an array of length 1)."""
    c = np.zeros(1, dtype=ORDER_COMMAND)
    c["ts"], c["order_id"], c["price"], c["qty"] = ts, order_id, price, qty
    c["account"], c["symbol_id"], c["type"], c["side"] = account, symbol_id, ctype, side
    c["order_type"], c["tif"] = order_type, tif
    c["flags"] = OrderFlags.POST_ONLY if post_only else 0
    return c


class Backtester:
    """Reactive backtest over one preloaded event array (several symbols merged by ts allowed).

    LOBSTER: pass seed_row = orderbook row 1 (the book before the file, message 1 undone) and,
    for depth the file reveals later beyond its window, truth = the orderbook rows aligned with
    the events (see from_lobster).
    """

    def __init__(
        self,
        events: Records,
        config: BacktestConfig | None = None,
        seed_row: npt.ArrayLike | None = None,
        truth: npt.ArrayLike | None = None,
    ) -> None:
        self.config = config or BacktestConfig()
        self._bt: Any = _lob.Backtester(_bytes(events, MD_EVENT, "events"), self.config.as_dict())
        row = _seed(seed_row)
        if row is not None:
            self._bt.seed_lobster(row)
        rows = _truth(truth)
        if rows is not None:
            if row is None:
                raise ValueError("Backtester: truth needs seed_row")
            self._bt.set_lobster_truth(rows)

    @classmethod
    def from_lobster(
        cls, events: Records, depth: npt.ArrayLike, config: BacktestConfig | None = None
    ) -> Backtester:
        """Events of one LOBSTER file (or a slice) and its orderbook rows, aligned."""
        d = lobster_depth(depth)
        bt = cls(events, config)
        # What __init__ does with seed_row=d[0], truth=d, without normalizing d twice more.
        bt._bt.seed_lobster(d[0])
        bt._bt.set_lobster_truth(d)
        return bt

    def append(self, events: Records, truth: npt.ArrayLike | None = None) -> None:
        """More events, for a replay that streams in (the lock-step venue): append every event
        up to T and one beyond it (or all that is left) before run_until(T). `truth`: their
        LOBSTER orderbook rows, on every append from the first one on (that one seeds the book)."""
        self._bt.append(_bytes(events, MD_EVENT, "events"), _truth(truth))

    # ---- commands: issued at now(), reaching the venue after the configured latency ----
    def send(self, commands: Records) -> None:
        self._bt.enqueue(_bytes(commands, ORDER_COMMAND, "commands"))

    def send_rows(self, rows: list[tuple[int, ...]]) -> None:
        """send() of np.array(rows, ORDER_COMMAND), without building the array: rows are tuples
        in ORDER_COMMAND field order, as StrategyContext.take_command_rows gives them."""
        self._bt.enqueue_rows(rows)

    def submit(
        self,
        order_id: int,
        side: Side,
        price: int,
        qty: int,
        *,
        order_type: OrderType = OrderType.LIMIT,
        tif: TimeInForce = TimeInForce.DAY,
        post_only: bool = False,
        account: int = 1,
        symbol_id: int = 0,
    ) -> None:
        # The same ORDER_COMMAND row as command(..., ts=self.now), filled in C++.
        self._bt.enqueue_one(
            _SUBMIT, order_id, side, price, qty, order_type, tif,
            _POST_ONLY if post_only else 0, account, symbol_id,
        )  # fmt: skip

    def cancel(self, order_id: int, *, symbol_id: int = 0) -> None:
        self._bt.enqueue_one(_CANCEL, order_id, 0, 0, 0, 0, 0, 0, 1, symbol_id)

    def replace(self, order_id: int, price: int, qty: int, *, symbol_id: int = 0) -> None:
        self._bt.enqueue_one(_REPLACE, order_id, 0, price, qty, 0, 0, 0, 1, symbol_id)

    def set_timer(self, ts: int) -> None:
        self._bt.set_timer(ts)

    # ---- stepping ----
    def run_until(
        self, ts_limit: int = NEVER, wake: Wake = Wake.REPORT, depth_levels: int = 1
    ) -> tuple[Wake, int]:
        """Runs in C++ until a subscribed wake-up, ts_limit or the end; returns (why, now)."""
        if depth_levels < 0:
            raise ValueError(f"run_until: depth_levels must be >= 0, got {depth_levels}")
        bits, now = self._bt.run_until(ts_limit, int(wake), depth_levels)
        why = _WAKES.get(bits)
        if why is None:  # building an IntFlag costs more than the C++ step it reports
            why = _WAKES[bits] = Wake(bits)
        return why, int(now)

    def step(self, ts_limit: int, wake_bits: int, depth_levels: int) -> tuple[int, int]:
        """run_until with the wake mask and reason as plain ints (Wake bits): the per-wake-up
        call of a strategy loop, without building IntFlags on either side."""
        out: tuple[int, int] = self._bt.run_until(ts_limit, wake_bits, depth_levels)
        return out

    def take_report_bytes(self) -> tuple[bytes | bytearray, bytes | bytearray]:
        """take_reports() as the raw EXEC_REPORT and REPORT_EXTRA bytes (empty when none): for
        a loop that views the reports once and keeps the rest as bytes until the end."""
        if not self._bt.visible_reports():  # most wake-ups carry none: nothing to copy out
            return b"", b""
        r, x = self._bt.take_reports()
        return r, x

    def take_reports(self) -> tuple[Records, Records]:
        """Reports seen so far (ts = when seen) and their REPORT_EXTRA rows."""
        r, x = self.take_report_bytes()
        if not r:
            return _NO_REPORTS, _NO_EXTRA
        # frombuffer: the same writable view of the bytes as .view(dtype), without numpy's
        # Python-level layout check for structured dtypes (a third of the cost).
        return np.frombuffer(r, EXEC_REPORT), np.frombuffer(x, REPORT_EXTRA)

    def take_trades(self) -> Records:
        if not self._bt.pending_trades():  # a loop taking them at every wake-up mostly gets none
            return _NO_TRADES
        out: Records = np.frombuffer(self._bt.take_trades(), TRADE_PRINT)
        return out

    # ---- state ----
    @property
    def now(self) -> int:
        return int(self._bt.now())

    @property
    def finished(self) -> bool:
        return bool(self._bt.finished())

    @property
    def cursor(self) -> int:
        """Historical events applied so far."""
        return int(self._bt.cursor())

    def depth(self, n: int = 5, symbol_id: int = 0) -> I64:
        """(n, 4) rows of ask_px, ask_qty, bid_px, bid_qty (empty = 0): venue liquidity we left."""
        if n < 0:
            raise ValueError(f"depth: n must be >= 0, got {n}")
        out: I64 = np.asarray(self._bt.depth(symbol_id, n))
        return out

    def touch(self, symbol_id: int = 0) -> tuple[int, int, int, int]:
        """depth(1)[0] as a tuple of ints: (ask_px, ask_qty, bid_px, bid_qty), empty = 0, 0."""
        out: tuple[int, int, int, int] = self._bt.touch(symbol_id)
        return out

    def book_update_into(
        self, symbol_id: int, ts: int, row: npt.NDArray[np.uint8]
    ) -> tuple[int, int, int, int]:
        """Writes the venue book of `symbol_id` into a one-row codec.BOOK_UPDATE viewed as its
        512 bytes (ts, top 10 levels a side, n_bids, n_asks); returns the touch (ask px, ask
        qty, bid px, bid qty). What a strategy's on_book gets, without numpy per field."""
        out: tuple[int, int, int, int] = self._bt.fill_book_update(symbol_id, ts, row)
        return out

    def mid(self, symbol_id: int = 0) -> float | None:
        return mid_of(self._bt.touch(symbol_id))

    def position(self, symbol_id: int = 0) -> int:
        return int(self._bt.position(symbol_id))

    def cash(self, symbol_id: int = 0) -> int:
        """Ticks: sells add price*qty, buys subtract (fees not included: see REPORT_EXTRA)."""
        return int(self._bt.cash(symbol_id))

    def open_qty(self, order_id: int, symbol_id: int = 0) -> int | None:
        q = int(self._bt.open_qty(symbol_id, order_id))
        return None if q < 0 else q

    def queue_ahead(self, order_id: int, symbol_id: int = 0) -> int | None:
        q = int(self._bt.queue_ahead(symbol_id, order_id))
        return None if q < 0 else q

    def counters(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self._bt.counters().items()}


def simulate(
    events: Records,
    commands: Records,
    config: BacktestConfig | None = None,
    seed_row: npt.ArrayLike | None = None,
    truth: npt.ArrayLike | None = None,
) -> tuple[Records, Records]:
    """Non-reactive run: commands issued at their own ts; all reports + REPORT_EXTRA rows."""
    cfg = config or BacktestConfig()
    r, x = _lob.backtest_simulate(
        _bytes(events, MD_EVENT, "events"),
        _bytes(commands, ORDER_COMMAND, "commands"),
        cfg.as_dict(),
        _seed(seed_row),
        _truth(truth),
    )
    return np.asarray(r).view(EXEC_REPORT), np.asarray(x).view(REPORT_EXTRA)


def bench_quote_touch(
    events: Records,
    config: BacktestConfig | None = None,
    seed_row: npt.ArrayLike | None = None,
    truth: npt.ArrayLike | None = None,
    size: int = 100,
) -> dict[str, Any]:
    """Join-the-touch quoting run entirely in C++: events/s, fills (reports + extras), P&L parts."""
    cfg = config or BacktestConfig()
    out: dict[str, Any] = dict(
        _lob.bench_quote_touch(
            _bytes(events, MD_EVENT, "events"), cfg.as_dict(), _seed(seed_row), _truth(truth), size
        )
    )
    out["reports"] = np.asarray(out["reports"]).view(EXEC_REPORT)
    out["extras"] = np.asarray(out["extras"]).view(REPORT_EXTRA)
    return out
