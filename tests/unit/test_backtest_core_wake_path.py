"""The per-wake-up calls of Backtester that skip numpy (submit/cancel/replace filled in C++,
touch() as a tuple, take_reports() without arrays when nothing is visible) give exactly what the
array-based calls give: same reports byte for byte, same book."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from minihft.backtest_core import BacktestConfig, Backtester, Wake, command
from minihft.records import MD_EVENT, CommandType, ExecType, MdEventType, OrderType, Side

Arr = np.ndarray[Any, Any]
A, X, C = MdEventType.ADD, MdEventType.EXECUTE, MdEventType.CANCEL
B, S = Side.BUY, Side.SELL


def _events(rows: list[tuple[int, int, int, int, int, int]]) -> Arr:
    """rows: (ts, type, order_id, side, price, qty)."""
    ev = np.zeros(len(rows), dtype=MD_EVENT)
    for i, (ts, t, oid, side, px, q) in enumerate(rows):
        ev[i]["ts_event"], ev[i]["ts_recv"], ev[i]["type"] = ts, ts, t
        ev[i]["order_id"], ev[i]["side"], ev[i]["price"], ev[i]["qty"] = oid, side, px, q
    return ev


# Bid 100 / ask 102; later an ask at 101 that executes, then more flow on both sides.
EVENTS = _events(
    [
        (1, A, 1, B, 100, 50),
        (2, A, 2, S, 102, 30),
        (10, A, 3, S, 101, 40),
        (20, X, 3, S, 101, 25),
        (30, A, 4, B, 99, 10),
        (40, C, 1, B, 100, 20),
        (50, X, 1, B, 100, 30),
        (60, A, 5, S, 101, 7),
    ]
)
CFG = BacktestConfig(order_latency_ns=3, cancel_latency_ns=2, report_latency_ns=4, taker_fee_e4=7)


def _drive(
    fast: bool, tuples: bool = False, later_ns: int = 0
) -> tuple[bytes, bytes, list[tuple[int, int, int, int]]]:
    """Same commands at the same wake-ups, sent field by field (fast), as an ORDER_COMMAND array,
    or (tuples) as the rows StrategyContext queues; stamped later_ns after now."""
    bt = Backtester(EVENTS, CFG)
    touches = []
    reps, extras = [], []

    def send(ctype: CommandType, oid: int, **kw: Any) -> None:
        row = command(ctype, oid, ts=bt.now + later_ns, **kw)
        if tuples:
            bt.send_rows([tuple(row[0].tolist())])
        elif not fast:
            bt.send(row)
        elif ctype == CommandType.SUBMIT_ORDER:
            bt.submit(oid, kw["side"], kw["price"], kw["qty"], order_type=kw["order_type"])
        elif ctype == CommandType.CANCEL_ORDER:
            bt.cancel(oid)
        else:
            bt.replace(oid, kw["price"], kw["qty"])

    wake = 0
    while True:
        why, _ = bt.run_until(wake=Wake.BOOK | Wake.REPORT, depth_levels=1)
        r, x = bt.take_reports()
        reps.append(r.tobytes())
        extras.append(x.tobytes())
        if why & Wake.END:
            break
        touches.append(bt.touch() if fast else tuple(bt.depth(1)[0].tolist()))
        wake += 1
        if wake == 1:  # resting bid below the touch, later replaced, then cancelled
            send(CommandType.SUBMIT_ORDER, 7, side=B, price=99, qty=5, order_type=OrderType.LIMIT)
        elif wake == 3:
            send(CommandType.REPLACE_ORDER, 7, price=100, qty=4)
            send(CommandType.SUBMIT_ORDER, 8, side=B, price=0, qty=3, order_type=OrderType.MARKET)
        elif wake == 5:
            send(CommandType.CANCEL_ORDER, 7)
            send(CommandType.CANCEL_ORDER, 99)  # unknown: rejected
    return b"".join(reps), b"".join(extras), touches


def test_field_by_field_commands_equal_command_rows() -> None:
    fast, slow = _drive(True), _drive(False)
    assert fast == slow
    rep = np.frombuffer(fast[0], dtype=np.uint8)
    assert len(rep) > 0


def test_command_tuples_equal_command_arrays_ts_included() -> None:
    assert _drive(False, tuples=True) == _drive(False)
    # A command stamped after now is issued at its own ts, by either path; that changes fills.
    later = _drive(False, tuples=True, later_ns=7)
    assert later == _drive(False, later_ns=7)
    assert later != _drive(False)


def test_fast_path_reports_cover_every_kind() -> None:
    from minihft.records import EXEC_REPORT

    rep = np.frombuffer(_drive(True)[0], dtype=EXEC_REPORT)
    kinds = set(rep["type"].tolist())
    for k in (
        ExecType.ORDER_ACCEPTED,
        ExecType.ORDER_REPLACED,
        ExecType.ORDER_FILLED,
        ExecType.ORDER_CANCELLED,
        ExecType.ORDER_REJECTED,
    ):
        assert int(k) in kinds, k
    assert (rep["account"] == 1).all()


def test_touch_and_mid_follow_the_book() -> None:
    bt = Backtester(EVENTS, CFG)
    assert bt.touch() == (0, 0, 0, 0) and bt.mid() is None
    bt.run_until(2, Wake(0))
    assert bt.touch() == (102, 30, 100, 50) == tuple(bt.depth(1)[0].tolist())
    assert bt.mid() == 101.0
    bt.run_until(10, Wake(0))
    assert bt.touch() == (101, 40, 100, 50)


def test_take_reports_without_visible_reports_is_empty() -> None:
    bt = Backtester(EVENTS, CFG)
    bt.run_until(2, Wake(0))
    r, x = bt.take_reports()
    assert len(r) == 0 and len(x) == 0 and not r.flags.writeable
    bt.submit(1, S, 105, 3)  # arrives at 5, accepted, seen at 9
    assert bt.run_until(wake=Wake.REPORT) == (Wake.REPORT, 9)
    r, x = bt.take_reports()
    assert r["type"].tolist() == [ExecType.ORDER_ACCEPTED] and x["ts_venue"].tolist() == [5]
    assert len(bt.take_reports()[0]) == 0


def test_take_trades_only_builds_arrays_for_prints() -> None:
    bt = Backtester(EVENTS, CFG)
    bt.run_until(10, Wake(0))
    t = bt.take_trades()
    assert len(t) == 0 and not t.flags.writeable
    bt.run_until(20, Wake(0))  # the execution of 25 at 101 (a buy took the resting ask)
    t = bt.take_trades()
    assert t[["ts", "price", "qty", "aggressor"]].tolist() == [(20, 101, 25, int(B))]
    assert len(bt.take_trades()) == 0


def test_book_update_into_equals_the_row_built_from_depth() -> None:
    from minihft.codec import BOOK_DEPTH, BOOK_UPDATE

    bt = Backtester(EVENTS, CFG)
    seen = 0
    for t in (1, 2, 10, 20, 30, 40, 60):
        bt.run_until(t, Wake(0))
        fast = np.zeros(1, BOOK_UPDATE)
        touch = bt.book_update_into(0, t, fast.view(np.uint8))
        d = bt.depth(BOOK_DEPTH)
        slow = np.zeros(1, BOOK_UPDATE)
        slow["ts_event"], slow["ts_recv"] = t, t
        slow["asks"]["price"][0], slow["asks"]["qty"][0] = d[:, 0], d[:, 1]
        slow["bids"]["price"][0], slow["bids"]["qty"][0] = d[:, 2], d[:, 3]
        slow["n_asks"], slow["n_bids"] = (d[:, 1] > 0).sum(), (d[:, 3] > 0).sum()
        assert fast.tobytes() == slow.tobytes(), t
        assert touch == tuple(d[0].tolist())
        seen += int(slow["n_asks"][0]) + int(slow["n_bids"][0])
    assert seen > 7  # the book was not empty all along
    with pytest.raises(ValueError, match="512-byte"):
        bt.book_update_into(0, 1, np.zeros(10, np.uint8))
