"""Execution analytics for backtests: per parent order costs, P&L, bootstrap, report.

Inputs are plain numpy arrays wrapped in small dataclasses (inputs.py), so the backtest core,
the live runner and tests feed them without sharing classes. docs/metrics.md has the formulas.
"""

from minihft.analytics.execution import (
    DEFAULT_HORIZONS_S,
    ExecutionMetrics,
    execution_metrics,
    metric_column,
)
from minihft.analytics.inputs import BPS, TICK_USD, Fills, Mids, ParentOrder, Tape
from minihft.analytics.pnl import Drawdown, PnlCurve, max_drawdown, pnl_curve, time_grid
from minihft.analytics.stats import BootstrapCI, PairedCI, bootstrap_ci, paired_bootstrap
from minihft.analytics.table import compare, format_table

__all__ = [
    "BPS",
    "DEFAULT_HORIZONS_S",
    "TICK_USD",
    "BootstrapCI",
    "Drawdown",
    "ExecutionMetrics",
    "Fills",
    "Mids",
    "PairedCI",
    "ParentOrder",
    "PnlCurve",
    "Tape",
    "bootstrap_ci",
    "compare",
    "execution_metrics",
    "format_table",
    "max_drawdown",
    "metric_column",
    "paired_bootstrap",
    "pnl_curve",
    "time_grid",
]
