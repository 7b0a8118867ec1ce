"""backtest_orchestrator service."""
