from __future__ import annotations

import flatbuffers
import numpy as np

import typing
from typing import cast

uoffset: typing.TypeAlias = flatbuffers.number_types.UOffsetTFlags.py_type

class MdEventType(object):
  Invalid = cast(int, ...)
  Add = cast(int, ...)
  Execute = cast(int, ...)
  ExecuteAtPrice = cast(int, ...)
  Cancel = cast(int, ...)
  Delete = cast(int, ...)
  Replace = cast(int, ...)
  HiddenTrade = cast(int, ...)
  Clear = cast(int, ...)
  TradingStatus = cast(int, ...)

