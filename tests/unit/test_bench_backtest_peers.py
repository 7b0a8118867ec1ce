"""Both peer benchmarks on a small real slice: JSON fields present and sane, minihft fills valid.

Not a timing test. The peers come with `make install` (the bench extra) and the data with the
shared folder; either missing is a failure, so CI cannot go green without running the peers.
"""

from __future__ import annotations

import argparse
import json

import hftbacktest  # noqa: F401  (fail loudly when the bench extra is missing)
import nautilus_trader  # noqa: F401
import numpy as np
from minihft.benchmarks import backtest, backtest_python
from minihft.paths import shared_data_dir

N = 3000
DATA = shared_data_dir() / "lobster"


def setup_module() -> None:
    source = DATA / f"{backtest.DEFAULT_STEM}_message_10.csv.gz"
    assert source.exists(), f"LOBSTER data missing: {source} (set MINIHFT_SHARED_DATA)"


def args(**kw: object) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    backtest.add_common(p)
    ns = p.parse_args(["--events", str(N)])
    ns.repeats = 1
    ns.nautilus_events = 0
    for k, v in kw.items():
        setattr(ns, k, v)
    return ns


def test_backtest_vs_hftbacktest_fields_and_fill_invariants() -> None:
    out = backtest.measure(args())
    json.dumps(out)  # one JSON line
    assert out["bench"] == "backtest" and out["events"] == N
    for k in ("minihft_events_per_s", "hftbacktest_events_per_s", "ratio"):
        assert out[k] > 0
    f = out["fills"]
    assert f["minihft"] > 0 and f["hftbacktest"] > 0
    assert 0 <= f["matched"] <= min(f["minihft"], f["hftbacktest"])
    assert f["matched"] + f["only_hftbacktest"] <= f["hftbacktest"]
    assert 0 <= f["hftbacktest_at_execution"] <= f["hftbacktest"]
    # hftbacktest never fills part of an order: every fill is the full quote size.
    assert f["qty"]["hftbacktest"] == 100 * f["hftbacktest"]
    assert out["orders"]["minihft"] >= out["cancels"]["minihft"]


def test_minihft_fill_invariants_on_the_slice() -> None:
    from minihft.backtest_core import bench_quote_touch
    from minihft.records import ExecType

    a = args()
    ev, depth = backtest.load(a)
    mo = bench_quote_touch(ev, backtest.config(a), seed_row=depth[0], truth=depth, size=a.size)
    r, x = mo["reports"], mo["extras"]
    fills = r["type"] == int(ExecType.ORDER_FILLED)
    assert fills.sum() == mo["fills"] and r["qty"][fills].sum() == mo["filled_qty"]
    # Per order: never more than the quote, leaves count down to what is left.
    for oid in np.unique(r["order_id"][fills]):
        q = r["qty"][fills & (r["order_id"] == oid)]
        lv = r["leaves_qty"][fills & (r["order_id"] == oid)]
        assert q.sum() <= a.size
        assert (lv == a.size - np.cumsum(q)).all()
    # Seen after the venue (report latency), justified by a historical event, fees = rate * qty.
    assert (r["ts"][fills] >= x["ts_venue"][fills] + a.latency_ns).all()
    passive = fills & (r["liquidity"] == 1)
    assert (x["md_index"][passive] >= 0).all() and (x["md_index"][passive] < len(ev)).all()
    assert (x["fee_e4"][passive] == a.maker_fee_e4 * r["qty"][passive]).all()
    # A passive fill is at our price, on a level where the venue executed at our price or worse.
    idx = x["md_index"][passive]
    venue_px = ev["price"][idx]
    buy = r["side"][passive] == 0
    assert (r["price"][passive][buy] >= venue_px[buy]).all()
    assert (r["price"][passive][~buy] <= venue_px[~buy]).all()


def test_backtest_python_vs_nautilus_fields() -> None:
    out = backtest_python.measure(args(events=2000))
    json.dumps(out)
    assert out["bench"] == "backtest-python" and out["events"] == 2000
    assert out["minihft_python_events_per_s"] > 0 and out["nautilus_events_per_s"] > 0
    assert out["ratio"] > 0
    assert out["fills"]["minihft"] > 0
    assert 0 <= out["fills"]["matched"] <= out["fills"]["nautilus"]
    assert out["wakes"]["minihft"] > 0 and out["wakes"]["nautilus"] > 0
