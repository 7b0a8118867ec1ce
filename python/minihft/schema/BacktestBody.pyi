from __future__ import annotations

import flatbuffers
import numpy as np

import typing
from typing import cast

uoffset: typing.TypeAlias = flatbuffers.number_types.UOffsetTFlags.py_type

class BacktestBody(object):
  NONE = cast(int, ...)
  SourceDepth = cast(int, ...)
  EndOfData = cast(int, ...)
  RunUntil = cast(int, ...)
  VenueStepped = cast(int, ...)
  StrategyDone = cast(int, ...)

