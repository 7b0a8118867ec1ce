from __future__ import annotations

import flatbuffers
import numpy as np

import typing
from typing import cast

uoffset: typing.TypeAlias = flatbuffers.number_types.UOffsetTFlags.py_type

class ReferenceBody(object):
  NONE = cast(int, ...)
  StockDirectory = cast(int, ...)
  TradingAction = cast(int, ...)
  RegShoRestriction = cast(int, ...)
  SystemEvent = cast(int, ...)
  SequenceGap = cast(int, ...)

