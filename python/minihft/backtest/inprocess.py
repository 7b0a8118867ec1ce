"""In-process backtest: one Strategy driven on the C++ Backtester stepper with a ManualClock.

The stepper runs in C++ until something the strategy subscribed to happens (its top-N book
levels change, the tape prints, one of our reports becomes visible) or its next timer is due;
then the clock is set to that time, the strategy's callbacks run, and the commands it queued
are sent stamped with that time. Fills, commands and the schedule are collected for analytics.

Mids and the market tape for the analytics come from the recorded file (the LOBSTER orderbook
rows and executions), not from the simulated book: benchmarks must not depend on our orders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from minihft.analytics import Fills, Mids, ParentOrder, Tape, execution_metrics
from minihft.analytics.execution import ExecutionMetrics
from minihft.backtest_core import (
    REPORT_EXTRA,
    TRADE_PRINT,
    BacktestConfig,
    Backtester,
    Wake,
    lobster_depth,
    mid_of,
)
from minihft.codec import BOOK_UPDATE
from minihft.marketdata.lobster import read_messages, read_orderbook
from minihft.records import EXEC_REPORT, ORDER_COMMAND, ExecType, MdEventType, Side
from minihft.runtime.clock import ManualClock
from minihft.strategy.algos import (
    AggressiveTwap,
    ExecAlgo,
    Naive,
    ParentSpec,
    Pov,
    Twap,
    Vwap,
    time_of_day_profile,
    volume_profile,
)
from minihft.strategy.base import Strategy, StrategyContext, Subscription
from minihft.strategy.risk import RiskChecker, RiskLimits

Records = npt.NDArray[Any]
NS = 1_000_000_000
TAIL_NS = 200_000_000  # after end the strategy may still finish its last cross (IOC round trip)
SETTLE_NS = NS  # then, after on_stop, reports still travelling are collected this long
FEE_E4_USD = 1e-8  # 1e-4 ticks of $0.0001
DEFAULT_CONFIG = BacktestConfig(
    order_latency_ns=100_000,
    order_jitter_ns=20_000,
    cancel_latency_ns=100_000,
    cancel_jitter_ns=20_000,
    report_latency_ns=50_000,
    report_jitter_ns=10_000,
    maker_fee_e4=-200_000,  # $0.0020/share rebate
    taker_fee_e4=300_000,  # $0.0030/share
    seed=0,
)
DEFAULT_LIMITS = RiskLimits(max_order_qty=50_000, max_position=100_000, collar_bps=200.0,
                            max_msgs_per_s=200)  # fmt: skip
_LOG = logging.getLogger("minihft.backtest")


@dataclass(frozen=True)
class MarketData:
    """One symbol's LOBSTER day (or slice): events, file depth rows, and what the analytics use."""

    symbol: str
    path: str
    events: Records
    depth: npt.NDArray[np.int64]
    tape: Tape
    mids: Mids

    @property
    def ts(self) -> npt.NDArray[np.int64]:
        out: npt.NDArray[np.int64] = self.events["ts_event"]
        return out

    @property
    def start_ns(self) -> int:
        return int(self.events["ts_event"][0])

    @property
    def end_ns(self) -> int:
        return int(self.events["ts_event"][-1])

    def mid_at(self, ts: int) -> float:
        v = float(self.mids.at(np.array([ts]))[0])
        if not np.isfinite(v):
            raise ValueError(f"{self.path}: no two-sided book at or before {ts} ns")
        return v


def orderbook_path(message_path: str | Path) -> Path:
    p = Path(message_path)
    if "_message_" not in p.name:
        raise ValueError(f"{p}: not a LOBSTER message file name (*_message_<L>.csv[.gz])")
    return p.with_name(p.name.replace("_message_", "_orderbook_"))


def load_lobster(message_path: str | Path) -> MarketData:
    msg = read_messages(message_path)
    ob = read_orderbook(orderbook_path(message_path))
    if len(ob.depth) != len(msg.events):
        raise ValueError(
            f"{message_path}: {len(msg.events)} messages but {len(ob.depth)} orderbook rows"
        )
    ev = msg.events
    ex = (ev["type"] == MdEventType.EXECUTE) | (ev["type"] == MdEventType.HIDDEN_TRADE)
    tape = Tape(ev["ts_event"][ex], ev["price"][ex], ev["qty"][ex])
    d = lobster_depth(ob.depth[:, 0, :])
    ok = (d[:, 1] > 0) & (d[:, 3] > 0)
    ts = ev["ts_event"]
    # The file shows the book after each message; of several at one ts only the last counts.
    last = np.ones(len(ts), dtype=bool)
    last[:-1] = ts[1:] != ts[:-1]
    keep = ok & last
    mids = Mids(ts[keep], (d[keep, 0] + d[keep, 2]) / 2.0)
    symbol = Path(message_path).name.split("_")[0]
    return MarketData(symbol, str(message_path), ev, ob.depth, tape, mids)


@dataclass(frozen=True)
class ParentRequest:
    symbol: str
    side: Side
    qty: int
    start_ns: int
    end_ns: int
    limit_price: int | None = None

    @property
    def parent_id(self) -> str:
        side = "B" if self.side == Side.BUY else "S"
        return f"{self.symbol}-{side}{self.qty}-{self.start_ns // NS}-{self.end_ns // NS}"


@dataclass
class RunResult:
    strategy: str
    parent: ParentOrder
    fills: Fills
    fee_e4: npt.NDArray[np.int64]
    metrics: ExecutionMetrics
    status: dict[str, Any]
    risk: dict[str, Any]
    commands: Records
    schedule: tuple[npt.NDArray[Any], npt.NDArray[Any]] | None
    wakes: int = 0
    info: dict[str, Any] = field(default_factory=dict)
    data_path: str = ""  # not in to_dict: results.json must not depend on where the data is

    def to_dict(self) -> dict[str, Any]:
        p = self.parent
        return {
            "strategy": self.strategy,
            "parent": {
                "parent_id": p.parent_id,
                "symbol": p.symbol,
                "side": "buy" if p.side == Side.BUY else "sell",
                "qty": p.qty,
                "start_ns": p.start_ns,
                "end_ns": p.end_ns,
                "arrival_mid": p.arrival_mid,
                "limit_price": p.limit_price,
            },
            "status": self.status,
            "metrics": self.metrics.to_dict(),
            "fills": {
                "ts": self.fills.ts.tolist(),
                "price": self.fills.price.tolist(),
                "qty": self.fills.qty.tolist(),
                "liquidity": self.fills.liquidity.tolist(),
                "fee_e4": self.fee_e4.tolist(),
            },
            "risk": self.risk,
            "n_commands": len(self.commands),
            "wakes": self.wakes,
            "info": self.info,
        }


def make_algo(
    name: str,
    spec: ParentSpec,
    data: MarketData,
    slices: int = 10,
    profile: MarketData | None = None,
) -> ExecAlgo:
    """Built-in algorithms by name. VWAP's profile uses only prints before spec.start_ns, or,
    with `profile`, that data's prints at the window's time of day (docs/backtest.md)."""
    return algo_from_params(algo_params(name, spec, data, slices, profile))


def algo_params(
    name: str,
    spec: ParentSpec,
    data: MarketData,
    slices: int = 10,
    profile: MarketData | None = None,
) -> dict[str, Any]:
    """Everything a strategy host needs to build algorithm `name`, as JSON: VWAP's volume
    profile is computed here, from the data, so a host in another process never reads files."""
    if name not in ("twap", "twap_aggr", "naive", "pov", "vwap"):
        raise ValueError(
            f"unknown strategy {name!r}: choose from twap, twap_aggr, vwap, pov, naive"
        )
    params: dict[str, Any] = {
        "name": name,
        "parent": {
            "symbol_id": spec.symbol_id, "side": int(spec.side), "qty": spec.qty,
            "start_ns": spec.start_ns, "end_ns": spec.end_ns, "limit_price": spec.limit_price,
        },
        "slices": slices,
    }  # fmt: skip
    if name == "vwap" and profile is not None:
        w, info = time_of_day_profile(
            profile.tape.ts, profile.tape.qty, spec.start_ns, spec.end_ns, slices
        )
        params["notes"] = [f"profile: {info['source']} {Path(profile.path).name}"]
        params["weights"] = np.asarray(w, dtype=np.float64).tolist()
    elif name == "vwap":
        before = data.tape.ts < spec.start_ns
        w, info = volume_profile(
            data.tape.ts[before],
            data.tape.qty[before],
            spec.start_ns,
            spec.end_ns,
            slices,
            data_start_ns=data.start_ns,
        )
        params["notes"] = [f"profile: {info['source']}"]
        params["weights"] = np.asarray(w, dtype=np.float64).tolist()
    return params


def algo_from_params(params: dict[str, Any]) -> ExecAlgo:
    p = params["parent"]
    spec = ParentSpec(
        p["symbol_id"], Side(p["side"]), p["qty"], p["start_ns"], p["end_ns"], p["limit_price"]
    )
    name, slices = params["name"], params["slices"]
    algo: ExecAlgo
    if name == "twap":
        algo = Twap(spec, slices=slices)
    elif name == "twap_aggr":
        algo = AggressiveTwap(spec, slices=slices)
    elif name == "naive":
        algo = Naive(spec)
    elif name == "pov":
        algo = Pov(spec, rate=0.1)
    elif name == "vwap":
        algo = Vwap(spec, weights=np.asarray(params["weights"], dtype=np.float64))
    else:
        raise ValueError(f"unknown strategy {name!r}")
    algo.stats.notes.extend(params.get("notes", []))
    return algo


class Venue(Protocol):
    """What drive() needs of a venue: the in-process Backtester, or backtest.remote.RemoteVenue
    (the same stepper in another process, reached over Kafka in lock-step)."""

    def send(self, commands: Records) -> None: ...
    def send_rows(self, rows: list[tuple[int, ...]]) -> None: ...
    def set_timer(self, ts: int) -> None: ...
    def step(self, ts_limit: int, wake_bits: int, depth_levels: int) -> tuple[int, int]: ...
    def take_report_bytes(self) -> tuple[bytes | bytearray, bytes | bytearray]: ...
    def take_trades(self) -> Records: ...
    def book_update_into(
        self, symbol_id: int, ts: int, row: npt.NDArray[np.uint8]
    ) -> tuple[int, int, int, int]: ...
    @property
    def now(self) -> int: ...


# Makes the venue of one run from (events, their LOBSTER depth rows, config); returns it and
# what to call when the run is over.
VenueFactory = Callable[
    [Records, npt.NDArray[Any], BacktestConfig], tuple[Venue, Callable[[], None]]
]


def inprocess_venue(
    events: Records, depth: npt.NDArray[Any], config: BacktestConfig
) -> tuple[Venue, Callable[[], None]]:
    return Backtester.from_lobster(events, depth, config), lambda: None


class _BookRow:
    """The reused one-row BOOK_UPDATE handed to on_book (zeroing a 512-byte structured row costs
    more than the rest of a wake-up), filled by the venue in place: the strategy may read it
    only during the call."""

    def __init__(self, symbol_id: int) -> None:
        self.u = np.zeros(1, dtype=BOOK_UPDATE)
        self.u["symbol_id"] = symbol_id
        self.raw: npt.NDArray[np.uint8] = self.u.view(np.uint8)


def _joined(parts: list[bytes | bytearray], dtype: np.dtype[Any]) -> Records:
    # Kept as bytes and joined in C once: np.concatenate re-checks every structured part's
    # fields in Python (it was a third of a strategy run's time with thousands of small parts).
    return np.frombuffer(bytearray(b"".join(parts)), dtype=dtype)


_WAKE_REPORT, _WAKE_BOOK, _WAKE_TRADE, _WAKE_TIMER, _WAKE_END = (
    int(Wake.REPORT), int(Wake.BOOK), int(Wake.TRADE), int(Wake.TIMER), int(Wake.END),
)  # fmt: skip
_NO_TRADES = np.zeros(0, TRADE_PRINT)


def drive(
    bt: Venue,
    strategy: Strategy,
    start_ns: int,
    stop_ns: int,
    *,
    risk: RiskChecker | None = None,
    symbol_id: int = 0,
) -> tuple[Records, Records, Records, int]:
    """Runs `strategy` from start_ns to stop_ns, then collects reports for SETTLE_NS.
    Returns (reports, report extras, commands sent, wakes)."""
    clock = ManualClock(start_ns)
    ctx = StrategyContext(clock, _LOG, account=1, risk=risk)
    reps: list[bytes | bytearray] = []
    extras: list[bytes | bytearray] = []
    cmds: list[tuple[int, ...]] = []

    def flush() -> None:
        queued = ctx.take_command_rows()
        if queued:  # most wake-ups queue nothing
            for _, rows in sorted(queued.items()):
                if rows:
                    bt.send_rows(rows)
                    cmds.extend(rows)

    row = _BookRow(symbol_id)
    on_book_of, set_mid = strategy.on_book, (risk.set_mid if risk is not None else None)

    def on_book(now: int) -> None:
        touch = bt.book_update_into(symbol_id, now, row.raw)
        if set_mid is not None:
            set_mid(symbol_id, mid_of(touch))
        on_book_of(ctx, symbol_id, row.u)

    bt.step(start_ns, 0, 1)
    bt.take_trades()
    clock.set(max(start_ns, bt.now))
    on_book(clock.now_ns())
    strategy.on_start(ctx)
    flush()
    # The per-wake-up loop: everything looked up once, masks and reasons as plain ints (a
    # wake-up is a few microseconds; attribute and enum lookups were a third of it).
    step, take_reports, on_fill = bt.step, bt.take_report_bytes, strategy.on_fill
    on_reports = risk.on_reports if risk is not None else None
    set_clock = clock.set
    tail_end, settle_end = stop_ns + TAIL_NS, stop_ns + SETTLE_NS
    sub: Subscription | bool | None = False  # the Subscription seen; False: none seen yet
    mask = levels = 0
    wakes = 0
    stopping = False
    armed: set[int] = set()
    while True:
        if (s := strategy.subscriptions.get(symbol_id)) is not sub:  # may change at any callback
            sub = s
            mask, levels = (
                (_WAKE_REPORT, 0) if s is None
                else (_WAKE_REPORT | _WAKE_BOOK | (_WAKE_TRADE if s.trades else 0), s.depth)
            )  # fmt: skip
        limit = settle_end if stopping else min(ctx.next_timer_ns(), tail_end)
        if limit not in armed:
            # A stepper timer too, so time reaches `limit` even when the data has a gap there
            # (without one the stepper reports End at its last event).
            bt.set_timer(limit)
            armed.add(limit)
        why, now = step(limit, _WAKE_TIMER | (_WAKE_REPORT if stopping else mask), levels)
        wakes += 1
        if now > clock.now_ns():
            set_clock(now)
        # A report becoming visible always wakes us (Report is in every mask), so a wake-up
        # without the bit has none to take. Unsubscribed prints are drained now and then only.
        if why & _WAKE_REPORT:
            rb, xb = take_reports()
            if rb:
                reps.append(rb)
                extras.append(xb)
                r = np.frombuffer(rb, EXEC_REPORT)
                if on_reports is not None:
                    on_reports(r)
                on_fill(ctx, symbol_id, r)
        trades = bt.take_trades() if mask & _WAKE_TRADE or wakes % 1024 == 0 else _NO_TRADES
        if not stopping:
            if len(trades) and mask & _WAKE_TRADE:
                strategy.on_trade(ctx, symbol_id, trades)
            if why & _WAKE_BOOK:
                on_book(now)
            if ctx.next_timer_ns() <= now:
                for token in ctx.due_timers():
                    strategy.on_timer(ctx, token)
            if now >= tail_end or why & _WAKE_END:
                flush()
                strategy.on_stop(ctx)
                stopping = True
        flush()
        if stopping and (why & _WAKE_END or now >= settle_end):
            break
    if not reps:
        rb, xb = bt.take_report_bytes()
        reps, extras = [rb], [xb]
    return (
        _joined(reps, EXEC_REPORT), _joined(extras, REPORT_EXTRA),
        np.array(cmds, dtype=ORDER_COMMAND) if cmds else np.zeros(0, ORDER_COMMAND), wakes,
    )  # fmt: skip


def window(data: MarketData, req: ParentRequest) -> tuple[int, int]:
    """Indices [i0, i1) of the events a run of `req` replays: from start to end + 2 settle."""
    if req.start_ns < data.start_ns or req.end_ns > data.end_ns:
        raise ValueError(
            f"{data.path}: parent window [{req.start_ns}, {req.end_ns}] ns is outside the data "
            f"[{data.start_ns}, {data.end_ns}]"
        )
    ts = data.ts
    i0 = int(np.searchsorted(ts, req.start_ns, side="left"))
    i1 = int(np.searchsorted(ts, req.end_ns + 2 * SETTLE_NS, side="right"))
    return i0, i1


def parent_spec(req: ParentRequest) -> ParentSpec:
    return ParentSpec(0, req.side, req.qty, req.start_ns, req.end_ns, req.limit_price)


def run_parent(
    data: MarketData,
    req: ParentRequest,
    strategy: str,
    *,
    config: BacktestConfig = DEFAULT_CONFIG,
    limits: RiskLimits = DEFAULT_LIMITS,
    slices: int = 10,
    profile: MarketData | None = None,
    venue: VenueFactory = inprocess_venue,
) -> RunResult:
    i0, i1 = window(data, req)
    algo = make_algo(strategy, parent_spec(req), data, slices, profile)
    risk = RiskChecker(limits)
    bt, done = venue(data.events[i0:i1].copy(), data.depth[i0:i1], config)
    try:
        reps, extras, cmds, wakes = drive(bt, algo, req.start_ns, req.end_ns, risk=risk)
    finally:
        done()
    return run_result(
        data, req, strategy, (i0, i1), reps, extras, cmds, wakes,
        algo.status(), risk.summary(), algo.schedule(),
    )  # fmt: skip


def run_result(
    data: MarketData,
    req: ParentRequest,
    strategy: str,
    span: tuple[int, int],
    reps: Records,
    extras: Records,
    cmds: Records,
    wakes: int,
    status: dict[str, Any],
    risk: dict[str, Any],
    schedule: tuple[npt.NDArray[Any], npt.NDArray[Any]] | None,
) -> RunResult:
    """Fills and metrics of a driven run (here, or by a strategy host in another process)."""
    is_fill = reps["type"] == ExecType.ORDER_FILLED
    order = np.argsort(reps["ts"][is_fill], kind="stable")
    fee_e4 = extras["fee_e4"][is_fill][order].astype(np.int64)
    fills = Fills.from_exec_reports(reps, extras["fee_e4"].astype(np.float64) * FEE_E4_USD)
    parent = ParentOrder(
        data.symbol, req.side, req.qty, req.start_ns, req.end_ns, data.mid_at(req.start_ns),
        req.limit_price, req.parent_id,
    )  # fmt: skip
    metrics = execution_metrics(parent, fills, data.tape, data.mids, data_end_ns=data.end_ns)
    return RunResult(
        strategy, parent, fills, fee_e4, metrics, status, risk, cmds,
        schedule, wakes, {"events": span[1] - span[0]}, data.path,
    )  # fmt: skip
