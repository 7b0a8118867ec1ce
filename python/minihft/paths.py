"""Where the project finds things outside the package: the shared real-data folder.

The data sit beside the repository (`<repo>/../shared/data`) on developer machines and in CI;
MINIHFT_SHARED_DATA points elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path:
    env = os.environ.get("MINIHFT_SHARED_DATA")
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "data").resolve()


def lobster_dir() -> Path:
    return shared_data_dir() / "lobster"


def itch_fixture() -> Path:
    """The real 1000-message NASDAQ ITCH 5.0 fixture."""
    return shared_data_dir() / "nasdaq_itch50" / "sample_first1000.itch"
