"""Golden backtest results on real data: the `minihft demo` sweep on the bundled GOOG sample.

Every run (parent order x strategy) is compared with tests/regression/golden/backtest_demo.json:
state, filled quantity, fills, average price, total and executed IS, passive share, and the
comparison table's means. Regenerate ONLY after a deliberate change of the fill model, the
algorithms or the metrics, and say why in the commit:

    MINIHFT_REGEN_GOLDEN=1 .venv/bin/pytest tests/regression/test_backtest_golden.py

Independently of the analytics code, each run's executed IS is recomputed from its fills and
the arrival mid read straight from the LOBSTER orderbook CSV (gzip + csv, not our reader), and
each aggressive fill is checked to be at a price the file showed on the far side at arrival or
within the window.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from minihft.backtest import sweep
from minihft.cli import demo
from minihft.records import Liquidity, Side
from minihft.strategy.algos import ALGOS

pytestmark = pytest.mark.regression

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden" / "backtest_demo.json"
SAMPLE = ROOT / demo.SAMPLE
NS = 1_000_000_000


def summary(results: list[Any], comparison: dict[str, Any]) -> dict[str, Any]:
    runs = []
    for r in results:
        m = r.metrics
        runs.append(
            {
                "parent": r.parent.parent_id,
                "strategy": r.strategy,
                "state": r.status["state"],
                "filled": int(m.filled_qty),
                "n_fills": int(m.n_fills),
                "avg_price": round(float(m.avg_price), 6),
                "is_exec_bps": round(float(m.is_exec_bps), 6),
                "is_total_bps": round(float(m.is_total_bps), 6),
                "passive_share": round(float(m.passive_share), 6),
            }
        )
    means = {
        name: {
            k: (None if v is None else round(v, 6)) for k, v in row.items() if k.endswith("_mean")
        }
        for name, row in comparison["strategies"].items()
    }
    return {"runs": runs, "means": means}


@cache
def demo_results() -> tuple[list[Any], dict[str, Any]]:
    jobs = sweep.make_jobs(
        {"GOOG": str(SAMPLE)}, demo.demo_spans(), [Side.BUY, Side.SELL], list(demo.DEMO_SIZES),
        list(ALGOS),
    )  # fmt: skip
    results = sweep.run_jobs(jobs, workers=2, progress=False)
    return results, sweep.summarize(results, "naive")


@cache
def orderbook_top() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(ts ns, [ask, ask_qty, bid, bid_qty]) per row, read with csv from the .gz files."""
    ts, top = [], []
    ob_path = str(SAMPLE).replace("_message_", "_orderbook_")
    with gzip.open(SAMPLE, "rt") as msg, gzip.open(ob_path, "rt") as ob:
        for m, o in zip(csv.reader(msg), csv.reader(ob), strict=True):
            sec, _, frac = m[0].partition(".")
            ts.append(int(sec) * NS + int((frac + "000000000")[:9]))
            top.append([int(x) for x in o[:4]])
    return np.array(ts, dtype=np.int64), np.array(top, dtype=np.int64)


def test_demo_sweep_matches_golden() -> None:
    results, comparison = demo_results()
    got = summary(results, comparison)
    if os.environ.get("MINIHFT_REGEN_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(got, indent=1) + "\n", encoding="utf-8")
        pytest.skip(f"regenerated {GOLDEN}")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert len(got["runs"]) == len(want["runs"]) == 36 * len(ALGOS)
    for g, w in zip(got["runs"], want["runs"], strict=True):
        assert g == pytest.approx(w, abs=1e-6, nan_ok=True), (g["parent"], g["strategy"])
    assert list(got["means"]) == list(want["means"])
    for name, row in got["means"].items():
        assert row == pytest.approx(want["means"][name], abs=1e-6), name


def test_demo_sweep_independent_checks() -> None:
    results, _ = demo_results()
    ts, top = orderbook_top()
    for r in results:
        p, f = r.parent, r.fills
        # arrival mid: the last orderbook row at or before start, straight from the file
        row = top[int(np.searchsorted(ts, p.start_ns, side="right")) - 1]
        arrival = (row[0] + row[2]) / 2
        assert p.arrival_mid == arrival
        assert int(f.qty.sum()) == r.metrics.filled_qty <= p.qty
        if r.status["state"] == "complete":
            assert int(f.qty.sum()) == p.qty
        if not len(f):
            continue
        s = 1 if p.side == Side.BUY else -1
        is_exec = s * (float(f.qty @ f.price) / f.qty.sum() - arrival) / arrival * 1e4
        assert r.metrics.is_exec_bps == pytest.approx(is_exec, rel=1e-12, abs=1e-9)
        # a taker fill happens at a price the file showed on the far side in the window
        lo = int(np.searchsorted(ts, p.start_ns))
        hi = int(np.searchsorted(ts, p.end_ns + 2 * NS, side="right"))
        far = top[lo:hi, 0] if s > 0 else top[lo:hi, 2]
        taker = f.price[f.liquidity == Liquidity.TAKER]
        best = far.min() if s > 0 else far.max()
        assert (taker * s >= best * s).all(), (p.parent_id, r.strategy)
