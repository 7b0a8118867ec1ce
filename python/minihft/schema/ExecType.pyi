from __future__ import annotations

import flatbuffers
import numpy as np

import typing
from typing import cast

uoffset: typing.TypeAlias = flatbuffers.number_types.UOffsetTFlags.py_type

class ExecType(object):
  Invalid = cast(int, ...)
  OrderAccepted = cast(int, ...)
  OrderRejected = cast(int, ...)
  OrderFilled = cast(int, ...)
  OrderCancelled = cast(int, ...)
  OrderReplaced = cast(int, ...)

