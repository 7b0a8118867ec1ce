"""`minihft ingest`: ITCH and LOBSTER to Parquet in row-group batches, errors with positions."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from minihft.cli import ingest as ingest_mod
from minihft.cli import main
from minihft.marketdata import itch, synthetic
from minihft.marketdata.lobster import LobsterFormatError, read_messages
from minihft.records import MD_EVENT

LOBSTER = synthetic.LOBSTER_DIR / "AMZN_2012-06-21_34200000_57600000_message_1.csv.gz"


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ing") / "synthetic_ingest.itch"
    synthetic.generate(path, 60_000, 9, 5)
    return path


def _events(table_path: Path) -> np.ndarray:  # type: ignore[type-arg]
    t = pq.read_table(table_path)
    ev = np.zeros(t.num_rows, dtype=MD_EVENT)
    for name in MD_EVENT.names or ():
        ev[name] = t.column(name).to_numpy()
    return ev


def test_itch_round_trip_in_several_row_groups(
    day: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_mod, "BATCH_EVENTS", 5_000)
    monkeypatch.setattr(ingest_mod, "ITCH_CHUNK_BYTES", 1 << 16)
    out = tmp_path / "day.parquet"
    res = ingest_mod.ingest(day, "itch", out)
    want = itch.parse_file(day)
    assert res["rows"] == len(want.events) and res["row_groups"] > 3
    assert pq.ParquetFile(out).metadata.num_row_groups == res["row_groups"]
    assert np.array_equal(_events(out), want.events)
    meta = pq.read_schema(out).metadata
    assert meta[b"synthetic"] == b"true" and meta[b"minihft.format"] == b"itch"
    sym = pq.read_table(ingest_mod.symbols_path(out)).to_pydict()
    assert dict(zip(sym["locate"], sym["stock"], strict=True)) == want.symbols()


def test_lobster_blocks_keep_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not LOBSTER.exists():
        pytest.skip("LOBSTER sample missing")
    monkeypatch.setattr(ingest_mod, "LOBSTER_BLOCK_BYTES", 1 << 18)
    out = tmp_path / "amzn.parquet"
    rc = main(["ingest", str(LOBSTER), "--format", "lobster", "--out", str(out)])
    assert rc == 0
    want = read_messages(LOBSTER)
    t = pq.read_table(out)
    assert pq.ParquetFile(out).metadata.num_row_groups > 3
    assert np.array_equal(_events(out), want.events)
    assert np.array_equal(t.column("source_row").to_numpy(), want.rows)
    assert pq.read_schema(out).metadata[b"synthetic"] == b"false"


def test_bad_lobster_row_names_file_and_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_mod, "LOBSTER_BLOCK_BYTES", 256)
    rows = [f"{34200 + i}.5,1,{i + 1},100,{5000000 + 100 * i},1" for i in range(50)]
    rows[37] = "34237.5,1,38,100,abc,1"
    src = tmp_path / "bad_message.csv.gz"
    src.write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
    out = tmp_path / "bad.parquet"
    with pytest.raises(LobsterFormatError) as e:
        ingest_mod.ingest(src, "lobster", out)
    assert e.value.row == 38 and str(src) in str(e.value)
    assert not out.exists() and not out.with_name(out.name + ".part").exists()


def test_truncated_itch_names_offset(
    day: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = day.read_bytes()
    cut = tmp_path / "synthetic_cut.itch"
    cut.write_bytes(data[: len(data) - 7])
    out = tmp_path / "cut.parquet"
    rc = main(["ingest", str(cut), "--format", "itch", "--out", str(out)])
    assert rc == 1
    err = capsys.readouterr().err
    assert str(cut) in err and "offset" in err
    assert not out.exists()


def test_bad_itch_type_offset(day: Path, tmp_path: Path) -> None:
    data = bytearray(day.read_bytes())
    # Corrupt the type byte of the 3rd frame.
    off = 0
    for _ in range(2):
        off += 2 + int.from_bytes(data[off : off + 2], "big")
    data[off + 2] = ord("z")
    bad = tmp_path / "synthetic_bad.itch"
    bad.write_bytes(bytes(data))
    with pytest.raises(itch.ItchError) as e:
        ingest_mod.ingest(bad, "itch", tmp_path / "bad.parquet")
    assert e.value.offset == off
