"""The lock-step backtest messages (schemas/backtest.fbs): every field survives the round trip,
and a broken buffer is a CodecError naming where, never a crash or a short array."""

from __future__ import annotations

import numpy as np
import pytest
from minihft import codec
from minihft.backtest import wire
from minihft.backtest_core import REPORT_EXTRA, TRADE_PRINT
from minihft.codec import CodecError
from minihft.records import EXEC_REPORT, MD_EVENT


def _stepped() -> bytes:
    rng = np.random.default_rng(3)
    r = np.zeros(3, EXEC_REPORT)
    r["order_id"], r["price"], r["qty"] = [5, 6, 7], [1000, 1001, 1002], [10, 20, 30]
    x = np.zeros(3, REPORT_EXTRA)
    x["fee_e4"], x["md_index"], x["cause"] = [-200, 300, 0], [1, -1, 9], [1, 2, 3]
    t = np.zeros(2, TRADE_PRINT)
    t["price"], t["qty"], t["hidden"] = [999, 998], [1, 2], [0, 1]
    depth = rng.integers(0, 1 << 40, size=(10, 4), dtype=np.int64)
    return wire.encode_venue_stepped(9, 5, 123_456_789, 77, r, x, t, depth)


def test_venue_stepped_round_trip() -> None:
    ts, body = wire.decode(_stepped())
    assert isinstance(body, wire.VenueStepped)
    assert (ts, body.seq, body.why, body.now, body.cursor) == (123_456_789, 9, 5, 123_456_789, 77)
    assert body.reports["qty"].tolist() == [10, 20, 30]
    assert body.extras["fee_e4"].tolist() == [-200, 300, 0]
    assert body.extras["cause"].tolist() == [1, 2, 3]
    assert body.trades["hidden"].tolist() == [0, 1]
    assert body.depth.shape == (10, 4)
    assert wire.decode(_stepped())[1].depth.tolist() == body.depth.tolist()


def test_run_until_source_depth_end_of_data_round_trip() -> None:
    _, ru = wire.decode(wire.encode_run_until(4, 10**15, 13, 3, [5, 6], ts=2))
    assert isinstance(ru, wire.RunUntil)
    assert (ru.seq, ru.ts_limit, ru.wake_mask, ru.depth_levels) == (4, 10**15, 13, 3)
    assert ru.timers.tolist() == [5, 6]
    rows = np.arange(3 * 2 * 4, dtype=np.int64).reshape(3, 2, 4)
    _, sd = wire.decode(wire.encode_source_depth(1, 8, rows))
    assert isinstance(sd, wire.SourceDepth)
    assert (sd.symbol_id, sd.batch_seq, sd.levels) == (1, 8, 2)
    assert np.array_equal(sd.as_int64(), rows)
    _, eod = wire.decode(wire.encode_end_of_data(1, 4096, 8))
    assert eod == wire.EndOfData(1, 4096, 8)


def test_wrong_schema_and_truncation_are_named() -> None:
    other = codec.encode(codec.MD_EVENTS, np.zeros(1, MD_EVENT), symbol_id=1, batch_seq=1)
    with pytest.raises(CodecError, match="expected b'MBTS'") as e:
        wire.decode(other)
    assert e.value.actual == b"MDEV"
    buf = _stepped()
    with pytest.raises(CodecError) as e:
        wire.decode(buf[: len(buf) // 2])
    assert "BacktestMessage" in str(e.value)
    with pytest.raises(CodecError, match="shorter than"):
        wire.decode(b"\x00\x01")


def test_mismatched_vectors_refused_on_encode() -> None:
    with pytest.raises(ValueError, match="2 reports but 1 extras"):
        wire.encode_venue_stepped(
            1, 0, 0, 0, np.zeros(2, EXEC_REPORT), np.zeros(1, REPORT_EXTRA),
            np.zeros(0, TRADE_PRINT), np.zeros((1, 4), np.int64),
        )  # fmt: skip
    with pytest.raises(TypeError, match="reports"):
        wire.encode_venue_stepped(
            1, 0, 0, 0, np.zeros(2, MD_EVENT), np.zeros(2, REPORT_EXTRA),
            np.zeros(0, TRADE_PRINT), np.zeros((1, 4), np.int64),
        )  # fmt: skip


def test_strategy_done_round_trip() -> None:
    from minihft.records import ORDER_COMMAND

    c = np.zeros(2, ORDER_COMMAND)
    c["order_id"], c["qty"] = [1, 2], [30, 40]
    r = np.zeros(1, EXEC_REPORT)
    r["qty"] = 30
    x = np.zeros(1, REPORT_EXTRA)
    x["fee_e4"] = -7
    summary = {"status": {"state": "complete", "filled": 70, "avg": 0.1 + 0.2}, "risk": {}}
    _, d = wire.decode(wire.encode_strategy_done("vwap", 12, c, r, x, summary, "boom"))
    assert isinstance(d, wire.StrategyDone)
    assert (d.strategy_id, d.wakes, d.error) == ("vwap", 12, "boom")
    assert d.commands["qty"].tolist() == [30, 40]
    assert d.reports["qty"].tolist() == [30] and d.extras["fee_e4"].tolist() == [-7]
    assert d.summary == summary  # floats survive JSON exactly
