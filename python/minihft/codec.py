"""FlatBuffers codec of hot batches: numpy structured array <-> bytes, no work per event.

Every hot message (md.events, md.book, orders, exec.reports, ml.signals) is one table of the same
shape, see schemas/README.md:

    table XxxBatch { symbol_id:uint; batch_seq:ulong; hops:[HopStamp]; <records>:[Xxx]; }

so one encoder and one decoder serve all of them. `encode` copies the record array into the
builder in one memcpy; `decode` checks the file identifier and every offset it follows against
the buffer length, then returns numpy views into the buffer itself (zero copy). Malformed input
raises `CodecError` naming the expected/actual identifier or the offending offset, never an
IndexError from deep inside the flatbuffers runtime.
"""

from __future__ import annotations

import operator
import struct
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import flatbuffers
import numpy as np
import numpy.typing as npt

from minihft.records import DEPTH_LEVEL, EXEC_REPORT, MD_EVENT, ORDER_COMMAND
from minihft.schema import (
    BookUpdateBatch,
    ExecReportBatch,
    MdEventBatch,
    OrderCommandBatch,
    SignalBatch,
)

Buffer = bytes | bytearray | memoryview

# struct HopStamp in schemas/common.fbs.
HOP_STAMP = np.dtype(
    [
        ("ts", "<i8"),
        ("stage", "u1"),
        ("point", "u1"),
        ("instance", "<u2"),
        ("reserved", "<u4"),
    ]
)

BOOK_DEPTH = 10  # levels per side in struct BookUpdate (schemas/md_book.fbs)

# struct BookUpdate: 512 bytes, levels best first, unused levels zero.
BOOK_UPDATE = np.dtype(
    [
        ("ts_event", "<i8"),
        ("ts_recv", "<i8"),
        ("seq", "<u8"),
        ("symbol_id", "<u4"),
        ("n_bids", "u1"),
        ("n_asks", "u1"),
        ("reserved", "<u2"),
        ("bids", DEPTH_LEVEL, (BOOK_DEPTH,)),
        ("asks", DEPTH_LEVEL, (BOOK_DEPTH,)),
    ]
)

_BID_AT: int = BOOK_UPDATE.fields["bids"][1]  # type: ignore[index]  # a struct dtype has fields
_ASK_AT: int = BOOK_UPDATE.fields["asks"][1]  # type: ignore[index]
_PRICE_QTY = struct.Struct("<qq")  # DepthLevel starts with price, qty


def book_touch(updates: npt.NDArray[Any]) -> tuple[int, int, int, int]:
    """(bid price, bid qty, ask price, ask qty) of the last BOOK_UPDATE row; an empty side is
    0, 0. What most strategies read on every book change, without building a numpy view per
    field (about 0.4 us instead of 5)."""
    # `is` first: comparing a nested structured dtype field by field costs ~10 us.
    dt = updates.dtype
    if (dt is not BOOK_UPDATE and dt != BOOK_UPDATE) or updates.ndim != 1 or len(updates) == 0:
        raise TypeError(f"book_touch needs a non-empty 1-D BOOK_UPDATE array, got {updates.dtype}")
    # tobytes, not .data: a memoryview of a structured array builds its PEP 3118 format string
    # (~1.2 us), a copy of a few 512-byte rows costs ~0.1 us.
    buf = updates.tobytes()
    base = (len(updates) - 1) * BOOK_UPDATE.itemsize
    bid_px, bid_qty = _PRICE_QTY.unpack_from(buf, base + _BID_AT)
    ask_px, ask_qty = _PRICE_QTY.unpack_from(buf, base + _ASK_AT)
    return bid_px, bid_qty, ask_px, ask_qty


# struct Signal (schemas/signals.fbs): value is an IEEE double whose meaning belongs to model_id.
SIGNAL = np.dtype(
    [
        ("ts_event", "<i8"),
        ("ts_recv", "<i8"),
        ("ts", "<i8"),
        ("horizon_ns", "<i8"),
        ("value", "<f8"),
        ("symbol_id", "<u4"),
        ("model_id", "<u4"),
    ]
)

# Field slots of every XxxBatch table, in declaration order.
_SLOT_SYMBOL, _SLOT_SEQ, _SLOT_HOPS, _SLOT_RECORDS = 0, 1, 2, 3
_STRUCT_ALIGN = 8  # every hot struct starts with an 8-byte field
_HEADER = 8  # root uoffset + file identifier


@dataclass(frozen=True)
class BatchSchema:
    name: str  # root table in schemas/*.fbs
    identifier: bytes  # its file_identifier
    dtype: np.dtype[Any]
    records_field: str  # name of the struct vector in the table
    module: ModuleType  # generated builder functions

    def __repr__(self) -> str:
        return f"BatchSchema({self.name}, {self.identifier!r})"


MD_EVENTS = BatchSchema("MdEventBatch", b"MDEV", MD_EVENT, "events", MdEventBatch)
MD_BOOK = BatchSchema("BookUpdateBatch", b"MDBK", BOOK_UPDATE, "updates", BookUpdateBatch)
ORDERS = BatchSchema("OrderCommandBatch", b"MCMD", ORDER_COMMAND, "commands", OrderCommandBatch)
EXEC_REPORTS = BatchSchema("ExecReportBatch", b"MEXR", EXEC_REPORT, "reports", ExecReportBatch)
SIGNALS = BatchSchema("SignalBatch", b"MSIG", SIGNAL, "signals", SignalBatch)

BATCH_SCHEMAS: dict[bytes, BatchSchema] = {
    s.identifier: s for s in (MD_EVENTS, MD_BOOK, ORDERS, EXEC_REPORTS, SIGNALS)
}
# Non-batch roots, so a wrong-topic message is named in errors rather than called garbage.
OTHER_IDENTIFIERS: dict[bytes, str] = {
    b"MREF": "ReferenceEvent",
    b"MCTL": "ControlMessage",
    b"MBTS": "BacktestMessage",
}


class CodecError(ValueError):
    """A message that cannot be decoded: wrong schema, truncated, or corrupt.

    `expected`/`actual` are file identifiers when the schema is wrong; `offset` is the byte
    offset that points outside the buffer or holds an impossible value.
    """

    def __init__(
        self,
        message: str,
        *,
        expected: bytes | None = None,
        actual: bytes | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual
        self.offset = offset


@dataclass(frozen=True)
class Batch:
    schema: BatchSchema
    symbol_id: int
    batch_seq: int
    hops: npt.NDArray[Any]  # HOP_STAMP, a view into the buffer when decoded
    records: npt.NDArray[Any]  # schema.dtype, a view into the buffer when decoded


def _name(ident: bytes) -> str:
    if ident in BATCH_SCHEMAS:
        return BATCH_SCHEMAS[ident].name
    return OTHER_IDENTIFIERS.get(ident, "unknown schema")


def make_hops(*stamps: tuple[int, int, int, int]) -> npt.NDArray[Any]:
    """HOP_STAMP array from (ts, stage, point, instance); stage/point are schema Stage/HopPoint."""
    out = np.zeros(len(stamps), dtype=HOP_STAMP)
    for i, (ts, stage, point, instance) in enumerate(stamps):
        out[i] = (ts, stage, point, instance, 0)
    return out


def append_hop(
    hops: npt.NDArray[Any], ts: int, stage: int, point: int, instance: int = 0
) -> npt.NDArray[Any]:
    """New HOP_STAMP array: `hops` plus one stamp (the decoded view is read-only)."""
    out = np.empty(len(hops) + 1, dtype=HOP_STAMP)
    out[:-1] = hops
    out[-1] = (ts, stage, point, instance, 0)
    return out


_NO_HOPS = np.zeros(0, dtype=HOP_STAMP)


def struct_vector(b: flatbuffers.Builder, arr: npt.NDArray[Any]) -> int:
    """A FlatBuffers vector of fixed-size structs from a numpy array, written as one copy."""
    data = np.ascontiguousarray(arr).tobytes()
    b.StartVector(arr.dtype.itemsize, len(arr), _STRUCT_ALIGN)
    # The builder writes back to front; a struct vector is one contiguous run of little-endian
    # structs, element 0 first, so the numpy bytes go in as they are.
    b.head = b.head - len(data)
    b.Bytes[b.head : b.head + len(data)] = data
    return int(b.EndVector())


def _builder_encode(
    schema: BatchSchema,
    records: npt.NDArray[Any],
    symbol_id: int,
    batch_seq: int,
    hop_arr: npt.NDArray[Any],
) -> bytes:
    b = flatbuffers.Builder(records.nbytes + hop_arr.nbytes + 64)
    rec_off = struct_vector(b, records)
    hop_off = struct_vector(b, hop_arr)
    m = schema.module
    m.Start(b)
    m.AddBatchSeq(b, batch_seq)
    getattr(m, "Add" + schema.records_field.capitalize())(b, rec_off)
    m.AddHops(b, hop_off)
    m.AddSymbolId(b, symbol_id)
    b.Finish(m.End(b), file_identifier=schema.identifier)
    return bytes(b.Output())


@dataclass(frozen=True)
class _Layout:
    """Where the variable parts of a message of one shape lie in a Builder-made template."""

    template: bytes
    records_at: int
    hops_at: int
    symbol_at: int  # 0: the field is absent (its value is the default, 0)
    seq_at: int


# The Python flatbuffers Builder costs ~80% of a small batch's encode (profiling/reports, py-spy
# and callgrind). A message's layout depends only on its schema, the record and stamp counts and
# which scalars are non-zero (zero scalars are omitted), so the Builder's output for a shape is
# kept as a template and later messages of that shape are the template with their bytes written
# in: byte-identical output (tests/unit/test_codec_layout_cache.py) at a fraction of the cost.
_LAYOUTS: dict[tuple[bytes, int, int, bool, bool], _Layout] = {}
_LAYOUTS_MAX = 4096  # shapes; batch sizes vary, so the cache is bounded, emptied when full
_U32_MAX = (1 << 32) - 1
_U64_MAX = (1 << 64) - 1


def _layout_of(schema: BatchSchema, msg: bytes) -> _Layout:
    t = _Table(msg, schema.name)

    def data_at(slot: int) -> int:
        off = t.field(slot, 4)
        return off + _u32(msg, off) + 4

    return _Layout(
        msg,
        data_at(_SLOT_RECORDS),
        data_at(_SLOT_HOPS),
        t.field(_SLOT_SYMBOL, 4),
        t.field(_SLOT_SEQ, 8),
    )


def encode(
    schema: BatchSchema,
    records: npt.NDArray[Any],
    *,
    symbol_id: int,
    batch_seq: int,
    hops: npt.NDArray[Any] | None = None,
) -> bytes:
    """One FlatBuffer message holding `records` (a 1-D array of exactly `schema.dtype`)."""
    if records.dtype != schema.dtype or records.ndim != 1:
        raise TypeError(
            f"{schema.name} needs a 1-D array of dtype {schema.dtype}, got "
            f"{records.ndim}-D {records.dtype}"
        )
    hop_arr = _NO_HOPS if hops is None else hops
    if hop_arr.dtype != HOP_STAMP or hop_arr.ndim != 1:
        raise TypeError(f"hops need a 1-D array of dtype {HOP_STAMP}, got {hop_arr.dtype}")
    try:
        sym, seq = operator.index(symbol_id), operator.index(batch_seq)
    except TypeError:
        sym = seq = -1
    if not (0 <= sym <= _U32_MAX and 0 <= seq <= _U64_MAX):
        # The Builder's own checks name the bad value.
        return _builder_encode(schema, records, symbol_id, batch_seq, hop_arr)
    key = (schema.identifier, len(records), len(hop_arr), sym != 0, seq != 0)
    lay = _LAYOUTS.get(key)
    if lay is None:
        msg = _builder_encode(schema, records, symbol_id, batch_seq, hop_arr)
        if len(_LAYOUTS) >= _LAYOUTS_MAX:
            _LAYOUTS.clear()
        _LAYOUTS[key] = _layout_of(schema, msg)
        return msg
    out = bytearray(lay.template)
    out[lay.records_at : lay.records_at + records.nbytes] = records.tobytes()
    out[lay.hops_at : lay.hops_at + hop_arr.nbytes] = hop_arr.tobytes()
    if lay.symbol_at:
        struct.pack_into("<I", out, lay.symbol_at, sym)
    if lay.seq_at:
        struct.pack_into("<Q", out, lay.seq_at, seq)
    return bytes(out)


def identifier(buf: Buffer) -> bytes:
    """The 4-byte file identifier, or CodecError if the buffer cannot hold one."""
    if len(buf) < _HEADER:
        raise CodecError(
            f"buffer of {len(buf)} bytes is shorter than the {_HEADER}-byte FlatBuffer header",
            offset=0,
        )
    return bytes(buf[4:8])


def _u16(buf: Buffer, off: int) -> int:
    return int(struct.unpack_from("<H", buf, off)[0])


def _u32(buf: Buffer, off: int) -> int:
    return int(struct.unpack_from("<I", buf, off)[0])


class _Table:
    """Bounds-checked reader of one table: every offset is tested before it is followed."""

    def __init__(self, buf: Buffer, name: str) -> None:
        self.buf, self.name, n = buf, name, len(buf)
        self.pos = _u32(buf, 0)
        if self.pos < _HEADER or self.pos + 4 > n or self.pos % 4:
            raise CodecError(f"{name}: root table offset {self.pos} is invalid", offset=0)
        vt = self.pos - int(struct.unpack_from("<i", buf, self.pos)[0])
        if vt < _HEADER or vt + 4 > n or vt % 2:
            raise CodecError(f"{name}: vtable offset {vt} is outside the buffer", offset=self.pos)
        self.vt, self.vt_size, self.size = vt, _u16(buf, vt), _u16(buf, vt + 2)
        if self.vt_size < 4 or self.vt_size % 2 or vt + self.vt_size > n:
            raise CodecError(f"{name}: vtable size {self.vt_size} is invalid", offset=vt)
        if self.size < 4 or self.pos + self.size > n:
            raise CodecError(f"{name}: table size {self.size} runs past the buffer", offset=vt + 2)

    def field(self, slot: int, width: int) -> int:
        """Absolute offset of the field in `slot`, 0 when absent (the field is its default)."""
        entry = 4 + 2 * slot
        if entry >= self.vt_size:
            return 0
        rel = _u16(self.buf, self.vt + entry)
        if rel == 0:
            return 0
        if rel < 4 or rel + width > self.size:
            raise CodecError(
                f"{self.name}: field {slot} at table offset {rel} lies outside the "
                f"{self.size}-byte table",
                offset=self.vt + entry,
            )
        return self.pos + rel

    def scalar(self, slot: int, fmt: str) -> int:
        off = self.field(slot, struct.calcsize(fmt))
        return 0 if off == 0 else int(struct.unpack_from(fmt, self.buf, off)[0])

    def struct_vector(self, slot: int, dtype: np.dtype[Any], what: str) -> npt.NDArray[Any]:
        off = self.field(slot, 4)
        if off == 0:
            return np.zeros(0, dtype=dtype)
        vec = off + _u32(self.buf, off)
        if vec + 4 > len(self.buf):
            raise CodecError(
                f"{self.name}: {what} vector offset {vec} is outside the {len(self.buf)}-byte "
                "buffer",
                offset=off,
            )
        count = _u32(self.buf, vec)
        end = vec + 4 + count * dtype.itemsize
        if end > len(self.buf):
            raise CodecError(
                f"{self.name}: {what} vector at offset {vec} holds {count} x {dtype.itemsize} "
                f"bytes, ending at {end}, past the {len(self.buf)}-byte buffer (truncated?)",
                offset=vec,
            )
        return np.frombuffer(self.buf, dtype=dtype, count=count, offset=vec + 4)


def decode(buf: Buffer, expected: BatchSchema | None = None) -> Batch:
    """Zero-copy decode of a batch message; `expected=None` accepts any hot batch schema.

    The returned arrays are views into `buf` (read-only when `buf` is bytes): keep `buf` alive
    and copy before mutating.
    """
    ident = identifier(buf)
    if expected is not None:
        if ident != expected.identifier:
            raise CodecError(
                f"wrong file identifier: expected {expected.identifier!r} ({expected.name}), "
                f"got {ident!r} ({_name(ident)})",
                expected=expected.identifier,
                actual=ident,
            )
        schema = expected
    elif ident in BATCH_SCHEMAS:
        schema = BATCH_SCHEMAS[ident]
    else:
        known = ", ".join(repr(k) for k in BATCH_SCHEMAS)
        raise CodecError(
            f"file identifier {ident!r} ({_name(ident)}) is not a batch schema; expected one "
            f"of {known}",
            actual=ident,
        )
    t = _Table(buf, schema.name)
    return Batch(
        schema=schema,
        symbol_id=t.scalar(_SLOT_SYMBOL, "<I"),
        batch_seq=t.scalar(_SLOT_SEQ, "<Q"),
        hops=t.struct_vector(_SLOT_HOPS, HOP_STAMP, "hops"),
        records=t.struct_vector(_SLOT_RECORDS, schema.dtype, schema.records_field),
    )
