"""Comparison of strategies on the same parent orders: a dict for results.json and a text table."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from minihft.analytics.execution import DEFAULT_HORIZONS_S, ExecutionMetrics, metric_column
from minihft.analytics.stats import bootstrap_ci, paired_bootstrap

CI_METRIC = "is_total_bps"


def mean_columns(horizons_s: Sequence[int] = DEFAULT_HORIZONS_S) -> list[str]:
    return [
        "is_exec_bps",
        "vwap_slippage_bps",
        "fill_rate",
        "passive_share",
        "participation",
        *[f"markout_{h}s_bps" for h in horizons_s],
        "fees_bps_notional",
    ]


def _nanmean(x: np.ndarray[Any, Any]) -> float | None:
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else None


def _ids(metrics: Sequence[ExecutionMetrics]) -> list[str]:
    return [m.parent_id for m in metrics]


def compare(
    results: Mapping[str, Sequence[ExecutionMetrics]],
    *,
    baseline: str | None = None,
    horizons_s: Sequence[int] = DEFAULT_HORIZONS_S,
    n_resamples: int = 5000,
    seed: int = 0,
) -> dict[str, Any]:
    """strategy -> {n, is_total_bps: {mean CI, median CI}, <metric>_mean...}, plus, when a
    baseline is named, a paired bootstrap of is_total_bps (strategy - baseline) per strategy.

    Paired comparisons need the same parent orders in the same order; that is checked by
    parent_id.
    """
    if baseline is not None and baseline not in results:
        raise ValueError(f"baseline {baseline!r} is not among strategies {sorted(results)}")
    out: dict[str, Any] = {"metric_ci": CI_METRIC, "strategies": {}}
    for name, ms in results.items():
        is_tot = metric_column(ms, CI_METRIC)
        row: dict[str, Any] = {
            "n_parents": len(ms),
            CI_METRIC: {
                "mean": bootstrap_ci(is_tot, "mean", n_resamples=n_resamples, seed=seed).to_dict(),
                "median": bootstrap_ci(
                    is_tot, "median", n_resamples=n_resamples, seed=seed
                ).to_dict(),
            },
        }
        for col in mean_columns(horizons_s):
            row[f"{col}_mean"] = _nanmean(metric_column(ms, col))
        if baseline is not None and name != baseline:
            base = results[baseline]
            if _ids(base) != _ids(ms):
                raise ValueError(
                    f"strategy {name!r} and baseline {baseline!r} were not run on the same"
                    " parent orders in the same order (parent_id lists differ)"
                )
            row[f"{CI_METRIC}_vs_{baseline}"] = paired_bootstrap(
                is_tot,
                metric_column(base, CI_METRIC),
                "mean",
                n_resamples=n_resamples,
                seed=seed,
            ).to_dict()
        out["strategies"][name] = row
    return out


def _f(v: Any, width: int, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a".rjust(width)
    return f"{v:.{digits}f}".rjust(width)


def _ci(d: Mapping[str, Any]) -> str:
    if d.get("estimate") is None:
        return "n/a"
    return f"{d['estimate']:.2f} [{d['lo']:.2f}, {d['hi']:.2f}]"


def format_table(
    comparison: Mapping[str, Any], horizons_s: Sequence[int] = DEFAULT_HORIZONS_S
) -> str:
    """Fixed-width table: one row per strategy. Costs in bps, positive = worse; markouts in
    bps, positive = favourable."""
    cols = mean_columns(horizons_s)
    short = {
        "is_exec_bps": "ISexec",
        "vwap_slippage_bps": "vsVWAP",
        "fill_rate": "fill",
        "passive_share": "passive",
        "participation": "partic",
        "fees_bps_notional": "fees",
        **{f"markout_{h}s_bps": f"mk{h}s" for h in horizons_s},
    }
    strategies = comparison["strategies"]
    name_w = max([8, *[len(n) for n in strategies]])
    ci_w = 26
    head = (
        f"{'strategy':<{name_w}} {'n':>4} {'IS mean [95% CI]':>{ci_w}} "
        f"{'IS median [95% CI]':>{ci_w}} " + " ".join(f"{short[c]:>8}" for c in cols)
    )
    lines = [head, "-" * len(head)]
    paired: list[str] = []
    for name, row in strategies.items():
        ci = row[CI_METRIC]
        lines.append(
            f"{name:<{name_w}} {row['n_parents']:>4} {_ci(ci['mean']):>{ci_w}} "
            f"{_ci(ci['median']):>{ci_w}} "
            + " ".join(
                _f(
                    row[f"{c}_mean"],
                    8,
                    3 if c in ("fill_rate", "passive_share", "participation") else 2,
                )
                for c in cols
            )
        )
        for k, v in row.items():
            if k.startswith(f"{CI_METRIC}_vs_"):
                sig = (
                    "significant"
                    if (v["lo"] is not None and (v["lo"] > 0 or v["hi"] < 0))
                    else "not significant"
                )
                p = "n/a" if v.get("p_value") is None else f"{v['p_value']:.3f}"
                paired.append(
                    f"  {name} - {k[len(CI_METRIC) + 4 :]}: IS diff {_ci(v)} bps, "
                    f"p={p} ({sig}, n={v['n']})"
                )
    lines.append(
        "IS = arrival implementation shortfall incl. opportunity cost and fees (bps, "
        "+ = worse); mk = markout (bps, + = favourable)"
    )
    if paired:
        lines.append("paired bootstrap (strategy - baseline, mean IS):")
        lines.extend(paired)
    return "\n".join(lines)
