"""Adapters that run the benchmark scenarios in peer backtesters (hftbacktest, nautilus_trader).

Each adapter imports its peer lazily, so minihft works without them installed.
"""
