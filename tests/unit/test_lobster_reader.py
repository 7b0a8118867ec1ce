"""LOBSTER reader: exact parsing and a clear error (file, 1-based row, field) per bad-input case."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from minihft.marketdata.lobster import (
    CROSS_TRADE_FLAG,
    LobsterFormatError,
    read_messages,
    read_orderbook,
)
from minihft.records import MdEventType, Side

GOOD = [
    "34200.015105074,1,100,5,5794000,1",
    "34200.05990197,4,100,3,5794000,1",
    "34200.1,5,0,1,5795150,-1",
    "34200.2,6,0,10,5795100,1",
    "34200.3,2,100,1,5794000,1",
    "34200.4,3,100,1,5794000,1",
    "36023,7,0,0,-1,-1",
]


def write(tmp_path: Path, name: str, lines: list[str], gz: bool = False) -> Path:
    data = ("\n".join(lines) + "\n").encode()
    p = tmp_path / name
    p.write_bytes(gzip.compress(data) if gz else data)
    return p


@pytest.mark.parametrize("gz", [False, True])
def test_good_file_maps_every_field(tmp_path: Path, gz: bool) -> None:
    m = read_messages(write(tmp_path, "m.csv.gz" if gz else "m.csv", GOOD, gz), symbol_id=3)
    ev = m.events
    assert ev["ts_event"].tolist()[:3] == [34200015105074, 34200059901970, 34200100000000]
    assert ev["ts_event"][-1] == 36023 * 10**9
    assert ev["type"].tolist() == [
        MdEventType.ADD,
        MdEventType.EXECUTE,
        MdEventType.HIDDEN_TRADE,
        MdEventType.HIDDEN_TRADE,
        MdEventType.CANCEL,
        MdEventType.DELETE,
        MdEventType.TRADING_STATUS,
    ]
    assert ev["flags"][3] == CROSS_TRADE_FLAG and ev["flags"][2] == 0
    assert ev["flags"][6] != 0  # halt code carried from the price column
    assert ev["side"].tolist()[:3] == [Side.BUY, Side.BUY, Side.SELL]
    assert (ev["symbol_id"] == 3).all()
    assert ev["qty"].tolist()[:2] == [5, 3]
    assert m.rows.tolist() == list(range(1, 8))
    assert m.skipped == {}


def test_time_is_exact_not_float(tmp_path: Path) -> None:
    # 57599.999999999 is not representable in binary floating point; the ns must still be exact,
    # and digits past ns (LOBSTER float noise) are truncated.
    lines = ["57599.999999999,1,1,1,100,1", "43002.632812672004,1,2,1,100,1"]
    ev = read_messages(write(tmp_path, "m.csv", lines)).events
    assert ev["ts_event"].tolist() == [57599999999999, 43002632812672]


@pytest.mark.parametrize(
    ("bad_line", "field", "fragment"),
    [
        ("34200.5,1,7,abc,5794000,1", "size", "invalid value"),
        ("34200.5,1,7,5,5794000", "row", "expected 6 columns, got 5"),
        ("34200.5,1,7,5,5794000,1,9", "row", "expected 6 columns, got 7"),
        ("34200.5,1,7,-5,5794000,1", "size", "negative size"),
        ("34200.5,1,7,5,5794050,1", "price", "off tick grid"),
        ("34200.5,9,7,5,5794000,1", "type", "unknown type"),
        ("34200.5,1,7,5,5794000,0", "direction", "not 1 or minus 1"),
        ("34200.5.1,1,7,5,5794000,1", "time", "not a decimal time"),
        ("34200.5,1,7,,5794000,1", "row", "empty field"),
    ],
)
def test_bad_row_names_file_row_field(
    tmp_path: Path, bad_line: str, field: str, fragment: str
) -> None:
    p = write(tmp_path, "bad.csv", [*GOOD[:3], bad_line, *GOOD[3:]])
    with pytest.raises(LobsterFormatError) as ei:
        read_messages(p)
    err = ei.value
    assert (err.path, err.row, err.field) == (str(p), 4, field)
    assert str(p) in str(err) and "row 4" in str(err) and fragment in str(err)


@pytest.mark.parametrize(
    "bad_line",
    [
        "34200.5,1,7,abc,5794000,1",
        "34200.5,1,7,5,5794000",
        "34200.5,1,7,-5,5794000,1",
        "34200.5,1,7,5,5794050,1",
        "34200.5,9,7,5,5794000,1",
    ],
)
def test_skip_mode_counts_and_keeps_source_rows(tmp_path: Path, bad_line: str) -> None:
    p = write(tmp_path, "bad.csv", [*GOOD[:2], bad_line, *GOOD[2:], bad_line])
    m = read_messages(p, errors="skip")
    assert len(m.events) == len(GOOD)
    assert sum(m.skipped.values()) == 2
    assert m.rows.tolist() == [1, 2, 4, 5, 6, 7, 8]
    good = read_messages(write(tmp_path, "good.csv", GOOD)).events
    assert np.array_equal(m.events, good)


def test_truncated_gzip(tmp_path: Path) -> None:
    lines = [f"34200.{i:09d},1,{i + 1},1,100,1" for i in range(5000)]
    full = gzip.compress(("\n".join(lines) + "\n").encode())
    p = tmp_path / "cut.csv.gz"
    p.write_bytes(full[: len(full) // 2])
    with pytest.raises(LobsterFormatError) as ei:
        read_messages(p)
    assert ei.value.field == "gzip" and "truncated" in str(ei.value) and ei.value.row > 1
    m = read_messages(p, errors="skip")
    assert m.skipped == {"truncated_gzip": 1}
    assert 0 < len(m.events) == ei.value.row - 1
    assert m.events["order_id"].tolist() == list(range(1, len(m.events) + 1))


def test_orderbook_levels_and_empty_levels(tmp_path: Path) -> None:
    rows = ["5802300,100,5794000,496,9999999999,0,-9999999999,0"]
    ob = read_orderbook(write(tmp_path, "ob.csv", rows))
    assert ob.levels == 2
    assert ob.depth[0, 1].tolist() == [9999999999, 0, -9999999999, 0]
    assert ob.depth_zero_empty()[0].tolist() == [[5802300, 100, 5794000, 496], [0, 0, 0, 0]]


@pytest.mark.parametrize(
    ("bad_line", "field"),
    [
        ("5802300,100,5794000", "row"),
        ("5802300,-1,5794000,496", "size"),
        ("5802350,100,5794000,496", "ask_px"),
        ("5802300,100,x,496", "bid_px"),
    ],
)
def test_orderbook_bad_rows(tmp_path: Path, bad_line: str, field: str) -> None:
    p = write(tmp_path, "ob.csv", ["5802300,100,5794000,496", bad_line])
    with pytest.raises(LobsterFormatError) as ei:
        read_orderbook(p, levels=1)
    assert ei.value.row == 2 and ei.value.field.startswith(field)
    assert len(read_orderbook(p, levels=1, errors="skip").depth) == 1
