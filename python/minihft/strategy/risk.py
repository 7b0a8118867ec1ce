"""Pre-trade risk checks in front of every order a strategy sends.

The context calls `check` before a submit or replace is queued; a rejected command never leaves
the strategy, the call returns the reason and the rejection is counted per reason. Cancels are
never blocked (pulling an order must always work, even with the kill switch on or the message
rate exhausted) but they count towards the message rate.

Position is the filled position from our execution reports plus the open quantity of our live
orders on the side that would grow it (worst case: every live order fills).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from minihft.records import ExecType, OrderType, Side

NS_PER_S = 1_000_000_000


class RiskReject(StrEnum):
    KILL_SWITCH = "kill_switch"
    ORDER_SIZE = "max_order_size"
    POSITION = "max_position"
    NO_MID = "no_mid_for_collar"
    COLLAR = "price_collar"
    MSG_RATE = "max_msgs_per_s"


# Report types and sides as plain ints: an enum member looked up per report row costs more than
# the rest of the row's bookkeeping.
_FILLED, _CANCELLED, _REJECTED, _ACCEPTED, _REPLACED = (
    int(ExecType.ORDER_FILLED), int(ExecType.ORDER_CANCELLED), int(ExecType.ORDER_REJECTED),
    int(ExecType.ORDER_ACCEPTED), int(ExecType.ORDER_REPLACED),
)  # fmt: skip
_BUY = int(Side.BUY)
_LIMIT, _MARKET = int(OrderType.LIMIT), int(OrderType.MARKET)


@dataclass(frozen=True)
class RiskLimits:
    """None disables a check. collar_bps: |price - mid| / mid allowed (limit orders)."""

    max_order_qty: int | None = None
    max_position: int | None = None
    collar_bps: float | None = None
    max_msgs_per_s: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_order_qty": self.max_order_qty,
            "max_position": self.max_position,
            "collar_bps": self.collar_bps,
            "max_msgs_per_s": self.max_msgs_per_s,
        }


# An open order: [symbol_id, side, leaves] (a list: attribute access on a dataclass per report
# row cost a fifth of a backtest wake-up).
_SID, _SIDE, _LEAVES = 0, 1, 2


@dataclass
class RiskChecker:
    limits: RiskLimits = field(default_factory=RiskLimits)
    killed: bool = False
    rejects: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    _mids: dict[int, float] = field(default_factory=dict)
    _position: dict[int, int] = field(default_factory=dict)
    _orders: dict[int, list[int]] = field(default_factory=dict)
    # (symbol_id, side) -> open quantity of _orders, kept in step with every leaves change so the
    # position check costs the same with one open order or a thousand.
    _open: dict[tuple[int, int], int] = field(default_factory=dict)
    _msgs: deque[int] = field(default_factory=deque)

    # ---- state fed by the runner ----
    def set_mid(self, symbol_id: int, mid: float | None) -> None:
        if mid is None:
            self._mids.pop(symbol_id, None)
        else:
            self._mids[symbol_id] = float(mid)

    def kill(self, on: bool = True) -> None:
        self.killed = on

    def position(self, symbol_id: int) -> int:
        return self._position.get(symbol_id, 0)

    def on_reports(self, reports: np.ndarray[Any, Any]) -> None:
        """Fills move the position; fills, cancels and rejects reduce the open quantity."""
        if not len(reports):
            return
        orders, position = self._orders, self._position
        for r in reports.tolist():
            # tolist of a structured row: (ts, order_id, contra, price, qty, leaves, account,
            # symbol_id, type, side, reason, liquidity)
            oid, typ = r[1], r[8]
            if typ == _FILLED:
                sid = r[7]
                position[sid] = position.get(sid, 0) + (r[4] if r[9] == _BUY else -r[4])
                leaves = r[5]
            elif typ in (_CANCELLED, _REJECTED):
                leaves = 0
            elif typ in (_ACCEPTED, _REPLACED):
                leaves = r[5]
            else:
                continue
            o = orders.get(oid)
            if o is None:
                continue
            self._set_leaves(o, leaves)
            if leaves <= 0:
                del orders[oid]

    def _set_leaves(self, o: list[int], leaves: int) -> None:
        key = (o[_SID], o[_SIDE])
        self._open[key] = self._open.get(key, 0) + leaves - o[_LEAVES]
        o[_LEAVES] = leaves

    # ---- checks ----
    def _reject(self, why: RiskReject) -> RiskReject:
        self.rejects[why.value] = self.rejects.get(why.value, 0) + 1
        return why

    def _rate_ok(self, now_ns: int) -> bool:
        lim = self.limits.max_msgs_per_s
        while self._msgs and self._msgs[0] <= now_ns - NS_PER_S:
            self._msgs.popleft()
        return lim is None or len(self._msgs) < lim

    def _exposure(self, symbol_id: int, side: int, exclude: int | None = None) -> int:
        open_same = self._open.get((symbol_id, side), 0)
        ex = self._orders.get(exclude) if exclude is not None else None
        if ex is not None and ex[_SID] == symbol_id and ex[_SIDE] == side:
            open_same -= ex[_LEAVES]
        pos = self._position.get(symbol_id, 0)
        return pos + open_same if side == _BUY else pos - open_same

    def check(
        self,
        now_ns: int,
        symbol_id: int,
        side: int,
        price: int,
        qty: int,
        order_type: int = _LIMIT,
        replaces: int | None = None,
    ) -> RiskReject | None:
        """None = accepted (and recorded as an open order); else the reason, counted."""
        lim = self.limits
        if self.killed:
            return self._reject(RiskReject.KILL_SWITCH)
        if lim.max_order_qty is not None and qty > lim.max_order_qty:
            return self._reject(RiskReject.ORDER_SIZE)
        if lim.max_position is not None:
            after = self._exposure(symbol_id, side, exclude=replaces)
            after = after + qty if side == _BUY else after - qty
            if abs(after) > lim.max_position:
                return self._reject(RiskReject.POSITION)
        if lim.collar_bps is not None and order_type != _MARKET:
            mid = self._mids.get(symbol_id)
            if mid is None:
                return self._reject(RiskReject.NO_MID)
            if abs(price - mid) / mid * 1e4 > lim.collar_bps:
                return self._reject(RiskReject.COLLAR)
        if not self._rate_ok(now_ns):
            return self._reject(RiskReject.MSG_RATE)
        self._msgs.append(now_ns)
        self.accepted += 1
        return None

    def record(self, order_id: int, symbol_id: int, side: int, qty: int) -> None:
        """An accepted submit or replace: its full qty is open until reports say otherwise."""
        old = self._orders.get(order_id)
        if old is not None:
            self._set_leaves(old, 0)
        o = self._orders[order_id] = [symbol_id, int(side), 0]
        self._set_leaves(o, int(qty))

    def note_cancel(self, now_ns: int) -> None:
        self._rate_ok(now_ns)
        self._msgs.append(now_ns)

    def summary(self) -> dict[str, Any]:
        return {
            "limits": self.limits.as_dict(),
            "accepted": self.accepted,
            "rejects": dict(sorted(self.rejects.items())),
            "killed": self.killed,
        }
