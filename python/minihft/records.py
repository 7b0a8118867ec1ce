"""numpy twins of the C++ wire structs in services/lob_engine/core/include/minihft/lob/types.hpp.

A batch of events is one structured array: it goes to C++, to FlatBuffers and to Kafka without a
per-event Python object. tests/unit/test_records.py keeps these layouts equal to the C++ ones.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

import numpy as np


class Side(IntEnum):
    BUY = 0
    SELL = 1


class ErrorCode(IntEnum):
    OK = 0
    UNKNOWN_ORDER = 1
    DUPLICATE_ORDER_ID = 2
    INVALID_QTY = 3
    INVALID_PRICE = 4
    INVALID_SIDE = 5
    INVALID_TYPE = 6
    WOULD_CROSS = 7
    NOT_FILLABLE = 8
    NO_LIQUIDITY = 9
    SELF_MATCH = 10
    UNKNOWN_SYMBOL = 11


class MdEventType(IntEnum):
    ADD = 1
    EXECUTE = 2
    EXECUTE_AT_PRICE = 3
    CANCEL = 4
    DELETE = 5
    REPLACE = 6
    HIDDEN_TRADE = 7
    CLEAR = 8
    TRADING_STATUS = 9


class CommandType(IntEnum):
    SUBMIT_ORDER = 1
    CANCEL_ORDER = 2
    REPLACE_ORDER = 3


class OrderType(IntEnum):
    LIMIT = 0
    MARKET = 1


class TimeInForce(IntEnum):
    DAY = 0
    IOC = 1
    FOK = 2


class OrderFlags(IntFlag):
    NONE = 0
    POST_ONLY = 1


class ExecType(IntEnum):
    ORDER_ACCEPTED = 1
    ORDER_REJECTED = 2
    ORDER_FILLED = 3
    ORDER_CANCELLED = 4
    ORDER_REPLACED = 5


class Liquidity(IntEnum):
    NONE = 0
    MAKER = 1
    TAKER = 2


MD_EVENT = np.dtype(
    [
        ("ts_event", "<i8"),
        ("ts_recv", "<i8"),
        ("order_id", "<u8"),
        ("new_order_id", "<u8"),
        ("price", "<i8"),
        ("qty", "<i8"),
        ("symbol_id", "<u4"),
        ("type", "u1"),
        ("side", "u1"),
        ("flags", "u1"),
        ("reserved", "u1"),
    ]
)

ORDER_COMMAND = np.dtype(
    [
        ("ts", "<i8"),
        ("order_id", "<u8"),
        ("price", "<i8"),
        ("qty", "<i8"),
        ("account", "<u8"),
        ("symbol_id", "<u4"),
        ("type", "u1"),
        ("side", "u1"),
        ("order_type", "u1"),
        ("tif", "u1"),
        ("flags", "<u4"),
        ("reserved", "<u4"),
    ]
)

EXEC_REPORT = np.dtype(
    [
        ("ts", "<i8"),
        ("order_id", "<u8"),
        ("contra_order_id", "<u8"),
        ("price", "<i8"),
        ("qty", "<i8"),
        ("leaves_qty", "<i8"),
        ("account", "<u8"),
        ("symbol_id", "<u4"),
        ("type", "u1"),
        ("side", "u1"),
        ("reason", "u1"),
        ("liquidity", "u1"),
    ]
)

DEPTH_LEVEL = np.dtype([("price", "<i8"), ("qty", "<i8"), ("orders", "<u4"), ("reserved", "<u4")])
