"""The md.book stream lob_engine must publish, computed in process with BookBuilder.

lob_engine sends one BookUpdate per applied event that changes the book (not hidden trades or
trading-status events) and changes the top `depth` levels; `seq` is the event's index in its
symbol's md.events stream. Tests and benchmarks compare the Kafka pipeline against this.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from minihft.book import BookBuilder
from minihft.records import MdEventType


def expected_book_updates(events: npt.NDArray[Any], depth: int = 10) -> dict[str, Any]:
    """For one symbol's events: seq, ts_event, ts_recv, depth ((n, depth, 4) as
    [ask_px, ask_qty, bid_px, bid_qty]) of every update, and the final book."""
    status, d = BookBuilder().apply_with_depth(events, depth)
    changes = ~np.isin(
        events["type"], [int(MdEventType.HIDDEN_TRADE), int(MdEventType.TRADING_STATUS)]
    )
    cand = np.flatnonzero((status == 0) & changes)
    cd = d[cand]
    # A candidate equal to the previous candidate equals the last *sent* book too (the previous
    # was either sent or equal to the one sent before it), so one vectorised compare suffices.
    prev = np.concatenate([np.zeros((1, *cd.shape[1:]), cd.dtype), cd[:-1]])
    keep = cand[(cd != prev).reshape(len(cand), -1).any(axis=1)]
    return {
        "seq": keep.astype(np.uint64),
        "ts_event": events["ts_event"][keep],
        "ts_recv": events["ts_recv"][keep],
        "depth": d[keep],
        "final": d[-1] if len(d) else np.zeros((depth, 4), np.int64),
    }
