"""Execution algorithms for one parent order (side, qty, start, end, limit price)."""

from minihft.strategy.algos.algos import AggressiveTwap, Naive, Pov, SlicedAlgo, Twap, Vwap
from minihft.strategy.algos.base import ExecAlgo, ParentSpec
from minihft.strategy.algos.schedules import (
    cumulative_targets,
    slice_edges,
    time_of_day_profile,
    volume_profile,
)

ALGOS = ("twap", "twap_aggr", "vwap", "pov", "naive")

__all__ = [
    "ALGOS",
    "AggressiveTwap",
    "ExecAlgo",
    "Naive",
    "ParentSpec",
    "Pov",
    "SlicedAlgo",
    "Twap",
    "Vwap",
    "cumulative_targets",
    "slice_edges",
    "time_of_day_profile",
    "volume_profile",
]
