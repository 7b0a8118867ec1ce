"""LOBSTER ground truth: replaying the message file must rebuild the orderbook file.

Data: $MINIHFT_SHARED_DATA/lobster (default <repo>/../shared/data); missing data FAILS.
See docs/lobster-check.md for what the two modes can and cannot reach, and why.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from minihft.marketdata.lobster import (
    LobsterMessages,
    LobsterOrderbook,
    read_messages,
    read_orderbook,
)
from minihft.paths import lobster_dir
from minihft.records import MdEventType
from minihft.verify.lobster import compare

pytestmark = pytest.mark.regression

PAIRS = [
    "GOOG_2012-06-21_34200000_57600000_{}_10.csv.gz",
    "GOOG_2012-06-21_34200000_57600000_{}_5.csv.gz",
    "AMZN_2012-06-21_34200000_57600000_{}_5.csv.gz",
]


def data_dir() -> Path:
    return lobster_dir()


@cache
def load(pattern: str) -> tuple[LobsterMessages, LobsterOrderbook]:
    d = data_dir()
    m, o = d / pattern.format("message"), d / pattern.format("orderbook")
    if not (m.exists() and o.exists()):
        pytest.fail(f"LOBSTER sample missing: {m} / {o} (set MINIHFT_SHARED_DATA)")
    return read_messages(m), read_orderbook(o)


@pytest.mark.parametrize("pattern", PAIRS)
def test_reconciled_replay_is_exact_at_every_level(pattern: str) -> None:
    r = compare(*load(pattern), reconcile=True)
    assert r["level1_match_rate"] == 1.0
    assert r["top_levels_match_rate"] == 1.0
    assert r["all_levels_match_rate"] == 1.0
    assert r["first_mismatch"] is None
    # Starting each row from the exact previous book, a single event never gets levels 1..L-1
    # wrong: only depth from beyond the window (level L) needs the file.
    assert r["event_step_match"]["level1"] == 1.0
    assert r["event_step_match"]["top_levels"] == 1.0
    assert r["unmatched_unknown_events"] == 0
    assert 0 < r["reconciled_rows"] < 0.1 * r["rows"]


@pytest.mark.parametrize("pattern", PAIRS)
def test_plain_replay_is_exact_until_the_file_hides_depth(pattern: str) -> None:
    msgs, book = load(pattern)
    plain = compare(msgs, book, reconcile=False)
    rec = compare(msgs, book, reconcile=True)
    first = plain["first_mismatch"]
    assert first is not None
    # Every row before the first revealed-depth row matches exactly at every level ...
    assert first["row"] == rec["first_reconciled_row"]
    # ... and the first difference is at the deepest level, where the hidden depth shows.
    assert first["first_level"] == plain["levels"]
    assert plain["unknown_order_events"] > 0


def neutralised(msgs: LobsterMessages, i: int) -> LobsterMessages:
    ev = msgs.events.copy()
    ev[i]["type"] = int(MdEventType.HIDDEN_TRADE)  # the book never sees message i
    return LobsterMessages(msgs.path, ev, msgs.rows, msgs.lobster_type, msgs.skipped)


@pytest.mark.parametrize("pattern", PAIRS[:1])
def test_dropped_message_is_detected_at_its_row(pattern: str) -> None:
    msgs, book = load(pattern)
    depth = book.depth_zero_empty()
    changes_top = np.flatnonzero((depth[1:, 0] != depth[:-1, 0]).any(axis=1)) + 1
    adds = np.flatnonzero(msgs.lobster_type == 1)
    i = int(np.intersect1d(changes_top, adds)[1000])
    r: dict[str, Any] = compare(neutralised(msgs, i), book, reconcile=True)
    assert r["first_mismatch"]["row"] == i + 1
    assert r["first_mismatch"]["first_level"] == 1
    assert r["level1_match_rate"] < 1.0
