"""Obviously-correct (and slow) pure-Python model of the matching rules in matching_engine.hpp.

Each symbol's book is a flat list of resting orders; priority is (price, arrival sequence) found
by sorting on every step. No indexes, no pools: the point is to be easy to check by reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from minihft.records import (
    CommandType,
    ErrorCode,
    ExecType,
    Liquidity,
    OrderFlags,
    OrderType,
    Side,
    TimeInForce,
)


class Report(NamedTuple):
    """Same fields, same order as EXEC_REPORT."""

    ts: int
    order_id: int
    contra_order_id: int
    price: int
    qty: int
    leaves_qty: int
    account: int
    symbol_id: int
    type: int
    side: int
    reason: int
    liquidity: int


class Command(NamedTuple):
    ts: int
    order_id: int
    price: int
    qty: int
    account: int
    symbol_id: int
    type: int
    side: int
    order_type: int
    tif: int
    flags: int


@dataclass
class Resting:
    order_id: int
    side: int
    price: int
    qty: int
    account: int
    seq: int
    post_only: bool


@dataclass
class RefEngine:
    n_symbols: int
    books: dict[int, list[Resting]] = field(default_factory=dict)
    seq: int = 0
    out: list[Report] = field(default_factory=list)

    # ---- helpers -------------------------------------------------------------------------------

    def book(self, symbol: int) -> list[Resting]:
        return self.books.setdefault(symbol, [])

    def find(self, symbol: int, order_id: int) -> Resting | None:
        for o in self.books.get(symbol, []):
            if o.order_id == order_id:
                return o
        return None

    def queue(self, symbol: int, side: int) -> list[Resting]:
        """Resting orders of one side, in the order they would trade."""
        orders = [o for o in self.books.get(symbol, []) if o.side == side]
        if side == Side.BUY:
            return sorted(orders, key=lambda o: (-o.price, o.seq))
        return sorted(orders, key=lambda o: (o.price, o.seq))

    @staticmethod
    def crosses(side: int, limit: int, resting: int) -> bool:
        return limit >= resting if side == Side.BUY else limit <= resting

    def emit(self, c: Command, **kw: int) -> None:
        base = dict(
            ts=c.ts,
            order_id=0,
            contra_order_id=0,
            price=0,
            qty=0,
            leaves_qty=0,
            account=0,
            symbol_id=c.symbol_id,
            type=0,
            side=0,
            reason=ErrorCode.OK,
            liquidity=Liquidity.NONE,
        )
        base.update(kw)
        self.out.append(Report(**base))

    def reject(self, c: Command, why: ErrorCode) -> None:
        self.emit(
            c,
            order_id=c.order_id,
            price=c.price,
            qty=c.qty,
            account=c.account,
            type=ExecType.ORDER_REJECTED,
            side=c.side,
            reason=why,
        )

    def rest(self, symbol: int, order_id: int, side: int, price: int, qty: int, acct: int,
             post_only: bool) -> None:  # fmt: skip
        self.seq += 1
        self.book(symbol).append(Resting(order_id, side, price, qty, acct, self.seq, post_only))

    def sweep(self, c: Command, order_id: int, side: int, market: bool, limit: int, qty: int,
              account: int) -> int:  # fmt: skip
        book = self.book(c.symbol_id)
        opp = 1 - side
        while qty > 0:
            q = self.queue(c.symbol_id, opp)
            if not q:
                break
            m = q[0]
            if not market and not self.crosses(side, limit, m.price):
                break
            if account != 0 and m.account == account:
                self.emit(c, order_id=m.order_id, price=m.price, qty=m.qty, account=m.account,
                          type=ExecType.ORDER_CANCELLED, side=opp,
                          reason=ErrorCode.SELF_MATCH)  # fmt: skip
                book.remove(m)
                continue
            fill = min(qty, m.qty)
            qty -= fill
            m.qty -= fill
            self.emit(c, order_id=order_id, contra_order_id=m.order_id, price=m.price, qty=fill,
                      leaves_qty=qty, account=account, type=ExecType.ORDER_FILLED, side=side,
                      liquidity=Liquidity.TAKER)  # fmt: skip
            self.emit(c, order_id=m.order_id, contra_order_id=order_id, price=m.price, qty=fill,
                      leaves_qty=m.qty, account=m.account, type=ExecType.ORDER_FILLED, side=opp,
                      liquidity=Liquidity.MAKER)  # fmt: skip
            if m.qty == 0:
                book.remove(m)
        return qty

    # ---- commands ------------------------------------------------------------------------------

    def process(self, c: Command) -> None:
        if c.type == CommandType.SUBMIT_ORDER:
            self.submit(c)
        elif c.type == CommandType.CANCEL_ORDER:
            self.cancel(c)
        elif c.type == CommandType.REPLACE_ORDER:
            self.replace(c)
        else:
            self.reject(c, ErrorCode.INVALID_TYPE)

    def submit(self, c: Command) -> None:
        if c.symbol_id >= self.n_symbols:
            return self.reject(c, ErrorCode.UNKNOWN_SYMBOL)
        if c.side not in (Side.BUY, Side.SELL):
            return self.reject(c, ErrorCode.INVALID_SIDE)
        market = c.order_type == OrderType.MARKET
        post_only = bool(c.flags & OrderFlags.POST_ONLY)
        if c.order_type not in (OrderType.LIMIT, OrderType.MARKET) or c.tif not in (0, 1, 2):
            return self.reject(c, ErrorCode.INVALID_TYPE)
        if post_only and (market or c.tif != TimeInForce.DAY):
            return self.reject(c, ErrorCode.INVALID_TYPE)
        if c.qty <= 0:
            return self.reject(c, ErrorCode.INVALID_QTY)
        if not market and c.price <= 0:
            return self.reject(c, ErrorCode.INVALID_PRICE)
        if self.find(c.symbol_id, c.order_id) is not None:
            return self.reject(c, ErrorCode.DUPLICATE_ORDER_ID)
        opp = self.queue(c.symbol_id, 1 - c.side)
        if market and not opp:
            return self.reject(c, ErrorCode.NO_LIQUIDITY)
        if post_only and opp and self.crosses(c.side, c.price, opp[0].price):
            return self.reject(c, ErrorCode.WOULD_CROSS)
        if c.tif == TimeInForce.FOK:
            avail = sum(
                o.qty
                for o in opp
                if (market or self.crosses(c.side, c.price, o.price))
                and (c.account == 0 or o.account != c.account)
            )
            if avail < c.qty:
                return self.reject(c, ErrorCode.NOT_FILLABLE)
        px = 0 if market else c.price
        self.emit(c, order_id=c.order_id, price=px, qty=c.qty, leaves_qty=c.qty,
                  account=c.account, type=ExecType.ORDER_ACCEPTED, side=c.side)  # fmt: skip
        left = self.sweep(c, c.order_id, c.side, market, c.price, c.qty, c.account)
        if left == 0:
            return None
        if market or c.tif != TimeInForce.DAY:
            self.emit(c, order_id=c.order_id, price=px, qty=left, account=c.account,
                      type=ExecType.ORDER_CANCELLED, side=c.side,
                      reason=ErrorCode.NO_LIQUIDITY)  # fmt: skip
            return None
        self.rest(c.symbol_id, c.order_id, c.side, c.price, left, c.account, post_only)
        return None

    def cancel(self, c: Command) -> None:
        if c.symbol_id >= self.n_symbols:
            return self.reject(c, ErrorCode.UNKNOWN_SYMBOL)
        o = self.find(c.symbol_id, c.order_id)
        if o is None or o.account != c.account:  # another account's order: not disclosed
            return self.reject(c, ErrorCode.UNKNOWN_ORDER)
        self.emit(c, order_id=o.order_id, price=o.price, qty=o.qty, account=o.account,
                  type=ExecType.ORDER_CANCELLED, side=o.side)  # fmt: skip
        self.book(c.symbol_id).remove(o)
        return None

    def replace(self, c: Command) -> None:
        if c.symbol_id >= self.n_symbols:
            return self.reject(c, ErrorCode.UNKNOWN_SYMBOL)
        o = self.find(c.symbol_id, c.order_id)
        if o is None or o.account != c.account:
            return self.reject(c, ErrorCode.UNKNOWN_ORDER)
        if c.qty <= 0:
            return self.reject(c, ErrorCode.INVALID_QTY)
        if c.price <= 0:
            return self.reject(c, ErrorCode.INVALID_PRICE)
        opp = self.queue(c.symbol_id, 1 - o.side)
        cross = bool(opp) and self.crosses(o.side, c.price, opp[0].price)
        if cross and o.post_only:
            return self.reject(c, ErrorCode.WOULD_CROSS)
        self.emit(c, order_id=o.order_id, price=c.price, qty=c.qty, leaves_qty=c.qty,
                  account=o.account, type=ExecType.ORDER_REPLACED, side=o.side)  # fmt: skip
        if c.price == o.price and c.qty <= o.qty:
            o.qty = c.qty  # keeps its sequence number, hence its queue position
            return None
        self.book(c.symbol_id).remove(o)
        left = c.qty
        if cross:
            left = self.sweep(c, o.order_id, o.side, False, c.price, c.qty, o.account)
        if left > 0:
            self.rest(c.symbol_id, o.order_id, o.side, c.price, left, o.account, o.post_only)
        return None

    def depth(self, symbol: int, side: int) -> list[tuple[int, int, int]]:
        """(price, qty, orders) per level, best first."""
        levels: dict[int, tuple[int, int]] = {}
        for o in self.queue(symbol, side):
            q, n = levels.get(o.price, (0, 0))
            levels[o.price] = (q + o.qty, n + 1)
        return [(p, q, n) for p, (q, n) in levels.items()]
