"""SYNTHETIC ITCH 5.0 days whose order flow is fitted to the real LOBSTER samples.

`fit_lobster()` measures, on the LOBSTER message + orderbook pairs, the statistics the generator
draws from: event-type mix, add price offsets from the same-side touch in ticks, add sizes, order
fates (deleted / executed / alive at the close) with their lifetimes, executions per executed
order, partial-cancel and replace shares (LOBSTER has no replace type: a delete followed at the
same timestamp by an add on the same side is one), hidden-print share and add inter-arrival times.
`flow_stats()` measures the same on any MD_EVENT flow, so a generated day can be checked against
the fit (tests/unit/test_synthetic_itch.py).

`generate()` runs the native simulation (services/feed_handler/native/src/itch_synth.cpp) and
streams its frames to disk: S, one R per symbol, A/F/E/C/X/D/U/P, S. Symbol k runs at the fitted
pace slowed by a time scale (Zipf over symbols, at least 1) so that the requested message count
fills about one 6.5 hour session; `flow_stats(..., time_scale=...)` divides it back out.
Everything is labelled synthetic: the file name must say so and a `.meta.json` sidecar records
`"synthetic": true`, the seed and the fit.

Known gaps (model v4): no drift of the mid, and one pooled fit for two tickers whose spreads
differ by 2x, so generated spreads are wider in the tail than LOBSTER's (p90 ~46 vs 39 ticks at
400k messages, 40 symbols, seed 11) and delete lifetimes ~27% shorter. `FlowStats.summary()`
reports spreads so the gap stays visible.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minihft import _feed
from minihft.paths import lobster_dir
from minihft.records import MdEventType, Side

LOBSTER_DIR = lobster_dir()
# The largest file of each ticker (the level only changes the orderbook file, not the flow model).
_DAY = "2012-06-21_34200000_57600000"
LOBSTER_PAIRS = (
    (f"GOOG_{_DAY}_message_10.csv.gz", f"GOOG_{_DAY}_orderbook_10.csv.gz"),
    (f"AMZN_{_DAY}_message_5.csv.gz", f"AMZN_{_DAY}_orderbook_5.csv.gz"),
)
TICK = 100  # one cent in 1e-4 $ price units
SESSION_NS = 23_400 * 10**9  # 09:30 to 16:00
START_NS = 34_200 * 10**9
QUANTILES = 1025  # quantile table size for the continuous draws
DISCRETE = 4096  # table size for the discrete draws (offsets, sizes)
MAX_EXECS = 16
CANCEL_ALL = True  # see _fate
KMARKETABLE = -1_000_000_000  # kMarketable in synth.hpp: offset entries at or below are aggressors
KSPREAD_BUCKET = -2_000_000_000_000  # kSpreadBucket in synth.hpp: marks a spread bucket's table
# Lower bounds (ticks) of the spread buckets limit offsets are fitted in: the sample's adds
# improve far deeper into wide spreads (p10 -19 ticks above 64 vs -1 below 17).
SPREAD_BUCKETS = (1, 2, 3, 4, 5, 7, 9, 11, 13, 17, 21, 25, 33, 41, 49, 65, 97)
# Not observable in LOBSTER (no MPIDs, no printable flag): small fixed shares, documented as such.
P_ATTRIBUTED = 0.03
P_EXEC_AT_PRICE = 0.02

A, E, C, X, D, U, P = (
    int(MdEventType.ADD),
    int(MdEventType.EXECUTE),
    int(MdEventType.EXECUTE_AT_PRICE),
    int(MdEventType.CANCEL),
    int(MdEventType.DELETE),
    int(MdEventType.REPLACE),
    int(MdEventType.HIDDEN_TRADE),
)
MIX_KEYS = ("add", "delete", "cancel", "execute", "hidden")


@dataclass
class FlowStats:
    """Samples and shares measured on one flow (or several, concatenated)."""

    mix: dict[str, float]  # share of each MIX_KEYS kind; a U counts as a delete plus an add
    offsets: NDArray[np.int64]  # add price offset from the same-side touch, ticks (>0 = behind)
    sizes: NDArray[np.int64]
    arrivals_ns: NDArray[np.float64]  # add inter-arrival per symbol, time-scale normalised
    life_delete_ns: NDArray[np.float64]
    life_execute_ns: NDArray[np.float64]
    exec_counts: NDArray[np.int64]  # executions per executed order
    p_buy: float
    p_delete: float
    p_execute: float
    p_partial_cancel: float
    p_replace: float  # of order removals by delete
    p_hidden: float  # hidden prints per arrival
    # Per tracked order (add seen): offset class (0 inside, 1 at touch, 2 behind / side empty),
    # fate (0 deleted, 1 executed, 2 alive at the end) and lifetime (ns, scaled; 0 if alive).
    order_class: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    order_fate: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    order_life_ns: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    spreads: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))  # ticks
    # Aggressors: runs of executions at one timestamp in one symbol (one marketable order each).
    aggr_execs: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    aggr_qty: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    aggr_sweep: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))  # took all
    # spread (ticks) just before each of `offsets`' adds; 0 when a side was empty
    offset_spreads: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    n_limit_arrivals: int = 0  # adds that are not the add half of a replace
    messages_per_arrival: float = 1.0  # book messages (a replace is one) per incoming order

    def summary(self) -> dict[str, float]:
        def q(x: NDArray[Any], p: float) -> float:
            return float(np.quantile(x, p)) if len(x) else float("nan")

        out = {f"mix_{k}": v for k, v in self.mix.items()}
        out |= {
            "offset_p10": q(self.offsets, 0.1),
            "offset_p50": q(self.offsets, 0.5),
            "offset_p90": q(self.offsets, 0.9),
            "offset_at_touch": float(np.mean(self.offsets == 0)) if len(self.offsets) else 0.0,
            "offset_inside": float(np.mean(self.offsets < 0)) if len(self.offsets) else 0.0,
            "spread_p10": q(self.spreads, 0.1),
            "spread_p50": q(self.spreads, 0.5),
            "spread_p90": q(self.spreads, 0.9),
            "spread_one_tick": float(np.mean(self.spreads == 1)) if len(self.spreads) else 0.0,
            "size_p50": q(self.sizes, 0.5),
            "size_p90": q(self.sizes, 0.9),
            "size_mean": float(np.mean(self.sizes)) if len(self.sizes) else 0.0,
            "arrival_p50_ns": q(self.arrivals_ns, 0.5),
            "arrival_mean_ns": float(np.mean(self.arrivals_ns)) if len(self.arrivals_ns) else 0,
            "life_delete_p10_ns": q(self.life_delete_ns, 0.1),
            "life_delete_p50_ns": q(self.life_delete_ns, 0.5),
            "life_delete_p90_ns": q(self.life_delete_ns, 0.9),
            "life_execute_p10_ns": q(self.life_execute_ns, 0.1),
            "life_execute_p50_ns": q(self.life_execute_ns, 0.5),
            "life_execute_p90_ns": q(self.life_execute_ns, 0.9),
            "exec_count_mean": float(np.mean(self.exec_counts)) if len(self.exec_counts) else 0,
            "aggr_execs_mean": float(np.mean(self.aggr_execs)) if len(self.aggr_execs) else 0,
            "aggr_single": float(np.mean(self.aggr_execs == 1)) if len(self.aggr_execs) else 0,
            "aggr_qty_mean": float(np.mean(self.aggr_qty)) if len(self.aggr_qty) else 0,
            "p_buy": self.p_buy,
            "p_delete": self.p_delete,
            "p_execute": self.p_execute,
            "p_partial_cancel": self.p_partial_cancel,
            "p_replace": self.p_replace,
            "p_hidden": self.p_hidden,
        }
        return out


def _touch_before(ev: NDArray[np.void], after: NDArray[np.int64]) -> tuple[NDArray[np.int64], ...]:
    """Best bid and ask (0 = empty) before each event, from the (n, 4) top-of-book after each
    event ([ask_px, ask_qty, bid_px, bid_qty]), within each event's symbol."""
    sym = ev["symbol_id"]
    order = np.argsort(sym, kind="stable")
    bid = np.zeros(len(ev), dtype=np.int64)
    ask = np.zeros(len(ev), dtype=np.int64)
    s = sym[order]
    same = np.zeros(len(ev), dtype=bool)
    same[1:] = s[1:] == s[:-1]
    prev = np.roll(order, 1)
    bid[order[same]] = after[prev[same], 2]
    ask[order[same]] = after[prev[same], 0]
    return bid, ask


def flow_stats(
    ev: NDArray[np.void],
    top_after: NDArray[np.int64],
    time_scale: NDArray[np.float64] | None = None,
    tick: int = TICK,
) -> FlowStats:
    """Measures an MD_EVENT flow. top_after: (n, 4) [ask_px, ask_qty, bid_px, bid_qty] after each
    event (0 = empty side). time_scale: per symbol id, divides every duration of that symbol."""
    n = len(ev)
    typ = ev["type"].astype(np.int64)
    sym = ev["symbol_id"].astype(np.int64)
    ts = ev["ts_event"].astype(np.int64)
    side = ev["side"]
    scale = np.ones(n) if time_scale is None else np.asarray(time_scale, dtype=np.float64)[sym]
    is_add = typ == A
    # A delete followed at the same time by a same-side add of the same symbol: a replace.
    proxy = np.zeros(n, dtype=bool)
    if n > 1:
        proxy[:-1] = (
            (typ[:-1] == D) & is_add[1:] & (ts[:-1] == ts[1:]) & (sym[:-1] == sym[1:])
            & (side[:-1] == side[1:])
        )  # fmt: skip
    n_u = int(np.sum(typ == U))
    counts = {
        "add": int(is_add.sum()) + n_u,
        "delete": int(np.sum(typ == D)) + n_u,
        "cancel": int(np.sum(typ == X)),
        "execute": int(np.sum((typ == E) | (typ == C))),
        "hidden": int(np.sum(typ == P)),
    }
    total = max(1, sum(counts.values()))
    mix = {k: v / total for k, v in counts.items()}

    bid, ask = _touch_before(ev, top_after)
    both = (top_after[:, 0] > 0) & (top_after[:, 2] > 0)
    spread_after = ((top_after[both, 0] - top_after[both, 2]) // tick).astype(np.int64)
    price = ev["price"].astype(np.int64)
    buy = is_add & (side == int(Side.BUY)) & (bid > 0)
    sell = is_add & (side == int(Side.SELL)) & (ask > 0)
    offsets = np.concatenate([(bid[buy] - price[buy]) // tick, (price[sell] - ask[sell]) // tick])
    spread_before = np.where((bid > 0) & (ask > 0), (ask - bid) // tick, 0)
    offset_spreads = np.concatenate([spread_before[buy], spread_before[sell]])
    # Offset class of every new order (A/F or the new half of a U): 0 inside the spread, 1 at the
    # touch, 2 behind it or with its side empty. Fates and lifetimes are fitted per class.
    is_buy = side == int(Side.BUY)
    ref = np.where(is_buy, bid, ask)
    off_ev = np.where(is_buy, ref - price, price - ref) // tick
    cls_ev = np.where(ref <= 0, 2, np.where(off_ev < 0, 0, np.where(off_ev == 0, 1, 2)))

    # Aggressors: runs of consecutive executions sharing a timestamp and a symbol.
    x_idx = np.flatnonzero((typ == E) | (typ == C))
    first = np.r_[
        True, (np.diff(x_idx) > 1) | (np.diff(ts[x_idx]) != 0) | (np.diff(sym[x_idx]) != 0)
    ]
    run = np.cumsum(first) - 1
    aggr_execs = np.bincount(run).astype(np.int64)
    aggr_qty = np.bincount(run, weights=ev["qty"][x_idx].astype(np.float64)).astype(np.int64)
    # Did the aggressor take all the level it hit showed (bid or ask quantity just before)?
    x0 = x_idx[first]
    shown = np.where(side[x0] == int(Side.BUY), top_after[x0 - 1, 3], top_after[x0 - 1, 1])
    aggr_sweep = (x0 > 0) & (sym[np.maximum(x0 - 1, 0)] == sym[x0]) & (aggr_qty == shown)
    # Arrivals of incoming orders: adds that are not the add half of a replace, and aggressors.
    arr = is_add.copy()
    arr[1:] &= ~proxy[:-1]
    n_limit = int(arr.sum())
    arr[x_idx[first]] = True
    a_idx = np.flatnonzero(arr)
    a_idx = a_idx[np.argsort(sym[a_idx], kind="stable")]
    gaps = np.diff(ts[a_idx]).astype(np.float64) / scale[a_idx[1:]]
    arrivals = gaps[sym[a_idx[1:]] == sym[a_idx[:-1]]]

    # Per order rows: (id, event index, kind 0 add / 1 exec / 2 cancel / 3 delete, qty).
    u = typ == U
    rows_id = np.concatenate([ev["order_id"][is_add], ev["new_order_id"][u]])
    rows_ix = np.concatenate([np.flatnonzero(is_add), np.flatnonzero(u)])
    rows_k = np.zeros(len(rows_id), dtype=np.int64)
    rows_q = np.concatenate([ev["qty"][is_add], ev["qty"][u]]).astype(np.int64)
    for kind, mask in ((1, (typ == E) | (typ == C)), (2, typ == X), (3, (typ == D) | u)):
        rows_id = np.concatenate([rows_id, ev["order_id"][mask]])
        rows_ix = np.concatenate([rows_ix, np.flatnonzero(mask)])
        rows_k = np.concatenate([rows_k, np.full(int(mask.sum()), kind)])
        rows_q = np.concatenate([rows_q, ev["qty"][mask].astype(np.int64)])
    o = np.lexsort((rows_ix, rows_id))
    rid, rix, rk, rq = rows_id[o], rows_ix[o], rows_k[o], rows_q[o]
    start = np.flatnonzero(np.r_[True, rid[1:] != rid[:-1]])
    end = np.r_[start[1:], len(rid)] - 1
    tracked = rk[start] == 0
    n_exec = np.add.reduceat((rk == 1).astype(np.int64), start)
    n_canc = np.add.reduceat((rk == 2).astype(np.int64), start)
    taken = np.add.reduceat(np.where((rk == 1) | (rk == 2), rq, 0), start)
    last_k = rk[end]
    deleted = tracked & (last_k == 3)
    executed = tracked & (last_k == 1) & (taken == rq[start])
    life = (ts[rix[end]] - ts[rix[start]]).astype(np.float64) / scale[rix[start]]
    cls = cls_ev[rix[start]]
    n_tracked = max(1, int(tracked.sum()))
    n_del_rows = int(np.sum(typ == D)) + n_u
    return FlowStats(
        mix=mix,
        offsets=offsets.astype(np.int64),
        offset_spreads=offset_spreads.astype(np.int64),
        sizes=ev["qty"][is_add].astype(np.int64),
        arrivals_ns=arrivals,
        life_delete_ns=life[deleted],
        life_execute_ns=life[executed],
        exec_counts=n_exec[executed],
        p_buy=float(np.mean(side[is_add] == int(Side.BUY))) if is_add.any() else 0.5,
        p_delete=float(deleted.sum()) / n_tracked,
        p_execute=float(executed.sum()) / n_tracked,
        p_partial_cancel=float(np.sum(tracked & (n_canc > 0))) / n_tracked,
        p_replace=(n_u + int(proxy.sum())) / max(1, n_del_rows),
        p_hidden=counts["hidden"] / max(1, int(arr.sum())),
        aggr_execs=aggr_execs,
        aggr_qty=aggr_qty,
        aggr_sweep=aggr_sweep,
        n_limit_arrivals=n_limit,
        messages_per_arrival=(sum(counts.values()) - n_u - int(proxy.sum()))
        / max(1, int(arr.sum())),
        order_class=cls[tracked].astype(np.int64),
        order_fate=np.where(deleted, 0, np.where(executed, 1, 2))[tracked].astype(np.int64),
        order_life_ns=np.where(deleted | executed, life, 0.0)[tracked],
        spreads=spread_after,
    )


def merge(stats: list[FlowStats]) -> FlowStats:
    """Pools samples; shares are averaged weighted by sample counts where that is meaningful."""
    w = np.array([len(s.sizes) for s in stats], dtype=np.float64)
    w /= w.sum()

    def avg(name: str) -> float:
        return float(sum(wi * getattr(s, name) for wi, s in zip(w, stats, strict=True)))

    return FlowStats(
        mix={
            k: float(sum(wi * s.mix[k] for wi, s in zip(w, stats, strict=True))) for k in MIX_KEYS
        },
        offsets=np.concatenate([s.offsets for s in stats]),
        offset_spreads=np.concatenate([s.offset_spreads for s in stats]),
        sizes=np.concatenate([s.sizes for s in stats]),
        arrivals_ns=np.concatenate([s.arrivals_ns for s in stats]),
        life_delete_ns=np.concatenate([s.life_delete_ns for s in stats]),
        life_execute_ns=np.concatenate([s.life_execute_ns for s in stats]),
        exec_counts=np.concatenate([s.exec_counts for s in stats]),
        p_buy=avg("p_buy"),
        p_delete=avg("p_delete"),
        p_execute=avg("p_execute"),
        p_partial_cancel=avg("p_partial_cancel"),
        p_replace=avg("p_replace"),
        p_hidden=avg("p_hidden"),
        order_class=np.concatenate([s.order_class for s in stats]),
        order_fate=np.concatenate([s.order_fate for s in stats]),
        order_life_ns=np.concatenate([s.order_life_ns for s in stats]),
        spreads=np.concatenate([s.spreads for s in stats]),
        aggr_execs=np.concatenate([s.aggr_execs for s in stats]),
        aggr_qty=np.concatenate([s.aggr_qty for s in stats]),
        aggr_sweep=np.concatenate([s.aggr_sweep for s in stats]),
        n_limit_arrivals=sum(s.n_limit_arrivals for s in stats),
        messages_per_arrival=avg("messages_per_arrival"),
    )


@functools.cache
def fit_lobster(lobster_dir: Path = LOBSTER_DIR) -> FlowStats:
    """FlowStats of the real LOBSTER samples (cached per process)."""
    from minihft.marketdata.lobster import EMPTY_ASK, read_messages, read_orderbook

    parts = []
    for msg, book in LOBSTER_PAIRS:
        ev = read_messages(lobster_dir / msg).events
        depth = read_orderbook(lobster_dir / book).depth[:, 0, :].astype(np.int64)
        depth[np.abs(depth[:, 0]) >= EMPTY_ASK, 0] = 0
        depth[np.abs(depth[:, 2]) >= EMPTY_ASK, 2] = 0
        parts.append(flow_stats(ev, depth))
    return merge(parts)


def _table(x: NDArray[Any], n: int, discrete: bool) -> list[Any]:
    if discrete:
        q = np.quantile(x, (np.arange(n) + 0.5) / n, method="inverted_cdf")
        return [int(v) for v in q]
    return [float(v) for v in np.quantile(x, np.linspace(0.0, 1.0, n))]


def _fate(f: FlowStats, cls: int, per_class: bool) -> dict[str, Any]:
    """Cancel plan of orders that landed in offset class cls (per_class), or the pooled one
    (also when the sample has too few such orders).

    Execution is not drawn per order: aggressors take whoever is at the touch, so an order
    executed in the sample hides when it would have been cancelled. The cancel-bound share is
    therefore taken among the orders that were not executed (deleted / (deleted + alive))."""
    m = f.order_class == cls
    dele, alive = m & (f.order_fate == 0), m & (f.order_fate == 2)
    if not per_class or dele.sum() < 100:
        life_d = f.life_delete_ns
        dele, alive = f.order_fate == 0, f.order_fate == 2
    else:
        life_d = f.order_life_ns[dele]
    # Every order aggressors do not take is cancel-bound: the sample's orders alive at the close
    # were stranded there by a drift of the mid (550 to 1600 ticks over the day) that the
    # simulation does not produce; resting for good they crowd the touch and halve the spread.
    p_cancel = 1.0 if CANCEL_ALL else float(dele.sum() / max(1, dele.sum() + alive.sum()))
    return {
        "p_delete": p_cancel,
        "p_execute": 0.0,  # unused since model v3
        "life_delete_ns": _table(life_d, QUANTILES, False),
        "life_execute_ns": [0.0],  # unused since model v3
    }


def incoming_table(f: FlowStats, n: int = DISCRETE) -> list[int]:
    """One discrete table for every incoming order: limit offsets in ticks from the same-side
    touch, and the marketable orders (aggressors) at their share of arrivals: KMARKETABLE for
    one that takes all the touch shows (the sample's most common aggressor), else
    KMARKETABLE - size with the sizes the sample's other aggressors executed."""
    n_agg = len(f.aggr_execs)
    k = round(n * n_agg / max(1, n_agg + f.n_limit_arrivals)) if n_agg else 0
    k_sweep = round(k * float(np.mean(f.aggr_sweep))) if k else 0
    part = f.aggr_qty[~f.aggr_sweep]
    agg = [KMARKETABLE] * k_sweep
    if k > k_sweep and len(part):
        agg += [KMARKETABLE - max(1, v) for v in _table(part, k - k_sweep, True)]
    return _table(f.offsets, n - len(agg), True) + agg


def spread_bucket_tables(f: FlowStats, n: int = DISCRETE) -> list[int]:
    """Limit offsets by the spread they were drawn at, in-band after the incoming table: a
    KSPREAD_BUCKET - lo mark, then that bucket's table (empty when the sample has no add there;
    the generator then falls back to the pooled table)."""
    out: list[int] = []
    his = (*SPREAD_BUCKETS[1:], np.iinfo(np.int64).max)
    for lo, hi in zip(SPREAD_BUCKETS, his, strict=True):
        x = f.offsets[(f.offset_spreads >= lo) & (f.offset_spreads < hi)]
        out.append(KSPREAD_BUCKET - lo)
        if len(x):
            out += _table(x, n, True)
    return out


def messages_per_arrival(f: FlowStats) -> float:
    """Frames per incoming order (limit or marketable) in the fitted sample."""
    return f.messages_per_arrival


def time_scales(messages: int, symbols: int, fit: FlowStats) -> NDArray[np.float64]:
    """Per symbol slow-down so `messages` fill about one session: Zipf activity (rank k runs
    k/c times slower than the fitted sample), never faster than the sample unless even
    every symbol at full pace would not fill the day."""
    per_symbol_full = SESSION_NS / float(np.mean(fit.arrivals_ns)) * messages_per_arrival(fit)
    need = max(1.0, messages - symbols - 2) / per_symbol_full  # sum of 1/scale wanted
    rank = np.arange(1, symbols + 1, dtype=np.float64)
    if need >= symbols:
        return np.full(symbols, symbols / need)
    lo, hi = 1e-9, float(symbols) * 1e6
    for _ in range(200):
        c = (lo * hi) ** 0.5
        total = float(np.sum(1.0 / np.maximum(1.0, rank / c)))
        lo, hi = (c, hi) if total < need else (lo, c)
    return np.maximum(1.0, rank / lo)


def symbol_names(k: int) -> list[str]:
    return [f"SYN{i:05d}" for i in range(1, k + 1)]


def params(
    messages: int,
    symbols: int,
    seed: int,
    fit: FlowStats | None = None,
    per_class_fates: bool = True,
) -> dict[str, Any]:
    f = fit if fit is not None else fit_lobster()
    rng = np.random.default_rng(seed)
    base = np.round(np.exp(rng.uniform(np.log(5.0), np.log(500.0), symbols)) * 100) * TICK
    counts = np.bincount(np.clip(f.exec_counts, 1, MAX_EXECS) - 1, minlength=MAX_EXECS)
    return {
        "seed": seed,
        "messages": messages,
        "start_ns": START_NS,
        "tick": TICK,
        "p_buy": f.p_buy,
        "p_attributed": P_ATTRIBUTED,
        "p_hidden": f.p_hidden,
        "fate": [_fate(f, k, per_class_fates) for k in range(3)],
        "p_replace": f.p_replace,
        # the generator draws a partial cancel only for cancel-bound orders
        "p_partial_cancel": min(1.0, f.p_partial_cancel / max(1e-9, f.p_delete)),
        "p_exec_at_price": P_EXEC_AT_PRICE,
        "exec_count_cdf": [float(v) for v in np.cumsum(counts) / max(1, counts.sum())],
        "arrival_ns": _table(f.arrivals_ns, QUANTILES, False),
        "offset_ticks": incoming_table(f) + spread_bucket_tables(f),
        "sizes": _table(f.sizes, DISCRETE, True),
        "spread_ticks": _table(f.spreads, DISCRETE, True),
        "symbols": symbol_names(symbols),
        "scale": [float(v) for v in time_scales(messages, symbols, f)],
        "base_price": [int(v) for v in base],
    }


# Bumped whenever the model changes, so cached default days under build/ are not reused stale.
MODEL_VERSION = 4


def default_path(messages: int, symbols: int, seed: int, out_dir: Path) -> Path:
    return out_dir / f"synthetic_itch_v{MODEL_VERSION}_{messages}msg_{symbols}sym_seed{seed}.itch"


def meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".meta.json")


def generate(
    path: str | Path,
    messages: int,
    symbols: int,
    seed: int,
    fit: FlowStats | None = None,
    chunk_bytes: int = 8 << 20,
) -> dict[str, Any]:
    """Writes the day to path (via a .part file) and its sidecar; returns the sidecar dict."""
    out = Path(path)
    if "synthetic" not in out.name.lower():
        raise ValueError(f"{out}: a synthetic ITCH file's name must contain 'synthetic'")
    p = params(messages, symbols, seed, fit)
    gen = _feed.SynthGenerator(p)
    tmp = out.with_name(out.name + ".part")
    out.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with open(tmp, "wb") as f:
        while not gen.done:
            blob = gen.next(chunk_bytes)
            f.write(blob)
            size += len(blob)
    tmp.replace(out)
    meta = {
        "synthetic": True,
        "generator": "minihft.marketdata.synthetic",
        "model_version": MODEL_VERSION,
        "fitted_to": [m for m, _ in LOBSTER_PAIRS],
        "messages": int(gen.written),
        "symbols": symbols,
        "seed": seed,
        "bytes": size,
        "last_ts_ns": int(gen.now),
        "scale": p["scale"],
        "fit": (fit if fit is not None else fit_lobster()).summary(),
    }
    meta_path(out).write_text(json.dumps(meta))
    return meta


def read_meta(path: str | Path) -> dict[str, Any]:
    return dict(json.loads(meta_path(Path(path)).read_text()))


def stats_of_file(path: str | Path) -> tuple[FlowStats, dict[str, Any]]:
    """FlowStats of a generated day (whole file in memory: for small days and tests)."""
    from minihft.book import BookBuilder
    from minihft.marketdata.itch import parse_file

    meta = read_meta(path)
    res = parse_file(path)
    bb = BookBuilder(256)
    status, depth = bb.apply_with_depth(res.events, 1)
    scale = np.r_[1.0, np.asarray(meta["scale"], dtype=np.float64)]  # locate 0 unused
    st = flow_stats(res.events, depth.reshape(len(res.events), 4), scale)
    info = {"status": status, "parse": res, "books": bb}
    return st, info
