"""BacktestMessage (schemas/backtest.fbs): the lock-step protocol between a strategy host and the
venue simulator, and the source depth that travels beside md.events.

Struct vectors go in and come out as numpy arrays of the dtypes the C++ stepper uses
(EXEC_REPORT, REPORT_EXTRA, TRADE_PRINT, DEPTH_ROW), so a wake-up crosses Kafka without
per-record work. Decoding checks every vector against the buffer: a corrupt or truncated message
is a CodecError naming the offset, never a crash or a short array.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

import flatbuffers
import numpy as np
import numpy.typing as npt
from flatbuffers.table import Table

from minihft import codec
from minihft.backtest_core import REPORT_EXTRA, TRADE_PRINT
from minihft.codec import CodecError
from minihft.records import EXEC_REPORT, ORDER_COMMAND
from minihft.schema import BacktestMessage as BM
from minihft.schema import EndOfData as EOD
from minihft.schema import RunUntil as RU
from minihft.schema import SourceDepth as SD
from minihft.schema import StrategyDone as SDN
from minihft.schema import VenueStepped as VS
from minihft.schema.BacktestBody import BacktestBody

IDENTIFIER = b"MBTS"
# One depth level as LOBSTER writes it: ask price, ask size, bid price, bid size (empty = 0).
DEPTH_ROW = np.dtype(
    [("ask_price", "<i8"), ("ask_qty", "<i8"), ("bid_price", "<i8"), ("bid_qty", "<i8")]
)
TIMER = np.dtype("<i8")
Records = npt.NDArray[Any]


@dataclass(frozen=True)
class SourceDepth:
    symbol_id: int
    batch_seq: int
    levels: int
    rows: Records  # DEPTH_ROW, levels per event

    def as_int64(self) -> npt.NDArray[np.int64]:
        """(events, levels, 4) int64, the shape Backtester.append takes."""
        n = len(self.rows) // max(self.levels, 1)
        out: npt.NDArray[np.int64] = (
            np.ascontiguousarray(self.rows).view(np.int64).reshape(n, self.levels, 4)
        )
        return out


@dataclass(frozen=True)
class EndOfData:
    symbol_id: int
    events: int
    batches: int


@dataclass(frozen=True)
class RunUntil:
    seq: int
    ts_limit: int
    wake_mask: int
    depth_levels: int
    timers: npt.NDArray[np.int64]


@dataclass(frozen=True)
class VenueStepped:
    seq: int
    why: int
    now: int
    cursor: int
    reports: Records  # EXEC_REPORT
    extras: Records  # REPORT_EXTRA
    trades: Records  # TRADE_PRINT
    depth: npt.NDArray[np.int64]  # (levels, 4)


@dataclass(frozen=True)
class StrategyDone:
    strategy_id: str
    wakes: int
    commands: Records  # ORDER_COMMAND, all the host sent
    reports: Records  # EXEC_REPORT, all it was told
    extras: Records  # REPORT_EXTRA
    summary: dict[str, Any]
    error: str


Body = SourceDepth | EndOfData | RunUntil | VenueStepped | StrategyDone


# ---- encoding ----


def _finish(b: flatbuffers.Builder, ts: int, kind: int, body: int) -> bytes:
    BM.Start(b)
    BM.AddTs(b, ts)
    BM.AddBodyType(b, kind)
    BM.AddBody(b, body)
    b.Finish(BM.End(b), file_identifier=IDENTIFIER)
    return bytes(b.Output())


def _checked(arr: npt.NDArray[Any], dtype: np.dtype[Any], what: str) -> npt.NDArray[Any]:
    if arr.dtype != dtype or arr.ndim != 1:
        raise TypeError(f"{what}: expected a 1-D array of {dtype}, got {arr.ndim}-D {arr.dtype}")
    return arr


def encode_source_depth(
    symbol_id: int, batch_seq: int, depth: npt.NDArray[np.int64], *, ts: int = 0
) -> bytes:
    """`depth`: (events, levels, 4) int64 rows of one MdEventBatch."""
    if depth.ndim != 3 or depth.shape[2] != 4:
        raise ValueError(f"source depth: expected shape (events, levels, 4), got {depth.shape}")
    rows = np.ascontiguousarray(depth, dtype=np.int64).reshape(-1, 4).view(DEPTH_ROW).ravel()
    b = flatbuffers.Builder(rows.nbytes + 128)
    vec = codec.struct_vector(b, rows)
    SD.Start(b)
    SD.AddSymbolId(b, symbol_id)
    SD.AddBatchSeq(b, batch_seq)
    SD.AddLevels(b, depth.shape[1])
    SD.AddRows(b, vec)
    return _finish(b, ts, BacktestBody.SourceDepth, SD.End(b))


def encode_end_of_data(symbol_id: int, events: int, batches: int, *, ts: int = 0) -> bytes:
    b = flatbuffers.Builder(128)
    EOD.Start(b)
    EOD.AddSymbolId(b, symbol_id)
    EOD.AddEvents(b, events)
    EOD.AddBatches(b, batches)
    return _finish(b, ts, BacktestBody.EndOfData, EOD.End(b))


def encode_run_until(
    seq: int, ts_limit: int, wake_mask: int, depth_levels: int, timers: list[int], *, ts: int = 0
) -> bytes:
    b = flatbuffers.Builder(128 + 8 * len(timers))
    vec = codec.struct_vector(b, np.asarray(timers, dtype=TIMER))
    RU.Start(b)
    RU.AddSeq(b, seq)
    RU.AddTsLimit(b, ts_limit)
    RU.AddWakeMask(b, wake_mask)
    RU.AddDepthLevels(b, depth_levels)
    RU.AddTimers(b, vec)
    return _finish(b, ts, BacktestBody.RunUntil, RU.End(b))


def encode_venue_stepped(
    seq: int,
    why: int,
    now: int,
    cursor: int,
    reports: Records,
    extras: Records,
    trades: Records,
    depth: npt.NDArray[np.int64],
) -> bytes:
    _checked(reports, EXEC_REPORT, "reports")
    _checked(extras, REPORT_EXTRA, "extras")
    _checked(trades, TRADE_PRINT, "trades")
    if len(extras) != len(reports):
        raise ValueError(f"{len(reports)} reports but {len(extras)} extras")
    rows = np.ascontiguousarray(depth, dtype=np.int64).reshape(-1, 4).view(DEPTH_ROW).ravel()
    b = flatbuffers.Builder(reports.nbytes + extras.nbytes + trades.nbytes + rows.nbytes + 256)
    offs = [codec.struct_vector(b, a) for a in (reports, extras, trades, rows)]
    VS.Start(b)
    VS.AddSeq(b, seq)
    VS.AddWhy(b, why)
    VS.AddNow(b, now)
    VS.AddCursor(b, cursor)
    VS.AddReports(b, offs[0])
    VS.AddExtras(b, offs[1])
    VS.AddTrades(b, offs[2])
    VS.AddDepth(b, offs[3])
    return _finish(b, now, BacktestBody.VenueStepped, VS.End(b))


def encode_strategy_done(
    strategy_id: str,
    wakes: int,
    commands: Records,
    reports: Records,
    extras: Records,
    summary: dict[str, Any],
    error: str = "",
) -> bytes:
    _checked(commands, ORDER_COMMAND, "commands")
    _checked(reports, EXEC_REPORT, "reports")
    _checked(extras, REPORT_EXTRA, "extras")
    text = json.dumps(summary, allow_nan=False)
    b = flatbuffers.Builder(commands.nbytes + reports.nbytes + extras.nbytes + len(text) + 256)
    offs = [codec.struct_vector(b, a) for a in (commands, reports, extras)]
    sid, js, err = b.CreateString(strategy_id), b.CreateString(text), b.CreateString(error)
    SDN.Start(b)
    SDN.AddStrategyId(b, sid)
    SDN.AddWakes(b, wakes)
    SDN.AddCommands(b, offs[0])
    SDN.AddReports(b, offs[1])
    SDN.AddExtras(b, offs[2])
    SDN.AddSummaryJson(b, js)
    SDN.AddError(b, err)
    return _finish(b, 0, BacktestBody.StrategyDone, SDN.End(b))


# ---- decoding ----


def _array(tab: Table, voffset: int, dtype: np.dtype[Any], what: str) -> npt.NDArray[Any]:
    o = tab.Offset(voffset)
    if o == 0:
        return np.zeros(0, dtype=dtype)
    start = tab.Vector(o)
    n = tab.VectorLen(o)
    end = start + n * dtype.itemsize
    if start < 0 or end > len(tab.Bytes):
        raise CodecError(
            f"BacktestMessage: {what} vector at offset {start} holds {n} x {dtype.itemsize} "
            f"bytes, ending at {end}, past the {len(tab.Bytes)}-byte buffer (truncated?)",
            offset=start,
        )
    return np.frombuffer(tab.Bytes, dtype=dtype, count=n, offset=start)


def _text(s: str | bytes | None) -> str:
    # The flatbuffers runtime hands strings out as bytes, whatever its stubs say.
    return "" if s is None else s.decode() if isinstance(s, bytes) else s


def decode(buf: bytes) -> tuple[int, Body]:
    """(sender ts, body) of a BacktestMessage; CodecError for anything else or anything broken."""
    ident = codec.identifier(buf)
    if ident != IDENTIFIER:
        raise CodecError(
            f"wrong file identifier: expected {IDENTIFIER!r} (BacktestMessage), got {ident!r}",
            expected=IDENTIFIER,
            actual=ident,
        )
    try:
        msg = BM.BacktestMessage.GetRootAs(buf, 0)
        kind, tab = msg.BodyType(), msg.Body()
        if tab is None:
            raise CodecError("BacktestMessage: no body", offset=0)
        ts = int(msg.Ts())
        if kind == BacktestBody.SourceDepth:
            sd = SD.SourceDepth()
            sd.Init(tab.Bytes, tab.Pos)
            rows = _array(tab, 10, DEPTH_ROW, "rows")
            levels = int(sd.Levels())
            if levels == 0 or len(rows) % levels:
                raise CodecError(
                    f"SourceDepth: {len(rows)} rows is not a multiple of levels={levels}",
                    offset=tab.Pos,
                )
            return ts, SourceDepth(int(sd.SymbolId()), int(sd.BatchSeq()), levels, rows)
        if kind == BacktestBody.EndOfData:
            e = EOD.EndOfData()
            e.Init(tab.Bytes, tab.Pos)
            return ts, EndOfData(int(e.SymbolId()), int(e.Events()), int(e.Batches()))
        if kind == BacktestBody.RunUntil:
            r = RU.RunUntil()
            r.Init(tab.Bytes, tab.Pos)
            timers = _array(tab, 12, TIMER, "timers")
            return ts, RunUntil(
                int(r.Seq()), int(r.TsLimit()), int(r.WakeMask()), int(r.DepthLevels()), timers
            )
        if kind == BacktestBody.VenueStepped:
            v = VS.VenueStepped()
            v.Init(tab.Bytes, tab.Pos)
            reports = _array(tab, 12, EXEC_REPORT, "reports")
            extras = _array(tab, 14, REPORT_EXTRA, "extras")
            if len(extras) != len(reports):
                raise CodecError(
                    f"VenueStepped: {len(reports)} reports but {len(extras)} extras",
                    offset=tab.Pos,
                )
            trades = _array(tab, 16, TRADE_PRINT, "trades")
            depth = _array(tab, 18, DEPTH_ROW, "depth").view(np.int64).reshape(-1, 4)
            return ts, VenueStepped(
                int(v.Seq()), int(v.Why()), int(v.Now()), int(v.Cursor()),
                reports, extras, trades, depth,
            )  # fmt: skip
        if kind == BacktestBody.StrategyDone:
            d = SDN.StrategyDone()
            d.Init(tab.Bytes, tab.Pos)
            summary = json.loads(_text(d.SummaryJson()) or "{}")
            return ts, StrategyDone(
                _text(d.StrategyId()), int(d.Wakes()),
                _array(tab, 8, ORDER_COMMAND, "commands"), _array(tab, 10, EXEC_REPORT, "reports"),
                _array(tab, 12, REPORT_EXTRA, "extras"), summary, _text(d.Error()),
            )  # fmt: skip
    except CodecError:
        raise
    except (IndexError, struct.error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise CodecError(f"BacktestMessage: corrupt buffer of {len(buf)} bytes: {exc}") from exc
    raise CodecError(f"BacktestMessage: unknown body type {kind}", offset=0)
