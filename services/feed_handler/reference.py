"""ReferenceEvent messages (schemas/reference.fbs, identifier MREF) for md.events.

Stock directory records and sequence gaps are rare (one per symbol a day, one per lost range),
so each is one small FlatBuffer built with the generated builder; codec.py stays the hot-batch
codec. `decode` reads back the fields this module writes (tests, tools).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import flatbuffers
import numpy as np
import numpy.typing as npt
from minihft import codec
from minihft.schema import ReferenceEvent as RefEv
from minihft.schema import SequenceGap as SeqGap
from minihft.schema import StockDirectory as StockDir
from minihft.schema.ReferenceBody import ReferenceBody

IDENTIFIER = b"MREF"


def _hops(b: flatbuffers.Builder, hops: npt.NDArray[Any]) -> int:
    data = np.ascontiguousarray(hops, dtype=codec.HOP_STAMP).tobytes()
    b.StartVector(codec.HOP_STAMP.itemsize, len(hops), 8)
    b.head = b.head - len(data)
    b.Bytes[b.head : b.head + len(data)] = data
    return int(b.EndVector())


def _finish(
    b: flatbuffers.Builder,
    body_type: int,
    body: int,
    *,
    ts_event: int,
    ts_recv: int,
    symbol_id: int,
    seq: int,
    hops: npt.NDArray[Any],
) -> bytes:
    hop_off = _hops(b, hops)
    RefEv.Start(b)
    RefEv.AddTsEvent(b, ts_event)
    RefEv.AddTsRecv(b, ts_recv)
    RefEv.AddSeq(b, seq)
    RefEv.AddHops(b, hop_off)
    RefEv.AddBody(b, body)
    RefEv.AddSymbolId(b, symbol_id)
    RefEv.AddBodyType(b, body_type)
    b.Finish(RefEv.End(b), file_identifier=IDENTIFIER)
    return bytes(b.Output())


def _byte(v: bytes) -> int:
    return v[0] if v else 0


def stock_directory(rec: np.void, ts_recv: int, hops: npt.NDArray[Any]) -> bytes:
    """One ITCH R record (itch_records.STOCK_DIRECTORY) as a ReferenceEvent."""
    b = flatbuffers.Builder(256)
    stock = b.CreateString(bytes(rec["stock"]).decode("ascii", "replace").rstrip())
    sub = b.CreateString(bytes(rec["issue_subtype"]).decode("ascii", "replace").rstrip())
    StockDir.Start(b)
    StockDir.AddStock(b, stock)
    StockDir.AddIssueSubType(b, sub)
    StockDir.AddRoundLotSize(b, int(rec["round_lot_size"]))
    StockDir.AddEtpLeverageFactor(b, int(rec["etp_leverage_factor"]))
    StockDir.AddMarketCategory(b, _byte(rec["market_category"]))
    StockDir.AddFinancialStatus(b, _byte(rec["financial_status"]))
    StockDir.AddRoundLotsOnly(b, bytes(rec["round_lots_only"]) == b"Y")
    StockDir.AddIssueClassification(b, _byte(rec["issue_classification"]))
    StockDir.AddAuthenticity(b, _byte(rec["authenticity"]))
    StockDir.AddShortSaleThreshold(b, _byte(rec["short_sale_threshold"]))
    StockDir.AddIpoFlag(b, _byte(rec["ipo_flag"]))
    StockDir.AddLuldTier(b, _byte(rec["luld_tier"]))
    StockDir.AddEtpFlag(b, _byte(rec["etp_flag"]))
    StockDir.AddInverse(b, bytes(rec["inverse"]) == b"Y")
    body = StockDir.End(b)
    return _finish(
        b,
        ReferenceBody.StockDirectory,
        body,
        ts_event=int(rec["ts"]),
        ts_recv=ts_recv,
        symbol_id=int(rec["locate"]),
        seq=int(rec["seq"]),
        hops=hops,
    )


def sequence_gap(
    session: str, expected_seq: int, received_seq: int, ts: int, hops: npt.NDArray[Any]
) -> bytes:
    """Messages [expected_seq, received_seq) of `session` never arrived (session-wide)."""
    b = flatbuffers.Builder(128)
    name = b.CreateString(session)
    SeqGap.Start(b)
    SeqGap.AddSession(b, name)
    SeqGap.AddExpectedSeq(b, expected_seq)
    SeqGap.AddReceivedSeq(b, received_seq)
    body = SeqGap.End(b)
    return _finish(
        b,
        ReferenceBody.SequenceGap,
        body,
        ts_event=ts,
        ts_recv=ts,
        symbol_id=0,
        seq=expected_seq,
        hops=hops,
    )


@dataclass(frozen=True)
class Reference:
    kind: str  # "stock_directory" | "sequence_gap" | "other"
    symbol_id: int
    seq: int
    ts_event: int
    stock: str = ""
    session: str = ""
    expected_seq: int = 0
    received_seq: int = 0


def _text(v: str | bytes | None) -> str:
    return v.decode() if isinstance(v, bytes) else (v or "")


def decode(buf: bytes) -> Reference:
    if codec.identifier(buf) != IDENTIFIER:
        raise codec.CodecError(
            f"expected a ReferenceEvent ({IDENTIFIER!r}), got {codec.identifier(buf)!r}",
            expected=IDENTIFIER,
            actual=codec.identifier(buf),
        )
    ev = RefEv.ReferenceEvent.GetRootAs(buf, 0)
    sym, seq, ts = int(ev.SymbolId()), int(ev.Seq()), int(ev.TsEvent())
    t = ev.Body()
    if ev.BodyType() == ReferenceBody.StockDirectory and t is not None:
        sd = StockDir.StockDirectory()
        sd.Init(t.Bytes, t.Pos)
        return Reference("stock_directory", sym, seq, ts, stock=_text(sd.Stock()))
    if ev.BodyType() == ReferenceBody.SequenceGap and t is not None:
        g = SeqGap.SequenceGap()
        g.Init(t.Bytes, t.Pos)
        return Reference(
            "sequence_gap",
            sym,
            seq,
            ts,
            session=_text(g.Session()),
            expected_seq=int(g.ExpectedSeq()),
            received_seq=int(g.ReceivedSeq()),
        )
    return Reference("other", sym, seq, ts)
