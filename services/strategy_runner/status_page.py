"""/status: one self-contained HTML page (inline CSS, no scripts from elsewhere: the stack runs
without internet). It reloads itself every 2 s."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#f6f7f9}
h1{font-size:20px;margin:0 0 4px} .sub{color:#667;margin-bottom:16px}
.kill{display:inline-block;padding:6px 12px;border-radius:4px;font-weight:600;margin-bottom:16px}
.kill.on{background:#c62828;color:#fff} .kill.off{background:#e3f1e5;color:#1b5e20}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0002}
th,td{padding:6px 10px;border-bottom:1px solid #e4e6ea;text-align:right;white-space:nowrap}
th{background:#eef0f4;font-weight:600} td.l,th.l{text-align:left}
.bar{width:160px;height:12px;background:#e4e6ea;border-radius:6px;overflow:hidden;
display:inline-block;vertical-align:middle}
.bar span{display:block;height:100%;background:#1e88e5}
.state{padding:2px 8px;border-radius:10px;font-size:12px}
.running{background:#e3f2fd;color:#0d47a1} .paused{background:#fff8e1;color:#8d6e00}
.stopped{background:#eceff1;color:#37474f} .completed{background:#e8f5e9;color:#1b5e20}
.failed{background:#ffebee;color:#b71c1c} .empty{color:#889;text-align:center;padding:18px}
"""


def _num(v: float | None, fmt: str = "{:,.2f}") -> str:
    return "-" if v is None else fmt.format(v)


def _row(r: Any) -> str:
    m = r.metrics
    pct = max(0.0, min(1.0, m.progress)) * 100
    progress = (
        f'<span class="bar" title="{pct:.1f}%"><span style="width:{pct:.1f}%"></span></span> '
        f"{m.filled_qty:,} / {m.target_qty:,}"
        if m.target_qty
        else f"{m.filled_qty:,} filled"
    )
    parent = f"{r.side} {r.qty:,} @ sym {r.symbol_id}" if r.qty else "-"
    cells = [
        f'<td class="l run-id">{escape(r.id)}</td>',
        f'<td class="l">{escape(r.strategy)}</td>',
        f'<td class="l"><span class="state {escape(r.state)}">{escape(r.state)}</span></td>',
        f'<td class="l">{parent}</td>',
        f'<td class="l progress">{progress}</td>',
        f"<td>{m.position:,}</td>",
        f"<td>{_num(m.avg_price / 1e4 if m.avg_price is not None else None, '{:,.4f}')}</td>",
        f"<td>{_num(m.implementation_shortfall_bps, '{:,.1f}')}</td>",
        f"<td>{_num(m.realized_pnl)}</td>",
        f"<td>{_num(m.unrealized_pnl)}</td>",
        f"<td>{m.orders_sent:,}</td>",
        f"<td>{m.open_orders:,}</td>",
        f"<td>{sum(r.risk_rejects.values()):,}</td>",
    ]
    return f'<tr data-run="{escape(r.id)}">' + "".join(cells) + "</tr>"


def render_status(service: str, runs: Sequence[Any], killed: bool) -> str:
    head = [
        "run", "strategy", "state", "parent", "progress", "position", "avg px ($)",
        "IS (bps)", "realized ($)", "unrealized ($)", "orders", "open", "risk rejects",
    ]  # fmt: skip
    ths = "".join(f'<th class="{"l" if i < 5 else ""}">{h}</th>' for i, h in enumerate(head))
    body = "".join(_row(r) for r in runs) or (
        f'<tr><td class="empty" colspan="{len(head)}">no runs</td></tr>'
    )
    kill = (
        '<div id="kill-switch" class="kill on">KILL SWITCH ENGAGED: new orders blocked</div>'
        if killed
        else '<div id="kill-switch" class="kill off">kill switch off</div>'
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>{escape(service)} status</title><style>{STYLE}</style></head>
<body><h1>{escape(service)}</h1>
<div class="sub">{len(runs)} run(s) &middot; API:
<a href="/openapi.json">/openapi.json</a>, <a href="/metrics">/metrics</a></div>
{kill}
<table id="runs"><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table>
</body></html>
"""
