"""LOBSTER message and orderbook CSV readers (plain or .gz), vectorised with pyarrow and numpy.

Message file columns: time (s after midnight, up to ns decimals), type, order_id, size,
price x 10000, direction. Orderbook file: row i is the book after message i, L levels of
ask_px, ask_sz, bid_px, bid_sz; empty levels are +-9999999999 with size 0.

Bad input raises LobsterFormatError naming file, 1-based row and field. With errors="skip" bad rows
are dropped and counted per reason instead; `rows` keeps the source row of every kept row.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from numpy.typing import NDArray

from minihft.records import MD_EVENT, MdEventType, Side

ErrorMode = Literal["raise", "skip"]

EMPTY_ASK = 9_999_999_999
EMPTY_BID = -9_999_999_999
DEFAULT_TICK = 100  # one cent in LOBSTER's price x 10000 units

MESSAGE_FIELDS = ("time", "type", "order_id", "size", "price", "direction")

# LOBSTER type -> (MdEventType, flags). Type 6 is a cross (auction) trade: no book change, flagged.
CROSS_TRADE_FLAG = 1
_TYPE_MAP = {
    1: (MdEventType.ADD, 0),
    2: (MdEventType.CANCEL, 0),
    3: (MdEventType.DELETE, 0),
    4: (MdEventType.EXECUTE, 0),
    5: (MdEventType.HIDDEN_TRADE, 0),
    6: (MdEventType.HIDDEN_TRADE, CROSS_TRADE_FLAG),
    7: (MdEventType.TRADING_STATUS, 0),
}
# Type 7 carries its state in the price column: -1 halt, 0 quoting, 1 resume.
TRADING_STATUS_FLAGS = {-1: 1, 0: 2, 1: 3}

# LOBSTER writes some times with float noise past ns ("43002.632812672004" in AMZN level 5):
# digits beyond the 9th are dropped (truncation, so no time moves across a ns boundary upwards).
_TIME_RE = r"^[0-9]+(\.[0-9]{1,18})?$"
_INT_RE = r"^-?[0-9]+$"
_ARROW_ROW_RE = re.compile(r"column #(\d+): Row #(\d+): (.*)", re.S)


class LobsterFormatError(ValueError):
    def __init__(self, path: str | Path, row: int, field_name: str, message: str) -> None:
        self.path = str(path)
        self.row = row
        self.field = field_name
        super().__init__(f"{path}: row {row}, field {field_name}: {message}")


@dataclass(frozen=True)
class LobsterMessages:
    path: str
    events: NDArray[np.void]  # MD_EVENT
    rows: NDArray[np.int64]  # 1-based source row of each event
    lobster_type: NDArray[np.int8]
    skipped: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LobsterOrderbook:
    path: str
    depth: NDArray[np.int64]  # (n, L, 4): ask_px, ask_sz, bid_px, bid_sz as in the file
    rows: NDArray[np.int64]
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def levels(self) -> int:
        return int(self.depth.shape[1])

    def depth_zero_empty(self) -> NDArray[np.int64]:
        """The depth with LOBSTER's dummy levels as price 0, size 0 (the BookBuilder convention)."""
        d = self.depth.copy()
        empty = d[:, :, 1::2] == 0
        px = d[:, :, 0::2]
        px[empty] = 0
        d[:, :, 0::2] = px
        return d


def _read_bytes(path: Path, errors: ErrorMode, skipped: dict[str, int]) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise LobsterFormatError(path, 0, "file", f"cannot read: {e.strerror}") from e
    if not (path.suffix == ".gz" or raw[:2] == b"\x1f\x8b"):
        return raw
    out: list[bytes] = []
    rest = raw
    while rest:
        d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out.append(d.decompress(rest))
        except zlib.error as e:
            done = b"".join(out)
            raise LobsterFormatError(
                path, done.count(b"\n") + 1, "gzip", f"corrupt gzip data: {e}"
            ) from e
        if not d.eof:
            data = b"".join(out)
            complete = data.count(b"\n")
            if errors == "raise":
                raise LobsterFormatError(
                    path,
                    complete + 1,
                    "gzip",
                    f"truncated gzip stream: data ends inside row {complete + 1} "
                    f"after {len(data)} decompressed bytes",
                )
            skipped["truncated_gzip"] = skipped.get("truncated_gzip", 0) + 1
            return data[: data.rfind(b"\n") + 1]
        rest = d.unused_data
    return b"".join(out)


def _read_table(
    path: Path, names: list[str], types: dict[str, pa.DataType], errors: ErrorMode
) -> tuple[pa.Table, NDArray[np.int64], dict[str, int]]:
    """Reads the CSV; returns the table, the 1-based file row of each table row, skip counts."""
    skipped: dict[str, int] = {}
    data = _read_bytes(path, errors, skipped)
    bad_rows: list[tuple[int, int]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad_rows.append((int(row.number or 0), int(row.actual_columns)))
        return "skip"

    def read(column_types: dict[str, pa.DataType]) -> pa.Table:
        bad_rows.clear()
        return pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(column_types=column_types),
        )

    try:
        table = read(types)
    except pa.ArrowInvalid as e:
        m = _ARROW_ROW_RE.search(str(e))
        if errors == "raise" or m is None:
            row, name, msg = (
                (int(m.group(2)), names[int(m.group(1))], m.group(3)) if m else (0, "?", str(e))
            )
            raise LobsterFormatError(path, row, name, msg.strip()) from e
        table = _coerce_skipping(read({n: pa.string() for n in names}), types, skipped)
    if bad_rows:
        first_row, got = bad_rows[0]
        if errors == "raise":
            raise LobsterFormatError(
                path, first_row, "row", f"expected {len(names)} columns, got {got}"
            )
        skipped["wrong_column_count"] = skipped.get("wrong_column_count", 0) + len(bad_rows)
    total = table.num_rows + len(bad_rows)
    rows: NDArray[np.int64] = np.arange(1, total + 1, dtype=np.int64)
    if bad_rows:
        rows = np.setdiff1d(rows, np.array([r for r, _ in bad_rows], dtype=np.int64)).astype(
            np.int64
        )
    if "_keep" in table.column_names:
        keep = table.column("_keep").to_numpy(zero_copy_only=False).astype(bool)
        rows = rows[keep]
        table = table.filter(pa.array(keep)).drop_columns(["_keep"])
    return table, rows, skipped


def _coerce_skipping(
    table: pa.Table, types: dict[str, pa.DataType], skipped: dict[str, int]
) -> pa.Table:
    """All-string table -> typed table plus a `_keep` column; rows that fail are counted."""
    keep = np.ones(table.num_rows, dtype=bool)
    for name, typ in types.items():
        if typ != pa.int64():
            continue
        ok = pc.fill_null(pc.match_substring_regex(table.column(name), _INT_RE), False)
        ok_np = ok.to_numpy(zero_copy_only=False).astype(bool)
        bad = int((~ok_np & keep).sum())
        if bad:
            skipped[f"not_an_integer:{name}"] = skipped.get(f"not_an_integer:{name}", 0) + bad
        keep &= ok_np
    cols = []
    mask = pa.array(keep)
    for name in table.column_names:
        col = table.column(name)
        safe = pc.if_else(mask, col, pa.scalar("0"))
        cols.append(safe.cast(types[name]) if types[name] != pa.string() else safe)
    return pa.Table.from_arrays([*cols, mask], names=[*table.column_names, "_keep"])


def _apply_checks(
    path: Path,
    rows: NDArray[np.int64],
    checks: list[tuple[NDArray[np.bool_], str, str]],
    errors: ErrorMode,
    skipped: dict[str, int],
) -> NDArray[np.bool_]:
    """checks: (bad-row mask, field, reason). Raises on the earliest bad row, else keep mask."""
    keep = np.ones(len(rows), dtype=bool)
    first: tuple[int, str, str] | None = None
    for bad, name, reason in checks:
        idx = np.flatnonzero(bad)
        if idx.size == 0:
            continue
        if first is None or idx[0] < first[0]:
            first = (int(idx[0]), name, reason)
        n_new = int((bad & keep).sum())
        if n_new:
            skipped[f"{reason}:{name}"] = skipped.get(f"{reason}:{name}", 0) + n_new
        keep &= ~bad
    if first is not None and errors == "raise":
        i, name, reason = first
        raise LobsterFormatError(path, int(rows[i]), name, reason.replace("_", " "))
    return keep


def read_messages(
    path: str | Path, *, symbol_id: int = 0, tick: int = DEFAULT_TICK, errors: ErrorMode = "raise"
) -> LobsterMessages:
    p = Path(path)
    types: dict[str, pa.DataType] = {n: pa.int64() for n in MESSAGE_FIELDS}
    types["time"] = pa.string()
    table, rows, skipped = _read_table(p, list(MESSAGE_FIELDS), types, errors)
    time = table.column("time")
    time_ok = pc.fill_null(pc.match_substring_regex(time, _TIME_RE), False)
    col = {n: table.column(n).fill_null(-(2**62)).to_numpy() for n in MESSAGE_FIELDS[1:]}
    nulls = np.zeros(table.num_rows, dtype=bool)
    for n in MESSAGE_FIELDS[1:]:
        nulls |= table.column(n).is_null().to_numpy(zero_copy_only=False)
    typ, size, price, direction = col["type"], col["size"], col["price"], col["direction"]
    visible = (typ >= 1) & (typ <= 4)
    checks = [
        (nulls, "row", "empty_field"),
        (~time_ok.to_numpy(zero_copy_only=False).astype(bool), "time", "not_a_decimal_time"),
        (~np.isin(typ, list(_TYPE_MAP)) & ~nulls, "type", "unknown_type"),
        ((col["order_id"] < 0) & ~nulls, "order_id", "negative_order_id"),
        ((size < 0) & ~nulls, "size", "negative_size"),
        (visible & (size == 0), "size", "zero_size"),
        (visible & ((price <= 0) | (price % tick != 0)), "price", "off_tick_grid"),
        (~np.isin(direction, [1, -1]) & ~nulls, "direction", "not_1_or_minus_1"),
    ]
    keep = _apply_checks(p, rows, checks, errors, skipped)

    valid_time = pc.if_else(time_ok, time, pa.scalar("0"))
    secs = pc.replace_substring_regex(valid_time, r"\..*$", "").cast(pa.int64()).to_numpy()
    frac_digits = pc.replace_substring_regex(valid_time, r"^[0-9]+\.?", "")
    frac = pc.utf8_rpad(pc.utf8_slice_codeunits(frac_digits, 0, 9), 9, "0")
    ns = secs * 1_000_000_000 + frac.cast(pa.int64()).to_numpy()

    ev = np.zeros(int(keep.sum()), dtype=MD_EVENT)
    t = typ[keep]
    ev["ts_event"] = ns[keep]
    ev["ts_recv"] = ns[keep]
    ev["order_id"] = col["order_id"][keep].astype(np.uint64)
    ev["price"] = price[keep]
    ev["qty"] = size[keep]
    ev["symbol_id"] = symbol_id
    lut_type = np.zeros(8, dtype=np.uint8)
    lut_flags = np.zeros(8, dtype=np.uint8)
    for k, (mt, fl) in _TYPE_MAP.items():
        lut_type[k], lut_flags[k] = int(mt), fl
    ev["type"] = lut_type[t]
    flags = lut_flags[t]
    status = t == 7
    px = price[keep]
    for code, fl in TRADING_STATUS_FLAGS.items():
        flags[status & (px == code)] = fl
    ev["flags"] = flags
    ev["side"] = np.where(direction[keep] == 1, int(Side.BUY), int(Side.SELL)).astype(np.uint8)
    return LobsterMessages(str(p), ev, rows[keep], t.astype(np.int8), skipped)


def read_orderbook(
    path: str | Path,
    *,
    levels: int | None = None,
    tick: int = DEFAULT_TICK,
    errors: ErrorMode = "raise",
) -> LobsterOrderbook:
    p = Path(path)
    if levels is None:
        levels = _levels_from_first_row(p)
    names = [f"{c}{i + 1}" for i in range(levels) for c in ("ask_px", "ask_sz", "bid_px", "bid_sz")]
    table, rows, skipped = _read_table(p, names, dict.fromkeys(names, pa.int64()), errors)
    nulls = np.zeros(table.num_rows, dtype=bool)
    for n in names:
        nulls |= table.column(n).is_null().to_numpy(zero_copy_only=False)
    flat = (
        np.column_stack([table.column(n).fill_null(0).to_numpy() for n in names]).astype(np.int64)
        if table.num_rows
        else np.zeros((0, 4 * levels), dtype=np.int64)
    )
    d = flat.reshape(-1, levels, 4)
    ask_px, ask_sz, bid_px, bid_sz = d[:, :, 0], d[:, :, 1], d[:, :, 2], d[:, :, 3]

    def row_any(bad: NDArray[np.bool_], axis: int) -> NDArray[np.bool_]:
        return np.asarray(bad.any(axis=axis), dtype=bool)

    checks = [
        (nulls, "row", "empty_field"),
        (row_any((ask_sz < 0) | (bid_sz < 0), axis=1), "size", "negative_size"),
        (
            row_any(((ask_px % tick != 0) | (ask_px <= 0)) & (ask_px != EMPTY_ASK), axis=1),
            "ask_px",
            "off_tick_grid",
        ),
        (
            row_any(((bid_px % tick != 0) | (bid_px <= 0)) & (bid_px != EMPTY_BID), axis=1),
            "bid_px",
            "off_tick_grid",
        ),
    ]
    keep = _apply_checks(p, rows, checks, errors, skipped)
    return LobsterOrderbook(str(p), d[keep], rows[keep], skipped)


def _levels_from_first_row(path: Path) -> int:
    data = _read_bytes(path, "skip", {})
    first = data.split(b"\n", 1)[0].strip()
    cols = first.count(b",") + 1 if first else 0
    if cols == 0 or cols % 4 != 0:
        raise LobsterFormatError(path, 1, "row", f"{cols} columns: not a multiple of 4")
    return cols // 4
