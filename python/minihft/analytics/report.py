"""Self-contained HTML backtest report: figures as base64 PNG, every text escaped.

Figures are drawn on matplotlib.figure.Figure with the Agg canvas directly (no pyplot), so no
global state or display is involved and report generation is safe in worker processes.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from minihft.analytics.execution import ExecutionMetrics, default_schedule
from minihft.analytics.inputs import Fills, Mids, ParentOrder
from minihft.analytics.pnl import PnlCurve
from minihft.analytics.table import format_table
from minihft.records import Liquidity, Side

DPI = 72
MAX_PLOT_POINTS = 4000
# Names come from users: mathtext would turn "$x$" into math or fail on unbalanced "$".
_RC: dict[Any, Any] = {"text.parse_math": False, "font.size": 8}
_COST_COLS = [
    ("spread", "spread_bps"),
    ("drift", "drift_bps"),
    ("opportunity", "opportunity_bps"),
    ("fees", "fees_bps"),
    ("total IS", "is_total_bps"),
]


@dataclass(frozen=True)
class ParentRun:
    """One strategy's execution of one parent order, with the data needed to plot it.
    schedule: (ts ns, target cumulative qty); a linear schedule is drawn when absent."""

    strategy: str
    parent: ParentOrder
    fills: Fills
    metrics: ExecutionMetrics
    mids: Mids
    schedule: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None = None


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)  # attaches the Agg canvas to fig
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def _window(run: ParentRun) -> tuple[int, int, float]:
    p = run.parent
    span = max(p.end_ns - p.start_ns, 1)
    return p.start_ns - span // 20, p.end_ns + span // 20, float(p.start_ns)


def _plot_mid(ax: Axes, run: ParentRun) -> None:
    lo, hi, t0 = _window(run)
    m = run.mids
    i0 = max(int(np.searchsorted(m.ts, lo, side="right")) - 1, 0)
    i1 = int(np.searchsorted(m.ts, hi, side="right"))
    ts, mid = m.ts[i0:i1], m.mid[i0:i1]
    if ts.size > MAX_PLOT_POINTS:
        step = math.ceil(ts.size / MAX_PLOT_POINTS)
        ts, mid = ts[::step], mid[::step]
    if ts.size:
        ax.step((ts - t0) / 1e9, mid, where="post", color="0.4", lw=0.8, label="mid")
    f = run.fills
    x = (f.ts - t0) / 1e9
    for side, marker in ((Side.BUY, "^"), (Side.SELL, "v")):
        for liq, color in ((Liquidity.MAKER, "tab:blue"), (Liquidity.TAKER, "tab:orange")):
            sel = (f.side == side) & (f.liquidity == liq)
            if sel.any():
                ax.scatter(
                    x[sel],
                    f.price[sel],
                    marker=marker,
                    s=18,
                    color=color,
                    label=f"{side.name.lower()} {liq.name.lower()}",
                    zorder=3,
                )
    ax.axhline(run.parent.arrival_mid, color="k", ls=":", lw=0.7, label="arrival mid")
    if run.parent.limit_price is not None:
        ax.axhline(run.parent.limit_price, color="tab:red", ls="--", lw=0.7, label="limit")
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)
    ax.set_xlabel("s from start")
    ax.set_ylabel("ticks")
    ax.set_title("mid and fills")
    ax.legend(fontsize=6, loc="best")


def _plot_schedule(ax: Axes, run: ParentRun) -> None:
    p, t0 = run.parent, float(run.parent.start_ns)
    sts, sq = run.schedule if run.schedule is not None else default_schedule(p)
    ax.plot((np.asarray(sts) - t0) / 1e9, sq, color="0.5", ls="--", label="schedule")
    f = run.fills
    xs = np.concatenate(([0.0], (f.ts - t0) / 1e9, [(p.end_ns - t0) / 1e9]))
    cum = np.cumsum(f.qty)
    ys = np.concatenate(([0], cum, [cum[-1] if cum.size else 0]))
    ax.step(xs, ys, where="post", color="tab:green", label="executed")
    ax.axhline(p.qty, color="k", lw=0.5)
    ax.set_xlabel("s from start")
    ax.set_ylabel("shares")
    ax.set_title("schedule vs executed")
    ax.legend(fontsize=6, loc="upper left")


def _plot_costs(ax: Axes, m: ExecutionMetrics) -> None:
    vals = [getattr(m, c) for _, c in _COST_COLS]
    colors = ["tab:red" if (math.isfinite(v) and v > 0) else "tab:green" for v in vals]
    ax.bar([n for n, _ in _COST_COLS], np.nan_to_num(vals), color=colors)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_ylabel("bps of paper notional (+ = cost)")
    ax.set_title("IS components")
    ax.tick_params(axis="x", labelrotation=30)


def parent_figure(run: ParentRun) -> str:
    """Three panels for one (parent, strategy): base64 PNG."""
    with rc_context(_RC):
        # Fixed margins: constrained layout doubled the drawing time.
        fig = Figure(figsize=(12, 3.4), dpi=DPI)
        fig.subplots_adjust(left=0.06, right=0.99, bottom=0.2, top=0.85, wspace=0.3)
        a1, a2, a3 = fig.subplots(1, 3)
        _plot_mid(a1, run)
        _plot_schedule(a2, run)
        _plot_costs(a3, run.metrics)
        fig.suptitle(f"{run.strategy} | {run.parent.parent_id or run.parent.symbol}")
        return _png(fig)


def is_histogram(by_strategy: Mapping[str, Sequence[float]]) -> str:
    with rc_context(_RC):
        fig = Figure(figsize=(7, 3.2), dpi=DPI)
        fig.subplots_adjust(left=0.1, right=0.98, bottom=0.16, top=0.9)
        ax = fig.subplots()
        finite = {k: np.asarray(v, dtype=np.float64) for k, v in by_strategy.items()}
        finite = {k: v[np.isfinite(v)] for k, v in finite.items()}
        allv = np.concatenate([v for v in finite.values()] or [np.zeros(0)])
        bins = np.histogram_bin_edges(allv, bins=30) if allv.size else np.linspace(-1, 1, 31)
        for name, v in finite.items():
            ax.hist(v, bins=bins.tolist(), alpha=0.5, label=f"{name} (n={v.size})")
        ax.set_xlabel("total IS (bps, + = worse)")
        ax.set_ylabel("parent orders")
        ax.set_title("IS distribution per strategy")
        ax.legend(fontsize=7)
        return _png(fig)


def pnl_figure(curves: Mapping[str, PnlCurve]) -> str:
    with rc_context(_RC):
        fig = Figure(figsize=(9, 3.2), dpi=DPI)
        fig.subplots_adjust(left=0.09, right=0.98, bottom=0.16, top=0.9)
        ax = fig.subplots()
        for name, c in curves.items():
            if c.ts.size:
                x = (c.ts - c.ts[0]) / 1e9
                ax.plot(x, c.total, label=f"{name} total")
                ax.plot(x, c.realized - c.fees, ls="--", lw=0.8, label=f"{name} realized-fees")
        ax.set_xlabel("s")
        ax.set_ylabel("USD")
        ax.set_title("P&L")
        ax.legend(fontsize=7)
        return _png(fig)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "n/a" if not math.isfinite(v) else f"{v:.3f}"
    return html.escape(str(v))


_PARENT_COLS = [
    "filled_qty",
    "fill_rate",
    "passive_share",
    "participation",
    "is_exec_bps",
    "is_total_bps",
    "vwap_slippage_bps",
    "fees_usd",
]


def _parent_table(runs: Sequence[ParentRun]) -> str:
    horizons = sorted({h for r in runs for h in r.metrics.markout_bps})
    head = "".join(
        f"<th>{html.escape(c)}</th>"
        for c in ["strategy", *_PARENT_COLS, *[f"markout {h}s bps" for h in horizons]]
    )
    rows = []
    for r in runs:
        cells = [html.escape(r.strategy)]
        cells += [_fmt(getattr(r.metrics, c)) for c in _PARENT_COLS]
        cells += [_fmt(r.metrics.markout_bps.get(h, math.nan)) for h in horizons]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        for note in r.metrics.notes:
            rows.append(
                f'<tr><td colspan="{len(cells)}" class="note">'
                f"{html.escape(r.strategy)}: {html.escape(note)}</td></tr>"
            )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


_CSS = """body{font-family:sans-serif;margin:1.5em;max-width:1300px}
table{border-collapse:collapse;font-size:12px;margin:.5em 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
td:first-child{text-align:left}.note{color:#a60;text-align:left}
pre{background:#f6f6f6;padding:.5em;font-size:12px;overflow-x:auto}img{max-width:100%}"""


def build_report(
    runs: Sequence[ParentRun],
    *,
    title: str = "minihft backtest report",
    comparison: Mapping[str, Any] | None = None,
    pnl: Mapping[str, PnlCurve] | None = None,
    max_parents: int = 50,
) -> str:
    """The report as one HTML string. Parents are plotted in input order up to max_parents;
    the distribution and comparison cover all of them."""
    by_parent: dict[str, list[ParentRun]] = {}
    by_strategy: dict[str, list[float]] = {}
    for r in runs:
        by_parent.setdefault(r.parent.parent_id or r.parent.symbol, []).append(r)
        by_strategy.setdefault(r.strategy, []).append(r.metrics.is_total_bps)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{len(by_parent)} parent orders, strategies: "
        f"{html.escape(', '.join(by_strategy))}. Costs in bps, positive = worse for us; "
        "markouts positive = favourable. See docs/metrics.md.</p>",
    ]
    if comparison is not None:
        parts.append("<h2>Comparison</h2>")
        parts.append(f"<pre>{html.escape(format_table(comparison))}</pre>")
    if runs:
        parts.append("<h2>IS distribution</h2>")
        parts.append(_img(is_histogram(by_strategy), "IS histogram per strategy"))
    if pnl:
        parts.append("<h2>P&amp;L</h2>")
        rows = "".join(
            f"<tr><td>{html.escape(n)}</td>"
            + "".join(f"<td>{_fmt(v)}</td>" for v in c.summary().values())
            + "</tr>"
            for n, c in pnl.items()
        )
        keys = next(iter(pnl.values())).summary().keys()
        head = "".join(f"<th>{html.escape(k)}</th>" for k in ["strategy", *keys])
        parts.append(f"<table><tr>{head}</tr>{rows}</table>")
        parts.append(_img(pnl_figure(pnl), "P&L curves"))
    parts.append("<h2>Parent orders</h2>")
    for i, (pid, prs) in enumerate(by_parent.items()):
        if i >= max_parents:
            parts.append(f"<p>{len(by_parent) - max_parents} more parent orders not plotted.</p>")
            break
        p = prs[0].parent
        side = "buy" if p.sign > 0 else "sell"
        parts.append(
            f"<h3>{html.escape(pid)}: {side} {p.qty} {html.escape(p.symbol)}</h3>"
            + _parent_table(prs)
        )
        for r in prs:
            parts.append(_img(parent_figure(r), f"{r.strategy} {pid}"))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(path: str | Path, runs: Sequence[ParentRun], **kwargs: Any) -> Path:
    out = Path(path)
    out.write_text(build_report(runs, **kwargs), encoding="utf-8")
    return out
