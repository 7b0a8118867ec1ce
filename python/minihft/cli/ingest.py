"""`minihft ingest FILE --format itch|lobster --out OUT.parquet`: normalised MdEvents to Parquet.

Streams: ITCH is decoded in batches by the native parser, LOBSTER message files are read in
blocks of rows, and each batch becomes one Parquet row group, so memory stays bounded on any
file size. Columns are the MD_EVENT fields (minihft.records); LOBSTER adds `source_row`, the
1-based row of the CSV. For ITCH the symbol table (the stock directory, R messages) goes to
`OUT.symbols.parquet`. Schema metadata names the format, the source and whether the source is a
SYNTHETIC day. Bad input raises with the file and byte offset (ITCH) or row and field (LOBSTER);
nothing is left at OUT then (it is written as OUT.part and renamed at the end).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from minihft.marketdata import itch
from minihft.marketdata.itch_records import STOCK_DIRECTORY
from minihft.records import MD_EVENT

BATCH_EVENTS = 1_000_000
ITCH_CHUNK_BYTES = itch.CHUNK_BYTES
LOBSTER_BLOCK_BYTES = 32 << 20


def _arrow_type(dt: np.dtype[Any]) -> pa.DataType:
    if dt.kind == "S":
        return pa.string()
    return pa.from_numpy_dtype(dt)


def _columns(arr: NDArray[np.void]) -> dict[str, pa.Array]:
    assert arr.dtype.names is not None
    out: dict[str, pa.Array] = {}
    for name in arr.dtype.names:
        col = np.ascontiguousarray(arr[name])
        if col.dtype.kind == "S":
            out[name] = pa.array([v.decode("latin-1").rstrip() for v in col], pa.string())
        elif col.ndim > 1:  # fixed char arrays (e.g. issue_subtype) as strings
            flat = col.reshape(len(col), -1).view(f"S{col.shape[1]}").ravel()
            out[name] = pa.array([v.decode("latin-1") for v in flat], pa.string())
        else:
            out[name] = pa.array(col)
    return out


def event_schema(extra: dict[str, pa.DataType], meta: dict[str, str]) -> pa.Schema:
    assert MD_EVENT.names is not None
    fields = [pa.field(n, _arrow_type(MD_EVENT[n])) for n in MD_EVENT.names]
    fields += [pa.field(n, t) for n, t in extra.items()]
    return pa.schema(fields, metadata={k.encode(): v.encode() for k, v in meta.items()})


def _is_synthetic(path: Path) -> bool:
    return "synthetic" in path.name.lower()


def _itch_batches(path: Path, sd_parts: list[NDArray[np.void]]) -> Iterator[dict[str, pa.Array]]:
    for res in itch.iter_batches(path, batch_size=BATCH_EVENTS, chunk_bytes=ITCH_CHUNK_BYTES):
        sd = res.reference["stock_directory"]
        if len(sd):
            sd_parts.append(sd)  # at most one R per locate: bounded by 65535 rows
        if len(res.events):
            yield _columns(res.events)


def _lobster_blocks(f: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """Blocks of whole lines, about LOBSTER_BLOCK_BYTES each, with their first row (0-based)."""
    row = 0
    while lines := f.readlines(LOBSTER_BLOCK_BYTES):
        yield row, b"".join(lines)
        row += len(lines)


def _lobster_batches(path: Path, tick: int) -> Iterator[dict[str, pa.Array]]:
    from minihft.marketdata.lobster import LobsterFormatError, read_messages

    with open(path, "rb") as head:
        gz = head.read(2) == b"\x1f\x8b"
    opener = gzip.open if gz else open
    with tempfile.TemporaryDirectory() as tmp, opener(path, "rb") as f:
        part = Path(tmp) / "block.csv"
        try:
            for first, block in _lobster_blocks(f):  # type: ignore[arg-type]
                part.write_bytes(block)
                try:
                    msgs = read_messages(part, tick=tick)
                except LobsterFormatError as e:
                    detail = str(e).split(f"field {e.field}: ", 1)[-1]
                    row = e.row + first if e.row > 0 else first + 1
                    raise LobsterFormatError(path, row, e.field, detail) from None
                cols = _columns(msgs.events)
                cols["source_row"] = pa.array(msgs.rows + first)
                yield cols
        except (OSError, EOFError) as e:  # gzip corruption / truncation while streaming
            raise LobsterFormatError(path, 0, "gzip", str(e)) from e


def ingest(path: str | Path, fmt: str, out: str | Path, tick: int = 100) -> dict[str, Any]:
    """Writes OUT (and OUT.symbols.parquet for ITCH); returns counts."""
    src, dst = Path(path), Path(out)
    meta = {
        "minihft.format": fmt,
        "minihft.source": str(src),
        "synthetic": json.dumps(_is_synthetic(src)),
    }
    extra = {"source_row": pa.int64()} if fmt == "lobster" else {}
    schema = event_schema(extra, meta)
    sd_parts: list[NDArray[np.void]] = []
    batches = _lobster_batches(src, tick) if fmt == "lobster" else _itch_batches(src, sd_parts)
    tmp = dst.with_name(dst.name + ".part")
    dst.parent.mkdir(parents=True, exist_ok=True)
    rows = groups = 0
    try:
        with pq.ParquetWriter(tmp, schema) as w:
            for cols in batches:
                w.write_table(pa.table(cols, schema=schema))
                rows += len(next(iter(cols.values())))
                groups += 1
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(dst)
    result: dict[str, Any] = {"out": str(dst), "rows": rows, "row_groups": groups}
    result["synthetic"] = _is_synthetic(src)
    if fmt == "itch":
        sd = np.concatenate(sd_parts) if sd_parts else np.zeros(0, STOCK_DIRECTORY)
        sym_path = symbols_path(dst)
        table = (
            pa.table(_columns(sd)) if len(sd) else pa.table({"locate": pa.array([], pa.uint16())})
        )
        pq.write_table(table.replace_schema_metadata(meta), sym_path)
        result["symbols_out"] = str(sym_path)
        result["symbols"] = len(sd)
    return result


def symbols_path(out: Path) -> Path:
    stem = out.name[: -len(".parquet")] if out.name.endswith(".parquet") else out.name
    return out.with_name(stem + ".symbols.parquet")


def _main(args: argparse.Namespace) -> int:
    try:
        res = ingest(args.file, args.format, args.out, args.tick)
    except (ValueError, OSError) as e:
        print(f"ingest: {e}", file=sys.stderr)
        return 1
    print(json.dumps(res))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ingest", help="ITCH or LOBSTER file -> Parquet of normalised MdEvents")
    p.add_argument("file")
    p.add_argument("--format", choices=("itch", "lobster"), required=True)
    p.add_argument("--out", required=True, help="output .parquet path")
    p.add_argument("--tick", type=int, default=100, help="LOBSTER price grid (price x 10000)")
    p.set_defaults(handler=_main)
