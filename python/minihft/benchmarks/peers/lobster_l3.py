"""LOBSTER events -> an explicit per-order L3 stream both peers can replay without unknown ids.

A LOBSTER file starts mid-book: orders resting before it are only visible as orderbook row 1.
minihft seeds one synthetic aggregate per level (older than anything in the file) and takes
reducing events on never-seen ids out of it; peers need every id to exist, so this converter does
the same bookkeeping up front and emits the aggregates as explicit orders with ids above
SYNTH_BASE. Reductions on unknown ids at a price with no aggregate (depth deeper than the file's
window at the start) are dropped and counted; minihft instead learns that depth from the
orderbook rows (truth), which this converter does not replay.

Output rows, one per peer action, in event order (`src` = index of the LOBSTER event):
  op 0 add (id, side, price, qty), 1 reduce to `qty` left (keeps priority), 2 delete,
  3 execute `qty` of id (the book change follows as a separate reduce/delete row).
Hidden executions (type 5/6) and status messages carry no visible book change and are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from minihft.records import MdEventType, Side

SYNTH_BASE = 1 << 60

L3_ROW = np.dtype(
    [
        ("ts", "<i8"),
        ("id", "<u8"),
        ("price", "<i8"),
        ("qty", "<i8"),
        ("src", "<i8"),
        ("op", "u1"),
        ("side", "u1"),
    ]
)
OP_ADD, OP_REDUCE, OP_DELETE, OP_EXEC = 0, 1, 2, 3


@dataclass
class L3Stream:
    rows: npt.NDArray[np.void]
    unknown_dropped: int = 0  # reducing qty on ids/prices we cannot place
    counts: dict[str, int] = field(default_factory=dict)


def pre_file_book(
    first_row: npt.NDArray[np.int64], first_event: np.void
) -> list[tuple[int, int, int]]:
    """(side, price, qty) of each level of the book before message 1: row 1 with it undone."""
    levels: dict[tuple[int, int], int] = {}
    for ask_px, ask_qty, bid_px, bid_qty in first_row.tolist():
        if ask_qty > 0 and abs(ask_px) != 9_999_999_999:
            levels[(int(Side.SELL), ask_px)] = ask_qty
        if bid_qty > 0 and abs(bid_px) != 9_999_999_999:
            levels[(int(Side.BUY), bid_px)] = bid_qty
    key = (int(first_event["side"]), int(first_event["price"]))
    t, q = int(first_event["type"]), int(first_event["qty"])
    if t == MdEventType.ADD:
        levels[key] = levels.get(key, 0) - q
    elif t in (MdEventType.CANCEL, MdEventType.DELETE, MdEventType.EXECUTE):
        levels[key] = levels.get(key, 0) + q
    return [(s, p, q) for (s, p), q in sorted(levels.items()) if q > 0]


def convert(events: npt.NDArray[np.void], first_row: npt.NDArray[np.int64]) -> L3Stream:
    """Conversion is set-up, not timed: a plain loop is fine here."""
    out: list[tuple[int, int, int, int, int, int, int]] = []
    t0 = int(events["ts_event"][0]) if len(events) else 0
    agg: dict[tuple[int, int], list[int]] = {}  # (side, price) -> [id, qty]
    live: dict[int, list[int]] = {}  # id -> [side, price, qty]
    next_synth = SYNTH_BASE
    for side, price, qty in pre_file_book(first_row, events[0]):
        agg[(side, price)] = [next_synth, qty]
        # One ns before the file: the peers can tell seeding from the first real event.
        out.append((t0 - 1, next_synth, price, qty, -1, OP_ADD, side))
        next_synth += 1
    dropped = 0
    add, cancel, delete, execute = (
        int(MdEventType.ADD),
        int(MdEventType.CANCEL),
        int(MdEventType.DELETE),
        int(MdEventType.EXECUTE),
    )
    ts_a = events["ts_event"].tolist()
    id_a = events["order_id"].tolist()
    px_a = events["price"].tolist()
    q_a = events["qty"].tolist()
    ty_a = events["type"].tolist()
    sd_a = events["side"].tolist()
    for i in range(len(events)):
        ts, oid, px, q, ty, sd = ts_a[i], id_a[i], px_a[i], q_a[i], ty_a[i], sd_a[i]
        if ty == add:
            live[oid] = [sd, px, q]
            out.append((ts, oid, px, q, i, OP_ADD, sd))
            continue
        if ty not in (cancel, delete, execute):
            continue
        o = live.get(oid)
        if o is not None:
            take = o[2] if ty == delete else min(q, o[2])
            if ty == execute:
                out.append((ts, oid, o[1], take, i, OP_EXEC, o[0]))
            o[2] -= take
            if o[2] <= 0:
                del live[oid]
                out.append((ts, oid, o[1], 0, i, OP_DELETE, o[0]))
            else:
                out.append((ts, oid, o[1], o[2], i, OP_REDUCE, o[0]))
            continue
        a = agg.get((sd, px))
        if a is None:
            dropped += q
            continue
        take = min(q, a[1])
        dropped += q - take
        a[1] -= take
        if a[1] <= 0:
            del agg[(sd, px)]
            out.append((ts, a[0], px, 0, i, OP_DELETE, sd))
        else:
            out.append((ts, a[0], px, a[1], i, OP_REDUCE, sd))
    rows = np.array(out, dtype=L3_ROW) if out else np.zeros(0, dtype=L3_ROW)
    counts = {
        name: int((rows["op"] == op).sum())
        for name, op in (
            ("add", OP_ADD),
            ("reduce", OP_REDUCE),
            ("delete", OP_DELETE),
            ("exec", OP_EXEC),
        )
    }
    return L3Stream(rows, dropped, counts)
