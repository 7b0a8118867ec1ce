"""BookBuilder binding: batch in, statuses/depth out, matching a direct per-event replay."""

from __future__ import annotations

import numpy as np
import pytest
from minihft.book import BookBuilder
from minihft.records import MD_EVENT, ErrorCode, MdEventType, Side


def events(rows: list[tuple[int, int, int, int, int, int]]) -> np.ndarray:  # type: ignore[type-arg]
    """rows: (type, order_id, side, price, qty, symbol_id)."""
    ev = np.zeros(len(rows), dtype=MD_EVENT)
    for i, (t, oid, side, px, q, sym) in enumerate(rows):
        ev[i]["type"], ev[i]["order_id"], ev[i]["side"] = t, oid, side
        ev[i]["price"], ev[i]["qty"], ev[i]["symbol_id"] = px, q, sym
    return ev


A, X, C, D = MdEventType.ADD, MdEventType.EXECUTE, MdEventType.CANCEL, MdEventType.DELETE
B, S = Side.BUY, Side.SELL


def test_apply_with_depth_rows_follow_each_event() -> None:
    ev = events(
        [
            (A, 1, B, 100, 10, 0),
            (A, 2, S, 102, 5, 0),
            (A, 3, B, 101, 7, 0),
            (X, 3, B, 0, 7, 0),
            (C, 1, B, 0, 4, 0),
            (D, 2, S, 0, 0, 0),
        ]
    )
    status, depth = BookBuilder().apply_with_depth(ev, 2)
    assert status.tolist() == [ErrorCode.OK] * 6
    assert depth.shape == (6, 2, 4) and depth.dtype == np.int64
    assert depth[2].tolist() == [[102, 5, 101, 7], [0, 0, 100, 10]]
    assert depth[4].tolist() == [[102, 5, 100, 6], [0, 0, 0, 0]]
    assert depth[5].tolist() == [[0, 0, 100, 6], [0, 0, 0, 0]]


def test_unknown_order_is_reported_and_counted() -> None:
    b = BookBuilder()
    ev = events([(A, 1, B, 100, 10, 0), (X, 99, B, 100, 1, 0), (D, 98, S, 0, 0, 0)])
    status = b.apply(ev)
    assert status.tolist() == [ErrorCode.OK, ErrorCode.UNKNOWN_ORDER, ErrorCode.UNKNOWN_ORDER]
    st = b.stats()
    assert st["events"] == 3
    assert st["by_status"] == {"ok": 1, "unknown_order": 2}
    assert st["by_type"] == {"add": 1, "execute": 1, "delete": 1}
    assert b.depth(0, 1).tolist() == [[0, 0, 100, 10]]


def test_symbols_are_independent_and_batches_equal_single_events() -> None:
    rng = np.random.default_rng(7)
    rows = []
    live: dict[int, list[int]] = {0: [], 1: []}
    for oid in range(1, 2000):
        sym = int(rng.integers(0, 2))
        if live[sym] and rng.random() < 0.4:
            rows.append((D, live[sym].pop(int(rng.integers(0, len(live[sym])))), B, 0, 0, sym))
        else:
            side = int(rng.integers(0, 2))
            px = 100 - int(rng.integers(0, 5)) if side == B else 101 + int(rng.integers(0, 5))
            rows.append((A, oid, side, px, int(rng.integers(1, 50)), sym))
            live[sym].append(oid)
    ev = events(rows)
    whole = BookBuilder()
    st_whole, d_whole = whole.apply_with_depth(ev, 5)
    one = BookBuilder()
    singles = [one.apply_with_depth(ev[i : i + 1], 5) for i in range(len(ev))]
    assert np.array_equal(st_whole, np.concatenate([s for s, _ in singles]))
    assert np.array_equal(d_whole, np.concatenate([d for _, d in singles]))
    assert (st_whole == ErrorCode.OK).all()
    assert whole.order_count(0) == len(live[0]) and whole.order_count(1) == len(live[1])


def test_wrong_dtype_is_rejected() -> None:
    with pytest.raises(TypeError):
        BookBuilder().apply(np.zeros(3, dtype=np.int64))
