"""Pre-trade risk checks: each check rejects exactly what it should, counted, nothing sent."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from minihft.records import EXEC_REPORT, ExecType, OrderType, Side
from minihft.runtime.clock import ManualClock
from minihft.strategy.base import StrategyContext
from minihft.strategy.risk import RiskChecker, RiskLimits, RiskReject

NS = 1_000_000_000
MID = 5_000_000  # $500.00


def ctx_with(limits: RiskLimits) -> tuple[StrategyContext, RiskChecker, ManualClock]:
    clock = ManualClock(10 * NS)
    risk = RiskChecker(limits)
    risk.set_mid(0, MID)
    return StrategyContext(clock, logging.getLogger("t"), account=1, risk=risk), risk, clock


def sent(ctx: StrategyContext) -> int:
    return sum(len(c) for c in ctx.take_commands().values())


def report(oid: int, typ: ExecType, side: Side, qty: int, leaves: int) -> np.ndarray:
    r = np.zeros(1, dtype=EXEC_REPORT)
    r["order_id"], r["type"], r["side"], r["qty"], r["leaves_qty"] = oid, typ, side, qty, leaves
    return r


def test_max_order_size() -> None:
    ctx, risk, _ = ctx_with(RiskLimits(max_order_qty=100))
    assert ctx.submit(0, Side.BUY, MID, 100) > 0
    assert ctx.submit(0, Side.BUY, MID, 101) == 0
    assert ctx.last_reject is RiskReject.ORDER_SIZE
    assert risk.rejects == {"max_order_size": 1} and risk.accepted == 1
    assert sent(ctx) == 1


def test_max_position_counts_fills_and_open_orders() -> None:
    ctx, risk, _ = ctx_with(RiskLimits(max_position=300))
    a = ctx.submit(0, Side.BUY, MID, 200)
    assert ctx.submit(0, Side.BUY, MID, 101) == 0  # 200 open + 101 > 300
    assert ctx.last_reject is RiskReject.POSITION
    # the first order fills 200: position 200, nothing open; 100 more fits, 101 does not
    risk.on_reports(report(a, ExecType.ORDER_FILLED, Side.BUY, 200, 0))
    assert risk.position(0) == 200
    assert ctx.submit(0, Side.BUY, MID, 101) == 0
    b = ctx.submit(0, Side.BUY, MID, 100)
    assert b > 0
    # a sell reduces the position: allowed even at the limit
    assert ctx.submit(0, Side.SELL, MID, 300) > 0
    # cancelling b frees its open quantity
    risk.on_reports(report(b, ExecType.ORDER_CANCELLED, Side.BUY, 0, 0))
    assert ctx.submit(0, Side.BUY, MID, 100) > 0
    assert risk.rejects == {"max_position": 2}


def test_price_collar_and_missing_mid() -> None:
    ctx, risk, _ = ctx_with(RiskLimits(collar_bps=100.0))  # 1% of $500 = $5 = 50_000 ticks
    assert ctx.submit(0, Side.BUY, MID + 50_000, 10) > 0
    assert ctx.submit(0, Side.BUY, MID + 50_100, 10) == 0
    assert ctx.submit(0, Side.SELL, MID - 50_100, 10) == 0
    assert ctx.last_reject is RiskReject.COLLAR
    # market orders carry no price: not collared
    assert ctx.submit(0, Side.BUY, 0, 10, order_type=OrderType.MARKET) > 0
    risk.set_mid(0, None)
    assert ctx.submit(0, Side.BUY, MID, 10) == 0
    assert ctx.last_reject is RiskReject.NO_MID
    assert risk.rejects == {"price_collar": 2, "no_mid_for_collar": 1}


def test_message_rate_window_slides() -> None:
    ctx, risk, clock = ctx_with(RiskLimits(max_msgs_per_s=3))
    ids = [ctx.submit(0, Side.BUY, MID, 1) for _ in range(3)]
    assert all(i > 0 for i in ids)
    assert ctx.submit(0, Side.BUY, MID, 1) == 0
    assert ctx.last_reject is RiskReject.MSG_RATE
    clock.advance(NS - 1)
    assert ctx.submit(0, Side.BUY, MID, 1) == 0  # the first three are still inside 1 s
    ctx.cancel(0, ids[0])  # cancels always pass (and count)
    clock.advance(1)
    assert ctx.submit(0, Side.BUY, MID, 1) > 0  # they left the window; the cancel did not
    assert ctx.submit(0, Side.BUY, MID, 1) > 0
    assert ctx.submit(0, Side.BUY, MID, 1) == 0
    assert risk.rejects == {"max_msgs_per_s": 3}
    cmds = ctx.take_commands()[0]
    assert len(cmds) == 3 + 1 + 2


def test_kill_switch_blocks_orders_not_cancels() -> None:
    ctx, risk, _ = ctx_with(RiskLimits())
    a = ctx.submit(0, Side.BUY, MID, 10)
    risk.kill()
    assert ctx.submit(0, Side.BUY, MID, 10) == 0
    assert ctx.replace(0, a, MID, 5, Side.BUY) is False
    assert ctx.last_reject is RiskReject.KILL_SWITCH
    ctx.cancel(0, a)
    cmds = ctx.take_commands()[0]
    assert cmds["type"].tolist() == [1, 2]  # the submit and the cancel
    assert risk.rejects == {"kill_switch": 2}
    risk.kill(False)
    assert ctx.submit(0, Side.BUY, MID, 10) > 0


def test_replace_checks_new_quantity_without_double_counting() -> None:
    ctx, risk, _ = ctx_with(RiskLimits(max_position=100))
    a = ctx.submit(0, Side.BUY, MID, 100)
    assert ctx.replace(0, a, MID, 100, Side.BUY)  # its own 100 is not counted twice
    assert not ctx.replace(0, a, MID, 101, Side.BUY)
    assert risk.rejects == {"max_position": 1}


def test_no_risk_checker_keeps_old_behaviour() -> None:
    ctx = StrategyContext(ManualClock(0), logging.getLogger("t"), account=1)
    assert ctx.submit(0, Side.BUY, 1, 10**9) == 1
    with pytest.raises(ValueError, match="qty"):
        ctx.submit(0, Side.BUY, 1, 0)


def test_open_exposure_kept_in_step_with_orders() -> None:
    """The position check's running open quantity equals the sum over open orders after any
    mix of submits, replaces, fills, cancels and rejects (seeded random streams)."""
    import random

    rng = random.Random(5)
    rc = RiskChecker(RiskLimits(max_position=10**9))
    for _ in range(3000):
        oid = rng.randrange(1, 40)
        if rng.random() < 0.4:
            rc.record(oid, rng.randrange(2), rng.randrange(2), rng.randrange(1, 50))
            continue
        r = np.zeros(1, EXEC_REPORT)
        r["order_id"], r["symbol_id"], r["side"] = oid, rng.randrange(2), rng.randrange(2)
        r["type"] = rng.choice([ExecType.ORDER_FILLED, ExecType.ORDER_CANCELLED,
                                ExecType.ORDER_REJECTED, ExecType.ORDER_ACCEPTED])  # fmt: skip
        r["qty"], r["leaves_qty"] = rng.randrange(1, 10), rng.randrange(0, 50)
        rc.on_reports(r)
        for sym in (0, 1):
            for side in (0, 1):
                # an open order is [symbol_id, side, leaves]
                brute = sum(o[2] for o in rc._orders.values() if o[0] == sym and o[1] == side)
                sign = 1 if side == 0 else -1
                assert rc._exposure(sym, side) == rc.position(sym) + sign * brute
                ex = next(iter(rc._orders), None)
                if ex is not None:
                    o = rc._orders[ex]
                    less = o[2] if (o[0], o[1]) == (sym, side) else 0
                    assert rc._exposure(sym, side, exclude=ex) == (
                        rc.position(sym) + sign * (brute - less)
                    )
