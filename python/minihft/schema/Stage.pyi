from __future__ import annotations

import flatbuffers
import numpy as np

import typing
from typing import cast

uoffset: typing.TypeAlias = flatbuffers.number_types.UOffsetTFlags.py_type

class Stage(object):
  Unknown = cast(int, ...)
  FeedHandler = cast(int, ...)
  LobEngine = cast(int, ...)
  MlScorer = cast(int, ...)
  StrategyRunner = cast(int, ...)
  RiskGate = cast(int, ...)
  Matching = cast(int, ...)
  BacktestOrchestrator = cast(int, ...)
  Sink = cast(int, ...)

