"""codec.encode's layout cache: every message equals what the flatbuffers Builder makes for the
same input, whatever the shape, the scalars (zero ones are omitted fields) or cache evictions."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest
from minihft import codec


def _random(dtype: np.dtype[Any], n: int, rng: np.random.Generator) -> Any:
    raw = rng.integers(0, 256, size=n * dtype.itemsize, dtype=np.uint8)
    return raw.view(dtype)


@pytest.mark.parametrize("schema", list(codec.BATCH_SCHEMAS.values()), ids=lambda s: s.name)
def test_cached_encode_is_byte_identical_to_builder(schema: codec.BatchSchema) -> None:
    rng = np.random.default_rng(7)
    codec._LAYOUTS.clear()
    for _ in range(300):
        n = int(rng.integers(0, 40))
        recs = _random(schema.dtype, n, rng)
        hops = _random(codec.HOP_STAMP, int(rng.integers(0, 9)), rng)
        sym = [0, 1, 77, (1 << 32) - 1][int(rng.integers(0, 4))]
        seq = [0, 1, 123456789, (1 << 64) - 1][int(rng.integers(0, 4))]
        want = codec._builder_encode(schema, recs, sym, seq, hops)
        # Twice: the first call fills the cache, the second takes the template path.
        for _ in range(2):
            got = codec.encode(schema, recs, symbol_id=sym, batch_seq=seq, hops=hops)
            assert got == want
        back = codec.decode(got, schema)
        assert (back.symbol_id, back.batch_seq) == (sym, seq)
        assert back.records.tobytes() == recs.tobytes() and back.hops.tobytes() == hops.tobytes()
    assert codec._LAYOUTS  # the template path was taken


def test_numpy_scalars_strided_records_and_no_hops() -> None:
    rng = np.random.default_rng(1)
    recs = _random(codec.ORDERS.dtype, 10, rng)[::2]  # not contiguous
    want = codec._builder_encode(codec.ORDERS, np.ascontiguousarray(recs), 5, 9, codec._NO_HOPS)
    for _ in range(2):
        got = codec.encode(codec.ORDERS, recs, symbol_id=np.uint32(5), batch_seq=np.int64(9))  # type: ignore[arg-type]
        assert got == want


def test_eviction_keeps_output_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "_LAYOUTS_MAX", 3)
    codec._LAYOUTS.clear()
    rng = np.random.default_rng(3)
    for n in [1, 2, 3, 4, 1, 2, 5, 1]:
        recs = _random(codec.MD_EVENTS.dtype, n, rng)
        want = codec._builder_encode(codec.MD_EVENTS, recs, 3, n, codec._NO_HOPS)
        assert codec.encode(codec.MD_EVENTS, recs, symbol_id=3, batch_seq=n) == want
        assert len(codec._LAYOUTS) <= 3


def test_out_of_range_scalars_still_rejected_by_builder() -> None:
    recs = np.zeros(1, codec.ORDERS.dtype)
    for bad in ({"symbol_id": -1, "batch_seq": 0}, {"symbol_id": 1 << 32, "batch_seq": 0},
                {"symbol_id": 0, "batch_seq": 1.5}):  # fmt: skip
        with pytest.raises((TypeError, ValueError, OverflowError, struct.error)):
            codec.encode(codec.ORDERS, recs, **bad)
