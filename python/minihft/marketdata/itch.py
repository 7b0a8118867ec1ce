"""NASDAQ TotalView-ITCH 5.0 files (raw or .gz) <-> MD_EVENT batches and reference tables.

Decoding runs in C++ (`minihft._feed`); Python only reads chunks (gzip through zlib) and hands
them over, so memory stays bounded by the chunk and batch sizes. See itch_records.py for the
reference dtypes and how ITCH fields map onto MD_EVENT.

Bad input: on_error="stop" raises ItchError naming the file, byte offset, message type and fault,
with everything decoded before the fault in `ItchError.partial`; on_error="skip" skips the frame by
its length prefix and counts it (counters: skipped_unknown, skipped_bad_length, truncated_*). A
corrupt or truncated gzip stream cannot be resynchronised and raises in both modes.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

import numpy as np
from numpy.typing import NDArray

from minihft import _feed
from minihft.marketdata.itch_records import REFERENCE_TABLES, STOCK_DIRECTORY, SYSTEM_EVENT
from minihft.records import MD_EVENT

OnError = Literal["stop", "skip"]
CHUNK_BYTES = 1 << 22
GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class ParseResult:
    events: NDArray[np.void]  # MD_EVENT
    reference: dict[str, NDArray[np.void]]  # table name -> records, see REFERENCE_TABLES
    counters: dict[str, Any] = field(default_factory=dict)

    def symbols(self) -> dict[int, str]:
        """The symbol table: stock locate -> ticker, from the stock directory (R)."""
        sd = self.reference["stock_directory"]
        return {
            int(loc): s.decode().rstrip() for loc, s in zip(sd["locate"], sd["stock"], strict=True)
        }


class ItchError(ValueError):
    def __init__(
        self,
        path: str,
        message: str,
        *,
        offset: int | None = None,
        msg_type: str = "",
        kind: str = "",
        partial: ParseResult | None = None,
    ) -> None:
        self.path = path
        self.offset = offset
        self.msg_type = msg_type
        self.kind = kind
        self.partial = partial
        super().__init__(f"{path}: {message}")


def _empty_reference() -> dict[str, list[NDArray[np.void]]]:
    return {name: [] for name in REFERENCE_TABLES}


class _Collector:
    """Takes the parser's output after each chunk and assembles typed arrays on demand."""

    def __init__(self) -> None:
        self.events: list[NDArray[np.void]] = []
        self.reference = _empty_reference()
        self.n_events = 0

    def take(self, parser: _feed.Parser) -> None:
        out = parser.take()
        ev = out["events"].view(MD_EVENT)
        if len(ev):
            self.events.append(ev)
            self.n_events += len(ev)
        for name, (_, dt) in REFERENCE_TABLES.items():
            raw = out[name]
            if len(raw):
                self.reference[name].append(raw.view(dt))

    def result(self, parser: _feed.Parser) -> ParseResult:
        events = np.concatenate(self.events) if self.events else np.zeros(0, MD_EVENT)
        ref = {
            name: np.concatenate(parts) if parts else np.zeros(0, REFERENCE_TABLES[name][1])
            for name, parts in self.reference.items()
        }
        self.events, self.reference, self.n_events = [], _empty_reference(), 0
        return ParseResult(events, ref, parser.counters())


def _fault_error(path: str, fault: object, partial: ParseResult) -> ItchError:
    f = cast(dict[str, Any], fault)
    t = f"type {f['type']!r}" if f["type"] else "type unknown (frame cut before its type byte)"
    detail = f"{t}, length prefix {f['length']}"
    if f["expected"]:
        detail += f", spec length {f['expected']}"
    return ItchError(
        path,
        f"{f['message']} at byte offset {f['offset']} ({detail})",
        offset=int(f["offset"]),
        msg_type=str(f["type"]),
        kind=str(f["kind"]),
        partial=partial,
    )


def _gunzip(path: str, f: BinaryIO, chunk_bytes: int) -> Iterator[bytes]:
    """Decompressed chunks of at most chunk_bytes; multi-member gzip is one stream."""
    d = zlib.decompressobj(wbits=31)
    fed = False  # the current member has received input: ending now means truncation
    read = 0
    while raw := f.read(chunk_bytes):
        data = raw
        while data:
            fed = True
            try:
                out = d.decompress(data, chunk_bytes)
            except zlib.error as e:
                raise ItchError(
                    path,
                    f"corrupt gzip stream in compressed bytes [{read}, {read + len(raw)}): {e}",
                ) from e
            if out:
                yield out
            if d.eof:
                data = d.unused_data
                d = zlib.decompressobj(wbits=31)
                fed = False
            else:
                data = d.unconsumed_tail
        read += len(raw)
    while not d.eof and fed and (out := d.decompress(b"", chunk_bytes)):
        yield out
    if fed and not d.eof:
        raise ItchError(path, f"truncated gzip stream: ends inside a member after {read} bytes")


def _chunks(path: str, chunk_bytes: int) -> Iterator[bytes]:
    with open(path, "rb") as f:
        gz = f.read(2) == GZIP_MAGIC
        f.seek(0)
        if gz:
            yield from _gunzip(path, f, chunk_bytes)
        else:
            while chunk := f.read(chunk_bytes):
                yield chunk


def iter_batches(
    path: str | Path,
    batch_size: int = 1_000_000,
    on_error: OnError = "stop",
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[ParseResult]:
    """Yields ParseResults of about batch_size events (cut at chunk edges) with the reference
    records decoded in the same stretch. Counters are cumulative over the file."""
    p = str(path)
    parser = _feed.Parser(on_error)
    col = _Collector()
    try:
        for chunk in _chunks(p, chunk_bytes):
            fault = parser.feed(np.frombuffer(chunk, dtype=np.uint8))
            col.take(parser)
            if fault is not None:
                raise _fault_error(p, fault, col.result(parser))
            if col.n_events >= batch_size:
                yield col.result(parser)
    except ItchError as e:
        if e.partial is None:
            col.take(parser)
            e.partial = col.result(parser)
        raise
    fault = parser.finish()
    if fault is not None:
        raise _fault_error(p, fault, col.result(parser))
    yield col.result(parser)


def parse_file(
    path: str | Path, on_error: OnError = "stop", chunk_bytes: int = CHUNK_BYTES
) -> ParseResult:
    """The whole file as one ParseResult (events, reference tables, counters)."""
    parts = list(iter_batches(path, batch_size=1 << 62, on_error=on_error, chunk_bytes=chunk_bytes))
    return _concat(parts)


def parse_bytes(data: bytes, on_error: OnError = "stop", name: str = "<bytes>") -> ParseResult:
    parser = _feed.Parser(on_error)
    col = _Collector()
    fault = parser.feed(np.frombuffer(data, dtype=np.uint8))
    if fault is None:
        fault = parser.finish()
    col.take(parser)
    if fault is not None:
        raise _fault_error(name, fault, col.result(parser))
    return col.result(parser)


def _concat(parts: list[ParseResult]) -> ParseResult:
    if len(parts) == 1:
        return parts[0]
    events = np.concatenate([p.events for p in parts])
    ref = {name: np.concatenate([p.reference[name] for p in parts]) for name in REFERENCE_TABLES}
    return ParseResult(events, ref, parts[-1].counters)


# ---- Writing -----------------------------------------------------------------------------------


def stock_directory(symbols: Mapping[int, str], ts: int = 0) -> NDArray[np.void]:
    """R records for locate -> ticker, with the attributes of a plain NASDAQ common stock."""
    sd = np.zeros(len(symbols), dtype=STOCK_DIRECTORY)
    locs = sorted(symbols)
    sd["ts"] = ts
    sd["locate"] = locs
    sd["stock"] = [symbols[k].ljust(8).encode() for k in locs]
    for name, value in (
        ("market_category", b"Q"),
        ("financial_status", b"N"),
        ("round_lots_only", b"N"),
        ("issue_classification", b"C"),
        ("issue_subtype", b"Z "),
        ("authenticity", b"P"),
        ("short_sale_threshold", b"N"),
        ("ipo_flag", b"N"),
        ("luld_tier", b"1"),
        ("etp_flag", b"N"),
        ("inverse", b"N"),
    ):
        sd[name] = value
    sd["round_lot_size"] = 100
    return sd


def encode_reference(reference: Mapping[str, NDArray[np.void]]) -> bytes:
    """Every reference record back to ITCH frames, in stream order (by seq)."""
    frames: list[tuple[int, bytes]] = []
    for name, arr in reference.items():
        if not len(arr):
            continue
        _, dt = REFERENCE_TABLES[name]
        arr = np.ascontiguousarray(arr, dtype=dt)
        blob = _feed.encode_reference(name, arr.view(np.uint8))
        size = 2 + _feed.message_length(REFERENCE_TABLES[name][0])
        frames += [(int(s), blob[i * size : (i + 1) * size]) for i, s in enumerate(arr["seq"])]
    frames.sort(key=lambda f: f[0])
    return b"".join(f[1] for f in frames)


def encode_events(
    events: NDArray[np.void], symbols: Mapping[int, str], next_match: int = 0
) -> tuple[bytes, int]:
    """MD_EVENT records as ITCH frames; returns (bytes, last match number used)."""
    ev = np.ascontiguousarray(events, dtype=MD_EVENT)
    table = [""] * (max(symbols, default=-1) + 1)
    for loc, s in symbols.items():
        table[loc] = s
    try:
        return _feed.encode_events(ev.view(np.uint8), table, next_match)
    except ValueError as e:
        raise ValueError(f"cannot write ITCH: {e}") from e


def write_itch(
    events: NDArray[np.void],
    symbols: Mapping[int, str],
    path: str | Path,
    batch: int = 1 << 20,
) -> int:
    """S start-of-messages, one R per symbol, the events (A/F/E/C/X/D/U/P/Q/B/H), S end.
    `.gz` paths are gzip-compressed. Returns the number of ITCH messages written."""
    ev = np.ascontiguousarray(events, dtype=MD_EVENT)
    t0 = int(ev["ts_event"].min()) if len(ev) else 0
    t1 = int(ev["ts_event"].max()) if len(ev) else 0
    sys_ev = np.zeros(2, dtype=SYSTEM_EVENT)
    sys_ev["ts"] = [t0, t1]
    sys_ev["event_code"] = [b"O", b"C"]
    start = _feed.encode_reference("system_events", sys_ev[:1].view(np.uint8))
    end = _feed.encode_reference("system_events", sys_ev[1:].view(np.uint8))
    sd = stock_directory(symbols, ts=t0)
    head = start + _feed.encode_reference("stock_directory", sd.view(np.uint8))
    p = str(path)
    comp = zlib.compressobj(6, zlib.DEFLATED, 31) if p.endswith(".gz") else None
    match = 0
    with open(p, "wb") as f:

        def put(b: bytes) -> None:
            f.write(comp.compress(b) if comp is not None else b)

        put(head)
        for i in range(0, len(ev), batch):
            blob, match = encode_events(ev[i : i + batch], symbols, match)
            put(blob)
        put(end)
        if comp is not None:
            f.write(comp.flush())
    return 2 + len(sd) + len(ev)
