"""ITCH 5.0 parser/writer against real data and the independent decoder itch-book (PyPI).

(1) The real NASDAQ fixture: our decode matches the documented counts, itch-book message by
    message, and re-encodes byte for byte.
(2) LOBSTER GOOG level-10 flow -> our ITCH writer -> itch-book parses it and exports LOBSTER
    format again -> equal to the original rows; our parser agrees with itch-book on every message.
Plus crafted bad input through the Python API (gzip, truncation, unknown type, bad length).
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import itch_book as ib
import itch_book._dates as ib_dates
import itch_book.lobster as ib_lobster
import numpy as np
import pytest
from minihft import _feed
from minihft.marketdata import itch, itch_records
from minihft.paths import shared_data_dir
from minihft.records import MD_EVENT, MdEventType, Side
from numpy.typing import NDArray

DATA = shared_data_dir()
SAMPLE = DATA / "nasdaq_itch50" / "sample_first1000.itch"
GOOG10 = DATA / "lobster" / "GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"
LOBSTER_DAY = dt.date(2012, 6, 21)
GOOG_LOCATE = 7

needs = pytest.mark.skipif(not SAMPLE.exists() or not GOOG10.exists(), reason="no shared data")


def test_dtypes_match_cpp_layouts() -> None:
    for name, (_, dtype) in itch_records.REFERENCE_TABLES.items():
        size, fields = _feed.LAYOUTS[name]
        assert dtype.itemsize == size, name
        assert set(dtype.names or ()) == set(fields), name
        for f, off in fields.items():
            assert dtype.fields is not None and dtype.fields[f][1] == off, (name, f)


# ---- (1) the real fixture ----------------------------------------------------------------------


def _itch_book_tables(path: Path, day: dt.date, tables: tuple[str, ...]) -> tuple[dict, dict]:  # type: ignore[type-arg]
    feed = ib.Feed(str(path), date=day, price_type="fixed")
    parts = [vars(b) for b in feed.batches(tables=tables, rows=2_000_000)]
    merged = {
        t: {k: np.concatenate([p[t][k] for p in parts]) for k in parts[0][t]}
        if t != "symbols"
        else {k: [v for p in parts for v in p[t][k]] for k in parts[0][t]}
        for t in parts[0]
    }
    return merged, dict(feed.stats or {})


@needs
def test_sample_fixture_counts_and_itch_book_agree() -> None:
    r = itch.parse_file(SAMPLE)
    c = r.counters
    assert c["messages"] == 1000 and c["bytes"] == SAMPLE.stat().st_size
    assert c["by_type"] == {"R": 993, "H": 3, "Y": 3, "S": 1}
    assert c["skipped_unknown"] == c["skipped_bad_length"] == c["truncated_frames"] == 0

    day = dt.date(2019, 12, 30)  # the session date is unknown; only offsets from midnight matter
    midnight = ib_dates.midnight_ns(day)
    tb, stats = _itch_book_tables(
        SAMPLE, day, ("symbols", "halts", "reg_sho", "system_events", "messages", "trades")
    )
    assert stats["messages"] == 1000 and stats["unknown"] == stats["malformed"] == 0
    assert len(tb["messages"]["seq"]) == 0 and len(tb["trades"]["seq"]) == 0

    sd = r.reference["stock_directory"]
    sym = tb["symbols"]
    assert list(sd["locate"]) == sym["locate"]
    assert [s.decode().rstrip() for s in sd["stock"]] == sym["symbol"]
    assert list(sd["round_lot_size"]) == sym["round_lot_size"]
    assert list(sd["etp_leverage_factor"]) == sym["etp_leverage"]
    for ours, theirs in (("market_category", "market_category"), ("luld_tier", "luld_tier"),
                         ("authenticity", "authenticity"), ("etp_flag", "etp_flag")):  # fmt: skip
        assert [v.decode() for v in sd[ours]] == sym[theirs], ours

    # itch-book's seq is the 1-based message ordinal, ours 0-based.
    ta = r.reference["trading_actions"]
    assert list(ta["seq"] + 1) == list(tb["halts"]["seq"])
    assert list(ta["ts"]) == list(tb["halts"]["ts_event"] - midnight)
    assert list(ta["trading_state"]) == list(tb["halts"]["state"])
    assert list(ta["reason"]) == list(tb["halts"]["reason"])
    ys = r.reference["reg_sho"]
    assert list(ys["seq"] + 1) == list(tb["reg_sho"]["seq"])
    assert list(ys["ts"]) == list(tb["reg_sho"]["ts_event"] - midnight)
    assert list(ys["action"]) == list(tb["reg_sho"]["action"])
    se = r.reference["system_events"]
    assert list(se["seq"] + 1) == list(tb["system_events"]["seq"])
    assert list(se["event_code"]) == list(tb["system_events"]["event"])
    # every H also yields a TRADING_STATUS event for the book pipeline
    st = r.events[r.events["type"] == MdEventType.TRADING_STATUS]
    assert list(st["symbol_id"]) == list(ta["locate"])
    assert set(st["flags"]) == {itch_records.STATUS_TRADING}


@needs
def test_sample_fixture_reencodes_byte_for_byte() -> None:
    r = itch.parse_file(SAMPLE, chunk_bytes=777)  # odd chunks: frames split at every edge
    assert itch.encode_reference(r.reference) == SAMPLE.read_bytes()


# ---- (2) LOBSTER flow through our writer into itch-book ---------------------------------------


def _load_lobster(path: Path) -> NDArray[np.int64]:
    """Columns ts_ns, type, order_id, size, price, direction; exact ns from the decimal text."""
    with gzip.open(path, "rt") as f:
        rows = [line.split(",") for line in f.read().splitlines()]
    out = np.zeros((len(rows), 6), dtype=np.int64)
    for i, (t, *rest) in enumerate(rows):
        sec, _, frac = t.partition(".")
        out[i, 0] = int(sec) * 1_000_000_000 + int(frac.ljust(9, "0"))
        out[i, 1:] = [int(v) for v in rest]
    return out


def _lobster_to_events(m: NDArray[np.int64]) -> NDArray[np.void]:
    """LOBSTER rows as MD_EVENT, preceded by one synthetic pre-open (09:29:59) Add per order the
    file references without adding it (the sample starts mid-book); its size is the sum of all
    later reductions, so the book ends each such order exactly."""
    typ, oid = m[:, 1], m[:, 2]
    added = set(oid[typ == 1].tolist())
    refs = np.flatnonzero(np.isin(typ, (2, 3, 4)) & ~np.isin(oid, list(added)))
    pre: dict[int, list[int]] = {}
    for i in refs:
        o = int(oid[i])
        if o not in pre:
            pre[o] = [0, int(m[i, 4]), int(m[i, 5])]
        pre[o][0] += int(m[i, 3])
    ev = np.zeros(len(pre) + len(m), dtype=MD_EVENT)
    head, body = ev[: len(pre)], ev[len(pre) :]
    head["ts_event"] = 34_199 * 1_000_000_000
    head["type"] = MdEventType.ADD
    head["order_id"] = list(pre)
    head["qty"] = [v[0] for v in pre.values()]
    head["price"] = [v[1] for v in pre.values()]
    head["side"] = [Side.BUY if v[2] == 1 else Side.SELL for v in pre.values()]
    lut = {1: MdEventType.ADD, 2: MdEventType.CANCEL, 3: MdEventType.DELETE,
           4: MdEventType.EXECUTE, 5: MdEventType.HIDDEN_TRADE}  # fmt: skip
    assert set(np.unique(typ).tolist()) <= set(lut)
    body["ts_event"] = m[:, 0]
    body["type"] = [lut[int(t)] for t in typ]
    body["order_id"] = oid
    body["qty"] = m[:, 3]
    body["price"] = m[:, 4]
    body["side"] = np.where(m[:, 5] == 1, Side.BUY, Side.SELL)
    ev["symbol_id"] = GOOG_LOCATE
    return ev


GoogItch = tuple[Path, NDArray[np.int64], NDArray[np.void]]


@pytest.fixture(scope="module")
def goog_itch(tmp_path_factory: pytest.TempPathFactory) -> GoogItch:
    if not GOOG10.exists():
        pytest.skip("no shared data")
    m = _load_lobster(GOOG10)
    ev = _lobster_to_events(m)
    out = tmp_path_factory.mktemp("itch") / "GOOG_20120621.itch.gz"
    n = itch.write_itch(ev, {GOOG_LOCATE: "GOOG"}, out)
    assert n == len(ev) + 3
    return out, m, ev


@needs
def test_lobster_via_itch_book_lobster_export(goog_itch: GoogItch, tmp_path: Path) -> None:
    path, m, _ = goog_itch
    written = ib_lobster.export(str(path), str(tmp_path), ("GOOG",), levels=10, date=LOBSTER_DAY)
    msg_file = Path(next(f for f, _ in written if "_message_" in f))
    rows = [line.split(",") for line in msg_file.read_text().splitlines()]
    got = np.array(
        [[round(float(r[0]) * 1e9), *(int(float(v)) for v in r[1:])] for r in rows], dtype=np.int64
    )
    assert got.shape == m.shape
    # itch-book exports the P direction as 1 (NASDAQ sends 'B' there): compare it off type 5.
    visible = m[:, 1] != 5
    np.testing.assert_array_equal(got[:, :5], m[:, :5])
    np.testing.assert_array_equal(got[visible, 5], m[visible, 5])
    assert (got[~visible, 5] == 1).all()


@needs
def test_our_parser_agrees_with_itch_book_on_lobster_itch(
    goog_itch: GoogItch,
) -> None:
    path, _, ev = goog_itch
    r = itch.parse_file(path, chunk_bytes=65_537)
    assert r.counters["skipped_unknown"] == r.counters["skipped_bad_length"] == 0
    assert r.symbols() == {GOOG_LOCATE: "GOOG"}
    assert [s.decode() for s in r.reference["system_events"]["event_code"]] == ["O", "C"]
    # our own round trip: every field the ITCH message carries comes back (E/X/D carry no price
    # or side, D no size: the book knows them)
    got = r.events
    for f in ("ts_event", "order_id", "symbol_id", "type", "flags"):
        np.testing.assert_array_equal(got[f], ev[f], err_msg=f)
    full = np.isin(ev["type"], [MdEventType.ADD, MdEventType.HIDDEN_TRADE])
    for f in ("price", "side", "qty"):
        np.testing.assert_array_equal(got[f][full], ev[f][full], err_msg=f)
    sized = np.isin(ev["type"], [MdEventType.EXECUTE, MdEventType.CANCEL])
    np.testing.assert_array_equal(got["qty"][sized], ev["qty"][sized])

    midnight = ib_dates.midnight_ns(LOBSTER_DAY)
    tb, stats = _itch_book_tables(path, LOBSTER_DAY, ("messages", "trades"))
    assert stats["messages"] == r.counters["messages"]
    assert stats["missing_ref"] == 0 and stats["dup_ref"] == 0
    # itch-book's messages table: A/F/E/C/X/D/U in stream order
    book_types = {int(MdEventType.ADD): b"A", int(MdEventType.EXECUTE): b"E",
                  int(MdEventType.CANCEL): b"X", int(MdEventType.DELETE): b"D"}  # fmt: skip
    sel = np.isin(r.events["type"], list(book_types))
    ours, orig = r.events[sel], ev[sel]
    msg = tb["messages"]
    assert len(msg["seq"]) == len(ours)
    assert [book_types[int(t)] for t in ours["type"]] == list(msg["type"])
    np.testing.assert_array_equal(ours["ts_event"], msg["ts_event"] - midnight)
    np.testing.assert_array_equal(ours["order_id"], msg["order_id"])
    np.testing.assert_array_equal(ours["symbol_id"], msg["locate"])
    adds = ours["type"] == MdEventType.ADD
    np.testing.assert_array_equal(ours["price"][adds], msg["price"][adds])
    # E/X/D: itch-book fills side and price from its book, which must equal the LOBSTER source
    np.testing.assert_array_equal(orig["price"], msg["price"])
    np.testing.assert_array_equal(np.where(orig["side"] == Side.BUY, b"B", b"S"), msg["side"])
    sized = ours["type"] != MdEventType.DELETE  # a D carries no size on the wire
    np.testing.assert_array_equal(ours["qty"][sized], msg["size"][sized].astype(np.int64))
    # trades table: E (at the resting price) and P, with their match numbers
    tr = tb["trades"]
    trades = r.events[np.isin(r.events["type"], [MdEventType.EXECUTE, MdEventType.HIDDEN_TRADE])]
    assert len(tr["seq"]) == len(trades)
    np.testing.assert_array_equal(trades["new_order_id"], tr["match_number"])
    np.testing.assert_array_equal(trades["qty"], tr["size"].astype(np.int64))
    np.testing.assert_array_equal(trades["ts_event"], tr["ts_event"] - midnight)
    hidden = trades["type"] == MdEventType.HIDDEN_TRADE
    assert list(tr["kind"][hidden]) == [b"P"] * int(hidden.sum())
    np.testing.assert_array_equal(trades["price"][hidden], tr["price"][hidden])


# ---- bad input through the Python API ----------------------------------------------------------


def _frame(body: bytes) -> bytes:
    return len(body).to_bytes(2, "big") + body


def _add(ref: int) -> bytes:
    return _frame(
        b"A" + (7).to_bytes(2, "big") + b"\0\0" + (5).to_bytes(6, "big") + ref.to_bytes(8, "big")
        + b"B" + (100).to_bytes(4, "big") + b"GOOG    " + (5_794_000).to_bytes(4, "big")
    )  # fmt: skip


def test_truncated_unknown_and_bad_length_stop_and_skip(tmp_path: Path) -> None:
    good = _add(1) + _add(2)
    unknown = _frame(b"z" + b"\0" * 10)
    bad_len = _frame(b"D" + b"\0" * 10)  # D is 19 bytes
    for blob, kind, offset, typ in (
        (good + unknown + _add(3), "unknown_type", len(good), "z"),
        (good + bad_len + _add(3), "bad_length", len(good), "D"),
        (good + _add(3)[:20], "truncated", len(good), "A"),
    ):
        p = tmp_path / f"{kind}.itch"
        p.write_bytes(blob)
        with pytest.raises(itch.ItchError, match=f"byte offset {offset}") as ei:
            itch.parse_file(p, chunk_bytes=7)
        e = ei.value
        assert e.kind == kind and e.offset == offset and e.msg_type == typ and str(p) in str(e)
        assert e.partial is not None and list(e.partial.events["order_id"]) == [1, 2]
        r = itch.parse_file(p, on_error="skip", chunk_bytes=7)
        want = [1, 2] if kind == "truncated" else [1, 2, 3]
        assert list(r.events["order_id"]) == want
        key = {"unknown_type": "skipped_unknown", "bad_length": "skipped_bad_length"}.get(
            kind, "truncated_frames"
        )
        assert r.counters[key] == 1


def test_gzip_streams_corrupt_and_truncated(tmp_path: Path) -> None:
    body = b"".join(_add(i) for i in range(1, 2001))
    p = tmp_path / "x.itch.gz"
    p.write_bytes(gzip.compress(body[:30_000]) + gzip.compress(body[30_000:]))  # two members
    r = itch.parse_file(p, chunk_bytes=4096)
    assert list(r.events["order_id"]) == list(range(1, 2001))
    blob = gzip.compress(body)
    (tmp_path / "t.gz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(itch.ItchError, match="truncated gzip") as ei:
        itch.parse_file(tmp_path / "t.gz", chunk_bytes=4096)
    assert ei.value.partial is not None and len(ei.value.partial.events) > 0
    bad = bytearray(blob)
    bad[len(bad) // 2 : len(bad) // 2 + 64] = b"\xff" * 64
    (tmp_path / "c.gz").write_bytes(bytes(bad))
    with pytest.raises(itch.ItchError, match=r"corrupt gzip stream in compressed bytes \[") as ei:
        itch.parse_file(tmp_path / "c.gz", chunk_bytes=4096)
    partial = ei.value.partial
    assert partial is not None
    n = len(partial.events)
    assert n > 0 and list(partial.events["order_id"]) == list(range(1, n + 1))


def test_iter_batches_constant_batches_and_cumulative_counters(tmp_path: Path) -> None:
    p = tmp_path / "b.itch"
    p.write_bytes(b"".join(_add(i) for i in range(1, 10_001)))
    batches = list(itch.iter_batches(p, batch_size=1000, chunk_bytes=3000))
    assert sum(len(b.events) for b in batches) == 10_000
    assert max(len(b.events) for b in batches) < 1000 + 3000 // 38 + 1
    assert batches[-1].counters["messages"] == 10_000
    got = np.concatenate([b.events["order_id"] for b in batches])
    np.testing.assert_array_equal(got, np.arange(1, 10_001))


def test_writer_rejects_what_itch_cannot_carry() -> None:
    ev = np.zeros(2, dtype=MD_EVENT)
    ev["type"] = MdEventType.ADD
    ev["qty"] = [1, 2**33]
    with pytest.raises(ValueError, match="event 1: qty outside uint32"):
        itch.encode_events(ev, {0: "X"})
    ev["qty"] = 1
    ev["type"][1] = MdEventType.CLEAR
    with pytest.raises(ValueError, match="event 1: event type has no ITCH"):
        itch.encode_events(ev, {0: "X"})
