from __future__ import annotations

import flatbuffers
import numpy as np

import typing
from typing import cast

uoffset: typing.TypeAlias = flatbuffers.number_types.UOffsetTFlags.py_type

class ErrorCode(object):
  Ok = cast(int, ...)
  UnknownOrder = cast(int, ...)
  DuplicateOrderId = cast(int, ...)
  InvalidQty = cast(int, ...)
  InvalidPrice = cast(int, ...)
  InvalidSide = cast(int, ...)
  InvalidType = cast(int, ...)
  WouldCross = cast(int, ...)
  NotFillable = cast(int, ...)
  NoLiquidity = cast(int, ...)
  SelfMatch = cast(int, ...)
  UnknownSymbol = cast(int, ...)

