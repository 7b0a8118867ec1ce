"""Strategy runs inside one strategy_runner: registry, state machine, per-run accounting.

Each run owns a Strategy, a StrategyContext and a RiskChecker. Order ids carry the run index in
bits 32..39 above the instance base, so an exec report is routed to its run with one shift.

States: running <-> paused, running|paused -> stopped; running -> completed (parent filled) or
failed (the strategy raised). Pause freezes the strategy (no book, timer or report callbacks;
reports are queued and handed over on resume) but leaves its resting orders working; stop and
the kill switch cancel them. Fills are booked into the run's accounting as they arrive, paused
or not, so position and P&L never lag the venue.

The kill switch sets every run's risk checker to killed (submits and replaces are refused,
cancels still go), then cancels every open order of every run; it holds until reset.

All methods expect the caller to hold `lock`: the service loop and the control API's threads
share the registry.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from minihft import codec
from minihft.records import CommandType, ExecType, Side
from minihft.runtime.clock import Clock
from minihft.runtime.metrics import ServiceMetrics
from minihft.strategy import STRATEGIES, Strategy, StrategyContext
from minihft.strategy.algos import AggressiveTwap, Naive, ParentSpec, Pov, Twap, Vwap
from minihft.strategy.base import Records
from minihft.strategy.risk import RiskChecker, RiskLimits, RiskReject

PRICE_SCALE = 10_000  # LOBSTER prices: dollars x 10,000
RUN_SHIFT = 32
MAX_RUNS = 255  # run index must stay below the instance bits (<< 40)
FILLS_KEPT = 200


class RunState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETED = "completed"
    FAILED = "failed"


ACTIONS: dict[str, tuple[frozenset[RunState], RunState]] = {
    "pause": (frozenset({RunState.RUNNING}), RunState.PAUSED),
    "resume": (frozenset({RunState.PAUSED}), RunState.RUNNING),
    "stop": (frozenset({RunState.RUNNING, RunState.PAUSED}), RunState.STOPPED),
}


class RunError(Exception):
    """status: the HTTP status the control API answers with; field: the request field at fault."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


def _parent_algo(cls: Callable[..., Strategy]) -> Callable[[ParentSpec, dict[str, Any]], Strategy]:
    return lambda p, kw: cls(p, **kw)


def _vwap(p: ParentSpec, kw: dict[str, Any]) -> Strategy:
    # Live there is no tape history in the runner: weights come from the caller, else uniform.
    kw = dict(kw)
    weights = kw.pop("weights", None)
    slices = int(kw.pop("slices", 10))
    return Vwap(p, weights=np.ones(slices) if weights is None else weights, **kw)


ALGO_FACTORIES: dict[str, Callable[[ParentSpec, dict[str, Any]], Strategy]] = {
    "twap": _parent_algo(Twap),
    "twap_aggr": _parent_algo(AggressiveTwap),
    "vwap": _vwap,
    "pov": _parent_algo(Pov),
    "naive": _parent_algo(Naive),
}


def strategy_names() -> list[str]:
    return sorted({*ALGO_FACTORIES, *STRATEGIES})


@dataclass(frozen=True)
class RunSpec:
    strategy: str
    symbol_id: int = 0
    side: Side = Side.BUY
    qty: int = 0  # 0: no parent order (a built-in strategy)
    start_ns: int = 0
    end_ns: int = 0
    limit_price: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    limits: RiskLimits = field(default_factory=RiskLimits)


def build_strategy(spec: RunSpec) -> Strategy:
    if spec.strategy in ALGO_FACTORIES:
        try:
            parent = ParentSpec(
                spec.symbol_id, spec.side, spec.qty, spec.start_ns, spec.end_ns, spec.limit_price
            )
        except ValueError as exc:
            raise RunError(422, str(exc), "qty" if "qty" in str(exc) else "end_ns") from exc
        try:
            return ALGO_FACTORIES[spec.strategy](parent, spec.params)
        except (TypeError, ValueError) as exc:
            raise RunError(422, f"params for {spec.strategy}: {exc}", "params") from exc
    if spec.strategy in STRATEGIES:
        if spec.params:
            raise RunError(422, f"{spec.strategy} takes no params", "params")
        return STRATEGIES[spec.strategy]()
    known = ", ".join(strategy_names())
    raise RunError(422, f"unknown strategy {spec.strategy!r}; known: {known}", "strategy")


@dataclass
class Fill:
    ts: int
    order_id: int
    side: str
    price: int
    qty: int


@dataclass
class Run:
    id: str
    index: int
    spec: RunSpec
    strategy: Strategy
    ctx: StrategyContext
    risk: RiskChecker
    created_ns: int
    state: RunState = RunState.RUNNING
    error: str = ""
    open: dict[int, int] = field(default_factory=dict)  # live order id -> symbol id
    cancelling: set[int] = field(default_factory=set)
    queued: list[tuple[int, Records]] = field(default_factory=list)  # reports held while paused
    fills: list[Fill] = field(default_factory=list)
    orders_sent: int = 0
    n_fills: int = 0
    filled: int = 0
    notional: int = 0  # sum(price * qty) of fills, price units
    position: int = 0
    avg_cost: float = 0.0  # price units, of the open position
    realized: float = 0.0  # price units x shares
    arrival_mid: float | None = None
    last_mid: float | None = None
    rejects_seen: dict[str, int] = field(default_factory=dict)  # counts already exported
    fills_seen: int = 0

    @property
    def active(self) -> bool:
        return self.state == RunState.RUNNING

    @property
    def target(self) -> int:
        return self.spec.qty

    def book_fills(self, reports: Records) -> None:
        """Position, average cost and realized P&L (average-cost method) from fill rows."""
        rows = reports[reports["type"] == int(ExecType.ORDER_FILLED)]
        for ts, oid, px, qty, side in zip(
            rows["ts"].tolist(), rows["order_id"].tolist(), rows["price"].tolist(),
            rows["qty"].tolist(), rows["side"].tolist(), strict=True,
        ):  # fmt: skip
            sign = 1 if side == Side.BUY else -1
            self.n_fills += 1
            self.filled += qty
            self.notional += px * qty
            if self.position == 0 or (self.position > 0) == (sign > 0):
                held = abs(self.position)
                self.avg_cost = (self.avg_cost * held + px * qty) / (held + qty)
                self.position += sign * qty
            else:
                closed = min(qty, abs(self.position))
                self.realized += closed * (px - self.avg_cost) * (1 if self.position > 0 else -1)
                self.position += sign * qty
                if self.position == 0:
                    self.avg_cost = 0.0
                elif closed < qty:
                    self.avg_cost = float(px)  # flipped: the rest opened at this price
            self.fills.append(Fill(ts, oid, "buy" if sign > 0 else "sell", px, qty))
        del self.fills[:-FILLS_KEPT]

    def metrics(self) -> dict[str, Any]:
        avg = self.notional / self.filled if self.filled else None
        shortfall = None
        if avg is not None and self.arrival_mid and self.spec.qty > 0:
            sign = 1 if self.spec.side == Side.BUY else -1
            shortfall = sign * (avg - self.arrival_mid) / self.arrival_mid * 1e4
        unreal = 0.0
        if self.position and self.last_mid is not None:
            unreal = self.position * (self.last_mid - self.avg_cost)
        return {
            "orders_sent": self.orders_sent,
            "fills": self.n_fills,
            "filled_qty": self.filled,
            "target_qty": self.target,
            "progress": self.filled / self.target if self.target else 0.0,
            "avg_price": avg,
            "arrival_mid": self.arrival_mid,
            "implementation_shortfall_bps": shortfall,
            "position": self.position,
            "realized_pnl": self.realized / PRICE_SCALE,
            "unrealized_pnl": unreal / PRICE_SCALE,
            "open_orders": len(self.open),
        }


class RunRegistry:
    def __init__(
        self, clock: Clock, log: logging.Logger, metrics: ServiceMetrics, *, account: int,
        order_id_base: int,
    ) -> None:  # fmt: skip
        self.lock = threading.RLock()
        self.clock = clock
        self.log = log
        self.account = account
        self.base = order_id_base
        self.runs: dict[str, Run] = {}
        self.killed = False
        self.mids: dict[int, float] = {}
        self.last_book: dict[int, Records] = {}
        self._outbox: dict[int, list[Records]] = {}
        self._by_index: dict[int, Run] = {}
        self.m_position = metrics.gauge(
            "run_position", "shares", "signed position", ["run", "strategy"]
        )
        self.m_orders = metrics.counter(
            "run_orders_sent", "total", "order commands sent", ["run", "strategy"]
        )
        self.m_fills = metrics.counter("run_fills", "total", "fill reports", ["run", "strategy"])
        self.m_filled = metrics.gauge(
            "run_filled", "shares", "filled quantity", ["run", "strategy"]
        )
        self.m_target = metrics.gauge(
            "run_target", "shares", "parent quantity (0: none)", ["run", "strategy"]
        )
        self.m_progress = metrics.gauge(
            "run_progress",
            "ratio",
            "filled / parent quantity (0 without a parent)",
            ["run", "strategy"],
        )
        self.m_shortfall = metrics.gauge(
            "run_implementation_shortfall", "bps",
            "avg fill price vs arrival mid, signed so a cost is positive (0 before a fill)",
            ["run", "strategy"],
        )  # fmt: skip
        self.m_realized = metrics.gauge(
            "run_realized_pnl", "dollars", "realized P&L, average-cost basis", ["run", "strategy"]
        )
        self.m_unrealized = metrics.gauge(
            "run_unrealized_pnl", "dollars", "open position marked at the mid", ["run", "strategy"]
        )
        self.m_active = metrics.gauge(
            "run_active", "bool", "1 while the run is running", ["run", "strategy"]
        )
        self.m_rejects = metrics.counter(
            "run_risk_rejects", "total", "orders refused by a pre-trade check",
            ["run", "strategy", "check"],
        )  # fmt: skip
        self.m_kill = metrics.gauge("kill_switch", "bool", "1 while the kill switch is engaged")

    # ---- lifecycle -------------------------------------------------------------------------
    def create(
        self, spec: RunSpec, run_id: str | None = None, strategy: Strategy | None = None
    ) -> Run:
        """strategy: an instance to run instead of building one from spec (tests, embedding)."""
        index = len(self._by_index)
        if index >= MAX_RUNS:
            raise RunError(409, f"at most {MAX_RUNS} runs per runner")
        strategy = strategy or build_strategy(spec)
        rid = run_id or f"run-{index}"
        if rid in self.runs:
            raise RunError(409, f"run {rid!r} exists")
        risk = RiskChecker(limits=spec.limits, killed=self.killed)
        for sid, mid in self.mids.items():
            risk.set_mid(sid, mid)
        ctx = StrategyContext(
            self.clock, self.log, account=self.account,
            order_id_base=self.base + (index << RUN_SHIFT), risk=risk,
        )  # fmt: skip
        run = Run(rid, index, spec, strategy, ctx, risk, self.clock.now_ns())
        run.arrival_mid = run.last_mid = self.mids.get(spec.symbol_id)
        self.runs[rid] = run
        self._by_index[index] = run
        # Every series exists from the start: a panel's increase() needs the zero.
        for check in RiskReject:
            self.m_rejects.labels(rid, spec.strategy, check.value)
        self.m_orders.labels(rid, spec.strategy)
        self.m_fills.labels(rid, spec.strategy)
        self._call(run, strategy.on_start, ctx)
        self._catch_up(run)
        self._publish_metrics(run)
        self.log.info("run created", extra={"fields": {"run": rid, "strategy": spec.strategy}})
        return run

    def get(self, run_id: str) -> Run:
        run = self.runs.get(run_id)
        if run is None:
            raise RunError(404, f"no run {run_id!r}", "run_id")
        return run

    def act(self, run_id: str, action: str) -> Run:
        run = self.get(run_id)
        allowed, to = ACTIONS[action]
        if run.state not in allowed:
            raise RunError(409, f"cannot {action} a {run.state.value} run")
        run.state = to
        if action == "resume":
            queued, run.queued = run.queued, []
            for sid, reports in queued:
                self._call(run, run.strategy.on_fill, run.ctx, sid, reports)
            self._catch_up(run)
        elif action == "stop":
            self._call(run, run.strategy.on_stop, run.ctx, stopping=True)
            self._cancel_open(run)
        self._publish_metrics(run)
        self.log.info("run " + action, extra={"fields": {"run": run_id}})
        return run

    def _catch_up(self, run: Run) -> None:
        """A run that was not listening (new, paused) sees the current book at once."""
        for sid, book in self.last_book.items():
            if run.active:
                self._call(run, run.strategy.on_book, run.ctx, sid, book)

    def kill(self) -> list[int]:
        """Engages the kill switch; returns the order ids a cancel was queued for."""
        self.killed = True
        self.m_kill.set(1)
        ids: list[int] = []
        for run in self.runs.values():
            run.risk.kill(True)
            ids += self._cancel_open(run)
        self.log.warning("kill switch engaged", extra={"fields": {"cancels": len(ids)}})
        return ids

    def reset_kill(self) -> None:
        self.killed = False
        self.m_kill.set(0)
        for run in self.runs.values():
            run.risk.kill(False)
        self.log.warning("kill switch reset")

    # ---- market and venue input ------------------------------------------------------------
    def on_book(self, symbol_id: int, updates: Records) -> None:
        if len(updates):
            bid_px, bid_qty, ask_px, ask_qty = codec.book_touch(updates)
            if bid_qty > 0 and ask_qty > 0:
                mid = (bid_px + ask_px) / 2
                self.mids[symbol_id] = mid
                for run in self.runs.values():
                    run.risk.set_mid(symbol_id, mid)
                    if run.spec.symbol_id == symbol_id:
                        run.last_mid = mid
                        if run.arrival_mid is None:
                            run.arrival_mid = mid
            self.last_book[symbol_id] = updates[-1:].copy()
        for run in self.runs.values():
            if run.active:
                self._call(run, run.strategy.on_book, run.ctx, symbol_id, updates)

    def on_reports(self, symbol_id: int, reports: Records) -> None:
        """Reports of our account: routed to their runs by the run index in the order id."""
        idx = (reports["order_id"].astype(np.int64) - self.base) >> RUN_SHIFT
        for i in np.unique(idx).tolist():
            run = self._by_index.get(int(i))
            if run is None:
                continue
            mine = reports[idx == i]
            run.risk.on_reports(mine)
            run.book_fills(mine)
            gone = (
                (mine["type"] == int(ExecType.ORDER_CANCELLED))
                | (mine["type"] == int(ExecType.ORDER_REJECTED))
                | ((mine["type"] == int(ExecType.ORDER_FILLED)) & (mine["leaves_qty"] == 0))
            )
            for oid in mine["order_id"][gone].tolist():
                run.open.pop(oid, None)
                run.cancelling.discard(oid)
            if run.state == RunState.PAUSED:
                run.queued.append((symbol_id, mine.copy()))
            elif run.active:
                self._call(run, run.strategy.on_fill, run.ctx, symbol_id, mine)
            if run.active and run.target and run.filled >= run.target:
                run.state = RunState.COMPLETED

    def on_idle(self) -> None:
        for run in self.runs.values():
            if run.active:
                for token in run.ctx.due_timers():
                    self._call(run, run.strategy.on_timer, run.ctx, token)

    def stop_all(self) -> None:
        for run in self.runs.values():
            if run.state in ACTIONS["stop"][0]:
                self.act(run.id, "stop")

    # ---- output ----------------------------------------------------------------------------
    def take_commands(self) -> dict[int, Records]:
        """Every run's queued commands plus the registry's own cancels, one array per symbol."""
        out: dict[int, list[Records]] = self._outbox
        self._outbox = {}
        for run in self.runs.values():
            for sid, cmds in run.ctx.take_commands().items():
                self._track(run, cmds)
                out.setdefault(sid, []).append(cmds)
        return {sid: np.concatenate(parts) for sid, parts in out.items()}

    def publish_metrics(self) -> None:
        """Brings every run's gauges up to date; /metrics calls it before each scrape. Not per
        message: eight labelled gauges per run and batch were a tenth of the tick-to-order
        path's Python."""
        for run in self.runs.values():
            self._publish_metrics(run)

    def _track(self, run: Run, cmds: Records) -> None:
        run.orders_sent += len(cmds)
        self.m_orders.labels(run.id, run.spec.strategy).inc(len(cmds))
        for oid, sid, typ in zip(
            cmds["order_id"].tolist(), cmds["symbol_id"].tolist(), cmds["type"].tolist(),
            strict=True,
        ):  # fmt: skip
            if typ == CommandType.SUBMIT_ORDER:
                run.open[oid] = sid
            elif typ == CommandType.CANCEL_ORDER:
                run.cancelling.add(oid)

    def _cancel_open(self, run: Run) -> list[int]:
        # The strategy's own cancels (on_stop) are still in its context: take them first so
        # no order is cancelled twice.
        for sid, cmds in run.ctx.take_commands().items():
            self._track(run, cmds)
            self._outbox.setdefault(sid, []).append(cmds)
        ids = [oid for oid in run.open if oid not in run.cancelling]
        for oid in ids:
            run.ctx.cancel(run.open[oid], oid)
        for sid, cmds in run.ctx.take_commands().items():
            self._track(run, cmds)
            self._outbox.setdefault(sid, []).append(cmds)
        return ids

    def _call(self, run: Run, fn: Callable[..., None], *args: Any, stopping: bool = False) -> None:
        """A strategy that raises fails its own run only; its orders are pulled."""
        try:
            fn(*args)
        except Exception as exc:
            self.log.exception("strategy failed", extra={"fields": {"run": run.id}})
            run.state = RunState.FAILED
            run.error = f"{type(exc).__name__}: {exc}"
            if not stopping:
                self._cancel_open(run)

    def _publish_metrics(self, run: Run) -> None:
        lab = (run.id, run.spec.strategy)
        m = run.metrics()
        self.m_position.labels(*lab).set(run.position)
        self.m_filled.labels(*lab).set(run.filled)
        self.m_target.labels(*lab).set(run.target)
        self.m_progress.labels(*lab).set(m["progress"])
        self.m_shortfall.labels(*lab).set(m["implementation_shortfall_bps"] or 0.0)
        self.m_realized.labels(*lab).set(m["realized_pnl"])
        self.m_unrealized.labels(*lab).set(m["unrealized_pnl"])
        self.m_active.labels(*lab).set(1 if run.active else 0)
        if run.n_fills > run.fills_seen:
            self.m_fills.labels(*lab).inc(run.n_fills - run.fills_seen)
            run.fills_seen = run.n_fills
        for check, n in run.risk.rejects.items():
            if n > run.rejects_seen.get(check, 0):
                self.m_rejects.labels(*lab, check).inc(n - run.rejects_seen.get(check, 0))
                run.rejects_seen[check] = n
