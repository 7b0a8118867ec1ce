"""Python binding of the matching engine: record round trips, accessors, errors, bench entry."""

from __future__ import annotations

import numpy as np
import pytest
from minihft import _lob
from minihft.benchmarks.match import generate
from minihft.matching import MatchingEngine, bench_match, new_commands
from minihft.records import (
    DEPTH_LEVEL,
    EXEC_REPORT,
    ORDER_COMMAND,
    CommandType,
    ErrorCode,
    ExecType,
    Liquidity,
    OrderType,
    Side,
    TimeInForce,
)


def submit(rows: list[tuple[int, int, int, int]]) -> np.ndarray:
    """(order_id, side, price, qty) limit Day orders on symbol 0."""
    c = new_commands(len(rows))
    c["type"] = CommandType.SUBMIT_ORDER
    c["order_id"], c["side"], c["price"], c["qty"] = zip(*rows, strict=True)
    c["ts"] = np.arange(len(rows)) + 100
    return c


def test_process_returns_exec_report_records_with_command_fields() -> None:
    eng = MatchingEngine(2)
    r = eng.process(submit([(1, Side.SELL, 101, 5), (2, Side.BUY, 101, 3)]))
    assert r.dtype == EXEC_REPORT
    assert r["type"].tolist() == [
        ExecType.ORDER_ACCEPTED,
        ExecType.ORDER_ACCEPTED,
        ExecType.ORDER_FILLED,
        ExecType.ORDER_FILLED,
    ]
    assert r["ts"].tolist() == [100, 101, 101, 101]
    assert r["liquidity"][2:].tolist() == [Liquidity.TAKER, Liquidity.MAKER]
    assert r["contra_order_id"][2:].tolist() == [1, 2]
    assert r["leaves_qty"][2:].tolist() == [0, 2]
    assert eng.order_qty(0, 1) == 2
    assert eng.order_qty(0, 2) is None
    assert eng.order_qty(1, 1) is None  # other symbol
    c = eng.counters()
    assert (c["commands"], c["accepted"], c["trades"], c["traded_qty"]) == (2, 2, 1, 3)


def test_depth_and_queue_views() -> None:
    eng = MatchingEngine(1)
    eng.process(submit([(1, Side.BUY, 100, 5), (2, Side.BUY, 100, 7), (3, Side.BUY, 99, 1)]))
    d = eng.depth(0, Side.BUY, 5)
    assert d.dtype == DEPTH_LEVEL
    assert d[["price", "qty", "orders"]].tolist() == [(100, 12, 2), (99, 1, 1)]
    assert len(eng.depth(0, Side.BUY, 1)) == 1
    assert len(eng.depth(0, Side.SELL, 5)) == 0
    assert len(eng.depth(0, Side.BUY, 10**15)) == 2  # n is capped by the book, not allocated
    assert eng.queue(0, Side.BUY).tolist() == [[1, 100, 5], [2, 100, 7], [3, 99, 1]]
    assert eng.queue(0, Side.SELL).shape == (0, 3)


def test_rejections_and_market_residual() -> None:
    eng = MatchingEngine(1)
    c = new_commands(3)
    c["type"] = [CommandType.SUBMIT_ORDER, CommandType.CANCEL_ORDER, CommandType.SUBMIT_ORDER]
    c["order_id"] = [1, 9, 2]
    c["qty"] = [5, 0, 5]
    c["order_type"] = OrderType.MARKET
    c["tif"] = TimeInForce.IOC
    r = eng.process(c)
    assert r["type"].tolist() == [ExecType.ORDER_REJECTED] * 3
    assert r["reason"].tolist() == [
        ErrorCode.NO_LIQUIDITY,
        ErrorCode.UNKNOWN_ORDER,
        ErrorCode.NO_LIQUIDITY,
    ]
    assert _lob.error_name(int(r["reason"][1])) != ""


def test_empty_batch_gives_empty_reports() -> None:
    r = MatchingEngine().process(new_commands(0))
    assert r.dtype == EXEC_REPORT
    assert len(r) == 0


def test_non_contiguous_commands_are_accepted() -> None:
    c = submit([(1, Side.BUY, 100, 5), (2, Side.BUY, 90, 1), (3, Side.BUY, 100, 5)])
    r = MatchingEngine().process(c[::2])
    assert r["order_id"].tolist() == [1, 3]


def test_wrong_dtype_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match="ORDER_COMMAND"):
        MatchingEngine().process(np.zeros(3, dtype=EXEC_REPORT))
    with pytest.raises(TypeError, match="numpy array"):
        MatchingEngine().process([1, 2, 3])  # type: ignore[arg-type]


def test_wrong_shape_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match="1-d"):
        MatchingEngine().process(np.zeros((2, 2), dtype=ORDER_COMMAND))


def test_raw_binding_rejects_partial_records() -> None:
    raw = np.zeros(ORDER_COMMAND.itemsize + 3, dtype=np.uint8)
    with pytest.raises(ValueError, match="multiple of the 56-byte"):
        _lob.MatchingEngine(1, 16).process(raw)
    with pytest.raises(TypeError):
        _lob.MatchingEngine(1, 16).process(np.zeros(56, dtype=np.int64))


def test_depth_rejects_bad_side() -> None:
    with pytest.raises(ValueError, match="side"):
        MatchingEngine().depth(0, 2, 5)


def test_same_stream_gives_same_report_bytes() -> None:
    cmds = generate(20_000, seed=3)
    a = MatchingEngine(8).process(cmds)
    b = MatchingEngine(8, expected_orders=16).process(cmds)
    assert a.tobytes() == b.tobytes()
    assert len(a) > len(cmds)


def test_bench_match_reports_consistent_figures() -> None:
    cmds = generate(20_000, seed=4)
    res = bench_match(cmds, 8)
    assert res["orders"] == 20_000
    assert res["reports"] == len(MatchingEngine(8).process(cmds))
    lat = res["latency_ns"]
    assert 0 < lat["p50"] <= lat["p99"] <= lat["p99_9"]
    assert res["orders_per_s"] > 0
    assert res["timer_overhead_ns"] >= 0
