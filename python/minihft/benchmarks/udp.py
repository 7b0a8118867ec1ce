"""`minihft bench udp`: replay -> MoldUDP64 on loopback -> receiver thread -> SPSC ring -> consumer.

The consumer drains the ring in batches and feeds them to the native ITCH parser (or, without
it, only counts frames, which the drain already does in C++). Without --file the input is a
synthetic but well-formed ITCH stream of A/E/X/D/U messages (labelled "synthetic": true).
Prints one JSON line; figures are medians over --runs runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from minihft.marketdata.live import MoldUdp64Receiver, MoldUdp64Replayer, read_itch
from minihft.records import MD_EVENT, MdEventType

SYMBOLS = {i + 1: s for i, s in enumerate(("AAPL", "MSFT", "AMZN", "GOOG", "NVDA", "META"))}


def synthetic_itch(n: int, seed: int = 7) -> bytes:
    """n ITCH messages: adds, then executions, cancels, deletes and replaces of earlier adds."""
    from minihft.marketdata.itch import encode_events

    rng = np.random.default_rng(seed)
    kinds = np.array(
        [MdEventType.ADD, MdEventType.EXECUTE, MdEventType.CANCEL, MdEventType.DELETE,
         MdEventType.REPLACE],
        dtype=np.uint8,
    )  # fmt: skip
    t = rng.choice(kinds, size=n, p=[0.45, 0.10, 0.10, 0.25, 0.10])
    t[:100] = MdEventType.ADD
    is_add = t == MdEventType.ADD
    adds_so_far = np.cumsum(is_add)
    ev = np.zeros(n, dtype=MD_EVENT)
    ev["type"] = t
    ev["ts_event"] = 34_200_000_000_000 + np.cumsum(rng.integers(100, 2_000, n))
    ev["symbol_id"] = rng.integers(1, len(SYMBOLS) + 1, n)
    ev["side"] = rng.integers(0, 2, n)
    ev["price"] = 1_000_000 + rng.integers(-5_000, 5_000, n) * 100
    ev["qty"] = rng.integers(1, 11, n) * 100
    ref = (rng.random(n) * adds_so_far).astype(np.uint64) + 1  # an earlier add
    ev["order_id"] = np.where(is_add, adds_so_far, ref)
    ev["new_order_id"] = np.where(t == MdEventType.REPLACE, 10**9 + np.arange(n), 0)
    parts, match = [], 0
    for i in range(0, n, 1 << 20):
        blob, match = encode_events(ev[i : i + (1 << 20)], SYMBOLS, match)
        parts.append(blob)
    return b"".join(parts)


def _parser() -> Any:
    try:
        from minihft import _feed
    except ImportError:
        return None
    return _feed.Parser("stop")


def run_once(data: bytes, expected: int, max_rate: float, timeout_s: float) -> dict[str, Any]:
    parser = _parser()
    parsed = 0
    got = 0
    with (
        MoldUdp64Receiver(ring_bytes=1 << 26, rcvbuf=64 << 20) as rx,
        MoldUdp64Replayer(data, rx.port, linger_ms=3000, max_rate=max_rate) as tx,
    ):
        rx.set_rerequest(tx.rerequest_port)
        rx.start()
        t0 = time.perf_counter()
        tx.start()
        t_last = t0
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            b = rx.drain(4 << 20)
            if b.messages:
                got += b.messages
                t_last = time.perf_counter()
                if parser is not None:
                    parser.feed(np.frombuffer(b.data, dtype=np.uint8))
                    parsed += len(parser.take()["events"]) // MD_EVENT.itemsize
            elif rx.finished:
                break
            else:
                time.sleep(0.0005)
        rc = rx.counters()
        tc = tx.counters()
    elapsed = t_last - t0
    return {
        "messages": got,
        "messages_per_s": got / elapsed if elapsed > 0 else 0.0,
        "lost": expected - got,
        "gaps": rc["gaps"],
        "retransmitted": rc["retransmitted"],
        "parsed_events": parsed if parser is not None else None,
        "ring_full_waits": rc["ring_full_waits"],
        "send_errors": tc["send_errors"],
    }


def run(args: argparse.Namespace) -> int:
    synthetic = args.file is None
    data = synthetic_itch(args.messages) if synthetic else read_itch(args.file)
    with MoldUdp64Replayer(data, 9, linger_ms=0) as probe:  # validates framing, counts messages
        expected = probe.message_count
    runs = [run_once(data, expected, args.max_rate, args.timeout) for _ in range(args.runs)]

    def med(key: str) -> float:
        return float(statistics.median(r[key] for r in runs))

    out = {
        "bench": "udp",
        "messages": expected,
        "messages_per_s": round(med("messages_per_s")),
        "lost": int(max(r["lost"] for r in runs)),
        "gaps": int(med("gaps")),
        "retransmitted": int(med("retransmitted")),
        "synthetic": synthetic,
        "runs": args.runs,
        "per_run_messages_per_s": [round(r["messages_per_s"]) for r in runs],
        "parser": runs[0]["parsed_events"] is not None,
        "max_rate": args.max_rate,
    }
    print(json.dumps(out))
    return 0 if out["lost"] == 0 else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("udp", help="ITCH over MoldUDP64 on loopback into the SPSC ring")
    p.add_argument("--file", type=Path, default=None, help="ITCH file (default: synthetic)")
    p.add_argument("--messages", type=int, default=5_000_000, help="synthetic stream length")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--max-rate", type=float, default=0.0, help="sender msg/s cap (0: none)")
    p.add_argument("--timeout", type=float, default=120.0, help="per run, seconds")
    p.set_defaults(handler=run)
