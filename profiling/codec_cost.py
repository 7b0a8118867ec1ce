"""Instructions per codec call, for before/after comparisons under callgrind:

    valgrind --tool=callgrind --callgrind-out-file=X python profiling/codec_cost.py N

runs N encode+decode rounds of the two batch shapes the services send most (strategy_runner: one
OrderCommand with 5 hop stamps; feed_handler: 12 MdEvents with 1 stamp); (Ir(N) - Ir(0)) / N is
the cost of one round, free of import and start-up costs. `--time` prints wall-clock per round
instead (noisy on a shared machine).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from minihft import codec
from minihft.records import MD_EVENT, ORDER_COMMAND


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("rounds", type=int)
    p.add_argument("--time", action="store_true")
    a = p.parse_args(argv)
    hops5 = codec.make_hops(*[(1_000 * i, 1, 1, 0) for i in range(5)])
    hops1 = codec.make_hops((1, 1, 1, 0))
    cmd = np.zeros(1, ORDER_COMMAND)
    ev = np.zeros(12, MD_EVENT)
    t0 = time.perf_counter()
    for i in range(a.rounds):
        m1 = codec.encode(codec.ORDERS, cmd, symbol_id=1, batch_seq=i, hops=hops5)
        m2 = codec.encode(codec.MD_EVENTS, ev, symbol_id=1, batch_seq=i, hops=hops1)
        codec.decode(m1, codec.ORDERS)
        codec.decode(m2, codec.MD_EVENTS)
    if a.time and a.rounds:
        print(f"{(time.perf_counter() - t0) / a.rounds * 1e6:.2f} us per round")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
