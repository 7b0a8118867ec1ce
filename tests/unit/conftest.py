"""Fixtures shared by unit test modules."""

from __future__ import annotations

import pytest
from live_itch import FIXTURE
from minihft.marketdata.live import read_itch


@pytest.fixture(scope="module")
def itch() -> bytes:
    """The real ITCH fixture's bytes (modules using it carry live_itch.needs_fixture)."""
    return read_itch(FIXTURE)
