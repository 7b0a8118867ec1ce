"""`minihft replay-topics --lockstep` through lob_engine and strategy_runner: two runs of the same
file give the same md.book stream and the same order/exec-report sequence."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from confluent_kafka.admin import AdminClient
from minihft import codec
from minihft.bus import Topics
from minihft.bus.kafka import KafkaBus
from pipeline_procs import SAMPLE, Proc, book_updates, free_port, lob_engine, read_batches

pytestmark = pytest.mark.integration
ROWS = 2000
BATCH = 100


def _lockstep_run(bootstrap: str, src: Path, tmp: Path) -> dict[str, Any]:
    rid = "ls-" + uuid.uuid4().hex[:10]
    t = Topics.for_run(rid)
    KafkaBus(bootstrap).create_topics(list(t.all()), partitions=4)
    logs = tmp / rid
    logs.mkdir()
    lob = lob_engine(t.prefix, f"lob-{rid}", logs, "--commit-interval-ms", "2")
    strat = Proc.python("strategy_runner", "strategy_runner",
                        ["--run-id", rid, "--strategy", "probe"], logs, free_port())  # fmt: skip
    try:
        lob.wait_ready()
        strat.wait_ready()
        cmd = [sys.executable, "-m", "minihft.services.backtest_orchestrator", str(src),
               "--run-id", rid, "--lockstep", "--batch-events", str(BATCH),
               "--lob-group", f"lob-{rid}",
               "--strategy-group", f"strategy_runner.{rid}"]  # fmt: skip
        r = subprocess.run(cmd, capture_output=True, timeout=120, text=True)
        assert r.returncode == 0, r.stderr[-3000:]
        books = read_batches(bootstrap, t.md_book, codec.MD_BOOK,
                             until=lambda b: False, timeout_s=2)  # fmt: skip
        execs = read_batches(bootstrap, t.exec_reports, codec.EXEC_REPORTS,
                             until=lambda b: False, timeout_s=2)  # fmt: skip
        return {"books": book_updates(books), "n_book_batches": len(books), "execs": execs}
    finally:
        assert strat.stop() == 0, strat.tail()
        assert lob.stop() == 0, lob.tail()
        existing = set(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics)
        KafkaBus(bootstrap).delete_topics([x for x in t.all() if x in existing])


def _exec_key(batches: list[codec.Batch]) -> list[tuple[int, ...]]:
    rows = np.concatenate([b.records for b in batches])
    rows = rows[np.argsort(rows["order_id"], kind="stable")]  # one symbol: engine order per id
    cols = ("order_id", "type", "price", "qty", "leaves_qty", "reason", "account")
    return [tuple(int(r[c]) for c in cols) for r in rows]


def test_lockstep_replay_is_deterministic(bootstrap: str, tmp_path: Path) -> None:
    import gzip

    src = tmp_path / "GOOG_head_message_10.csv"
    with gzip.open(SAMPLE, "rt") as f:
        src.write_text("".join(line for _, line in zip(range(ROWS), f, strict=False)))
    a = _lockstep_run(bootstrap, src, tmp_path)
    b = _lockstep_run(bootstrap, src, tmp_path)
    assert a["n_book_batches"] == ROWS // BATCH  # lock-step: one md.book batch per input batch
    np.testing.assert_array_equal(a["books"], b["books"])
    ka, kb = _exec_key(a["execs"]), _exec_key(b["execs"])
    # The probe sends one IOC order per book batch: accepted, then expired (cancelled).
    assert len(ka) == 2 * (ROWS // BATCH)
    assert ka == kb
