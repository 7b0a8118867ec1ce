"""Backtests: the in-process runner (a Strategy on the C++ stepper) and parallel sweeps.

The service package minihft.services.backtest_orchestrator re-exports the in-process runner
next to the Kafka replay; the code lives here so it is type-checked with the package.
"""
