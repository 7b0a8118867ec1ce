"""In-process backtest runner: see minihft.backtest.inprocess (kept in the typed package)."""

from minihft.backtest.inprocess import (  # noqa: F401
    DEFAULT_CONFIG,
    DEFAULT_LIMITS,
    MarketData,
    ParentRequest,
    RunResult,
    drive,
    load_lobster,
    make_algo,
    run_parent,
)
from minihft.backtest.sweep import Job, make_jobs, run_jobs, windows, write_outputs  # noqa: F401
