"""codec: hot batches round-trip, decode zero-copy, and reject malformed input with CodecError."""

from __future__ import annotations

import importlib
import struct
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from minihft import codec
from minihft.codec import BATCH_SCHEMAS, HOP_STAMP, BatchSchema, CodecError

SCHEMAS = list(BATCH_SCHEMAS.values())
IDS = [s.name for s in SCHEMAS]


def random_records(schema: BatchSchema, n: int, seed: int = 1) -> npt.NDArray[Any]:
    rng = np.random.default_rng(seed)
    out = np.frombuffer(rng.bytes(n * schema.dtype.itemsize), dtype=schema.dtype).copy()
    if "value" in schema.dtype.names:  # keep doubles finite so == comparisons mean something
        out["value"] = rng.normal(size=n)
    return out


def hops() -> npt.NDArray[Any]:
    h = codec.make_hops((1_000, 1, 0, 0), (1_750, 1, 1, 3))
    return codec.append_hop(h, 2_500, 2, 0)


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


@pytest.mark.parametrize("schema", SCHEMAS, ids=IDS)
def test_round_trip(schema: BatchSchema) -> None:
    recs = random_records(schema, 17)
    buf = codec.encode(schema, recs, symbol_id=42, batch_seq=2**40 + 3, hops=hops())
    assert codec.identifier(buf) == schema.identifier
    batch = codec.decode(buf, schema)
    assert batch.schema is schema
    assert (batch.symbol_id, batch.batch_seq) == (42, 2**40 + 3)
    assert batch.records.dtype == schema.dtype
    assert batch.records.tobytes() == recs.tobytes()
    assert batch.hops.tolist() == [(1000, 1, 0, 0, 0), (1750, 1, 1, 3, 0), (2500, 2, 0, 0, 0)]
    assert codec.decode(buf).schema is schema  # dispatch on the identifier


@pytest.mark.parametrize("schema", SCHEMAS, ids=IDS)
def test_empty_batch_and_default_fields(schema: BatchSchema) -> None:
    buf = codec.encode(schema, np.zeros(0, schema.dtype), symbol_id=0, batch_seq=0)
    batch = codec.decode(buf, schema)
    assert (batch.symbol_id, batch.batch_seq, len(batch.records), len(batch.hops)) == (0, 0, 0, 0)


@pytest.mark.parametrize("schema", SCHEMAS, ids=IDS)
def test_decode_is_zero_copy(schema: BatchSchema) -> None:
    recs = random_records(schema, 5)
    buf = bytearray(codec.encode(schema, recs, symbol_id=1, batch_seq=1, hops=hops()))
    batch = codec.decode(buf, schema)
    raw = np.frombuffer(buf, dtype=np.uint8)
    assert np.shares_memory(batch.records, raw) and np.shares_memory(batch.hops, raw)
    first = schema.dtype.names[0]
    start = buf.index(recs[:1].tobytes())
    buf[start : start + 8] = struct.pack("<q", -12345)  # first field of record 0, in place
    assert batch.records[first][0].view(np.int64) == -12345


@pytest.mark.parametrize("schema", SCHEMAS, ids=IDS)
def test_generated_flatbuffers_api_agrees_with_numpy(schema: BatchSchema) -> None:
    recs = random_records(schema, 4, seed=7)
    buf = codec.encode(schema, recs, symbol_id=9, batch_seq=11, hops=hops())
    mod = importlib.import_module(f"minihft.schema.{schema.name}")
    root_cls = getattr(mod, schema.name)
    assert getattr(root_cls, f"{schema.name}BufferHasIdentifier")(buf, 0)
    root = root_cls.GetRootAs(buf, 0)
    assert (root.SymbolId(), root.BatchSeq(), root.HopsLength()) == (9, 11, 3)
    assert root.Hops(1).Ts() == 1750 and root.Hops(1).Instance() == 3
    get = getattr(root, camel(schema.records_field))
    assert getattr(root, camel(schema.records_field) + "Length")() == len(recs)
    struct_cls = type(get(0))
    assert struct_cls.SizeOf() == schema.dtype.itemsize
    for i, rec in enumerate(recs):
        fb = get(i)
        for name in schema.dtype.names:
            sub = schema.dtype.fields[name][0]
            if sub.subdtype is None:
                assert getattr(fb, camel(name))() == rec[name], (i, name)
                continue
            for j in range(sub.shape[0]):  # fixed array of structs (BookUpdate levels)
                level = getattr(fb, camel(name))(j)
                for lf in sub.base.names:
                    assert getattr(level, camel(lf))() == rec[name][j][lf], (i, name, j, lf)


def test_struct_sizes_match_design() -> None:
    sizes = {s.name: s.dtype.itemsize for s in SCHEMAS}
    assert sizes == {
        "MdEventBatch": 56,
        "BookUpdateBatch": 32 + 2 * 10 * 24,
        "OrderCommandBatch": 56,
        "ExecReportBatch": 64,
        "SignalBatch": 48,
    }
    from minihft.schema.HopStamp import HopStamp

    assert HopStamp.SizeOf() == HOP_STAMP.itemsize == 16


def test_identifiers_are_distinct() -> None:
    ids = [s.identifier for s in SCHEMAS] + list(codec.OTHER_IDENTIFIERS)
    assert len(set(ids)) == len(ids)


def test_wrong_identifier_names_both() -> None:
    buf = codec.encode(
        codec.MD_EVENTS, random_records(codec.MD_EVENTS, 2), symbol_id=1, batch_seq=1
    )
    with pytest.raises(
        CodecError, match=r"expected b'MCMD' \(OrderCommandBatch\), got b'MDEV'"
    ) as e:
        codec.decode(buf, codec.ORDERS)
    assert (e.value.expected, e.value.actual) == (b"MCMD", b"MDEV")


def test_unknown_identifier_without_expectation() -> None:
    buf = bytearray(
        codec.encode(codec.SIGNALS, np.zeros(1, codec.SIGNAL), symbol_id=1, batch_seq=1)
    )
    buf[4:8] = b"MCTL"
    with pytest.raises(CodecError, match=r"b'MCTL' \(ControlMessage\) is not a batch schema"):
        codec.decode(bytes(buf))


@pytest.mark.parametrize("schema", SCHEMAS, ids=IDS)
def test_every_truncation_is_a_codec_error(schema: BatchSchema) -> None:
    buf = codec.encode(schema, random_records(schema, 2), symbol_id=3, batch_seq=4, hops=hops())
    for cut in range(len(buf)):
        with pytest.raises(CodecError):
            codec.decode(buf[:cut], schema)


def test_truncated_vector_names_offset() -> None:
    buf = codec.encode(
        codec.EXEC_REPORTS, random_records(codec.EXEC_REPORTS, 3), symbol_id=1, batch_seq=1
    )
    with pytest.raises(CodecError, match=r"reports vector at offset \d+ holds 3 x 64 bytes") as e:
        codec.decode(buf[:-1], codec.EXEC_REPORTS)
    assert e.value.offset is not None and 8 <= e.value.offset < len(buf)


def test_corrupt_offsets_name_offset() -> None:
    good = codec.encode(
        codec.MD_EVENTS, random_records(codec.MD_EVENTS, 2), symbol_id=5, batch_seq=6
    )
    bad = bytearray(good)
    bad[0:4] = struct.pack("<I", 10_000)
    with pytest.raises(CodecError, match="root table offset 10000") as e:
        codec.decode(bytes(bad))
    assert e.value.offset == 0
    bad = bytearray(good)
    root = struct.unpack_from("<I", good, 0)[0]
    bad[root : root + 4] = struct.pack("<i", -(2**30))  # vtable far past the end
    with pytest.raises(CodecError, match="vtable offset"):
        codec.decode(bytes(bad))


def test_short_buffers() -> None:
    for buf in (b"", b"\x00" * 7):
        with pytest.raises(CodecError, match="shorter than the 8-byte FlatBuffer header"):
            codec.decode(buf)


def test_garbage_never_escapes_as_another_exception() -> None:
    rng = np.random.default_rng(123)
    template = codec.encode(
        codec.MD_BOOK, random_records(codec.MD_BOOK, 2), symbol_id=1, batch_seq=1, hops=hops()
    )
    for _ in range(2000):
        buf = bytearray(template)
        for pos in rng.integers(0, len(buf), size=rng.integers(1, 6)):
            buf[pos] = int(rng.integers(0, 256))
        if rng.random() < 0.3:
            buf = bytearray(rng.bytes(int(rng.integers(0, 200))))
            buf[4:8] = b"MDBK"[: max(0, len(buf) - 4)]
        try:
            batch = codec.decode(bytes(buf), codec.MD_BOOK)
        except CodecError:
            continue
        end = len(buf)
        assert batch.records.nbytes <= end and batch.hops.nbytes <= end


def test_encode_rejects_wrong_dtype() -> None:
    with pytest.raises(TypeError, match="OrderCommandBatch needs a 1-D array"):
        codec.encode(codec.ORDERS, np.zeros(2, codec.SIGNAL), symbol_id=1, batch_seq=1)
    with pytest.raises(TypeError, match="hops need"):
        codec.encode(
            codec.ORDERS,
            np.zeros(2, codec.ORDERS.dtype),
            symbol_id=1,
            batch_seq=1,
            hops=np.zeros(2),
        )


def test_book_touch_reads_the_last_rows_top() -> None:
    from minihft.codec import BOOK_UPDATE, book_touch

    u = np.zeros(2, BOOK_UPDATE)
    u["bids"]["price"][1, 0], u["bids"]["qty"][1, 0] = 5_801_200, 300
    u["asks"]["price"][1, 0], u["asks"]["qty"][1, 0] = 5_801_900, 25
    u["asks"]["price"][1, 1], u["bids"]["price"][0, 0] = 1, 2  # other levels / rows: not read
    assert book_touch(u) == (5_801_200, 300, 5_801_900, 25)
    assert book_touch(u[:1]) == (2, 0, 0, 0)
    with pytest.raises(TypeError, match="BOOK_UPDATE"):
        book_touch(np.zeros(0, BOOK_UPDATE))
