from __future__ import annotations

import flatbuffers
import numpy as np

import typing
from typing import cast

uoffset: typing.TypeAlias = flatbuffers.number_types.UOffsetTFlags.py_type

class ControlBody(object):
  NONE = cast(int, ...)
  StartStrategy = cast(int, ...)
  StopStrategy = cast(int, ...)
  PauseStrategy = cast(int, ...)
  ResumeStrategy = cast(int, ...)
  KillSwitch = cast(int, ...)
  Ack = cast(int, ...)

