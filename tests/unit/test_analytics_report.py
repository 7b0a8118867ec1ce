"""Comparison table and HTML report on a small synthetic case."""

from __future__ import annotations

import base64
import json
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from minihft.analytics import (
    ExecutionMetrics,
    Fills,
    Mids,
    ParentOrder,
    Tape,
    compare,
    execution_metrics,
    format_table,
    pnl_curve,
)
from minihft.analytics.report import ParentRun, build_report, parent_figure, write_report
from minihft.records import Side

S = 1_000_000_000
EVIL = "<b>tw&ap</b> $x$"


def make_runs(n_parents: int = 3) -> list[ParentRun]:
    """Two strategies on the same parents: 'aggressive' crosses at mid+2, EVIL rests at mid-1."""
    rng = np.random.default_rng(0)
    runs: list[ParentRun] = []
    for i in range(n_parents):
        t = np.arange(0, 120 * S, S // 2, dtype=np.int64)
        mid = 10000 + np.cumsum(rng.integers(-1, 2, t.size)).astype(float)
        mids = Mids(t, mid)
        tape = Tape(t[::4], mid[::4].astype(np.int64), np.full(t[::4].size, 200))
        side = Side.BUY if i % 2 == 0 else Side.SELL
        s = 1 if side == Side.BUY else -1
        limit = int(mid[20]) + s * 50 if i == 0 else None
        parent = ParentOrder(
            "XYZ", side, 300, 10 * S, 40 * S, float(mid[20]), limit_price=limit, parent_id=f"p{i}"
        )
        ft = np.array([12 * S, 20 * S, 30 * S], dtype=np.int64)
        fm = mids.at(ft)
        for name, off, liq, qty in (
            ("aggressive", 2, 2, [100, 100, 100]),
            (EVIL, -1, 1, [100, 100, 50]),
        ):
            fills = Fills(
                ft,
                (fm + s * off).astype(np.int64),
                qty,
                [int(side)] * 3,
                [liq] * 3,
                [0.01 * (liq == 2)] * 3,
            )
            m = execution_metrics(parent, fills, tape, mids)
            runs.append(ParentRun(name, parent, fills, m, mids))
    return runs


def by_strategy(runs: list[ParentRun]) -> dict[str, list[ExecutionMetrics]]:
    out: dict[str, list[ExecutionMetrics]] = {}
    for r in runs:
        out.setdefault(r.strategy, []).append(r.metrics)
    return out


def test_compare_dict_is_json_and_table_has_rows() -> None:
    res = by_strategy(make_runs())
    cmp = compare(res, baseline="aggressive", n_resamples=300)
    text = json.dumps(cmp, allow_nan=False)  # NaN would not be valid JSON
    row = json.loads(text)["strategies"]["aggressive"]
    assert row["n_parents"] == 3
    is_tot = [m.is_total_bps for m in res["aggressive"]]
    assert row["is_total_bps"]["mean"]["estimate"] == pytest.approx(np.mean(is_tot))
    assert row["is_total_bps"]["median"]["estimate"] == pytest.approx(np.median(is_tot))
    assert row["fill_rate_mean"] == pytest.approx(1.0)
    other = cmp["strategies"][EVIL]
    assert other["fill_rate_mean"] == pytest.approx(250 / 300)
    paired = other["is_total_bps_vs_aggressive"]
    diffs = [
        a.is_total_bps - b.is_total_bps for a, b in zip(res[EVIL], res["aggressive"], strict=True)
    ]
    assert paired["estimate"] == pytest.approx(np.mean(diffs))
    table = format_table(cmp)
    lines = table.splitlines()
    assert lines[0].startswith("strategy")
    assert any(line.startswith("aggressive ") for line in lines)
    assert any(line.startswith(EVIL) for line in lines)
    assert f"{EVIL} - aggressive" in table
    # Fixed width: the strategy rows are as long as the header
    assert len({len(line) for line in lines[:4]}) == 1


def test_compare_refuses_unpaired_orders() -> None:
    res = by_strategy(make_runs())
    res[EVIL] = res[EVIL][::-1]
    with pytest.raises(ValueError, match="same parent orders"):
        compare(res, baseline="aggressive", n_resamples=10)
    with pytest.raises(ValueError, match="baseline 'nope'"):
        compare(res, baseline="nope")


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.imgs: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(dict(attrs).get("src") or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_report_parses_with_images_and_escaped_names(tmp_path: Path) -> None:
    runs = make_runs()
    cmp = compare(by_strategy(runs), baseline="aggressive", n_resamples=200)
    fills = runs[0].fills
    curve = pnl_curve(fills, runs[0].mids, runs[0].mids.ts[::10])
    out = write_report(
        tmp_path / "r.html", runs, title="run <1> & co", comparison=cmp, pnl={EVIL: curve}
    )
    doc = out.read_text(encoding="utf-8")
    p = _Collect()
    p.feed(doc)
    p.close()
    # 1 histogram + 1 P&L + 3 parents x 2 strategies
    assert len(p.imgs) == 8
    for src in p.imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    # Names are escaped in the markup (no injected <b> tag) and read back verbatim as text.
    assert "<b>" not in doc and "&lt;b&gt;tw&amp;ap&lt;/b&gt;" in doc
    assert "b" not in p.tags
    assert any(EVIL in t for t in p.text)
    assert "run &lt;1&gt; &amp; co" in doc
    assert "p0" in doc and "p2" in doc


def test_report_with_no_fills_and_max_parents() -> None:
    runs = make_runs(2)
    r0 = runs[0]
    empty = ParentRun(
        "none",
        r0.parent,
        Fills.empty(),
        execution_metrics(r0.parent, Fills.empty(), Tape.empty(), r0.mids),
        r0.mids,
    )
    doc = build_report([empty, *runs], max_parents=1)
    assert "1 more parent orders not plotted" in doc
    assert "zero market volume" in doc  # the metric notes reach the report


def test_parent_figure_is_fast() -> None:
    run = make_runs(1)[0]
    parent_figure(run)  # warm up font cache
    t0 = time.perf_counter()
    for _ in range(3):
        parent_figure(run)
    assert (time.perf_counter() - t0) / 3 < 1.0
