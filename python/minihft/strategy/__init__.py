"""Strategy interface shared by the live strategy_runner and the backtester."""

from minihft.strategy.base import Strategy, StrategyContext
from minihft.strategy.builtin import STRATEGIES, LoggingStrategy, ProbeStrategy

__all__ = ["STRATEGIES", "LoggingStrategy", "ProbeStrategy", "Strategy", "StrategyContext"]
