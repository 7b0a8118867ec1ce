"""strategy_runner service."""
