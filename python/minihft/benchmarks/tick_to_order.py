"""`minihft bench tick-to-order`: one market event published -> lob_engine book -> strategy_runner
decides -> order on Kafka -> lob_engine ack consumed, at a steady rate.

Every event changes the top of book (an add, then the delete of that order), so every event
yields one md.book update, one probe order and one OrderAccepted. The ack's hop stamps carry the
whole chain (this process's publish, lob_engine receive/publish, strategy receive/publish,
lob_engine receive/publish), so each hop's share is the difference of consecutive stamps; all
stamps are CLOCK_REALTIME on this host.
"""

from __future__ import annotations

import argparse
import gc
import json
import threading
import time
from typing import Any

import numpy as np
from confluent_kafka import Consumer, TopicPartition

from minihft import codec
from minihft.benchmarks._layout import CpuLayout, add_cpu_layout_option
from minihft.benchmarks._procs import Stack
from minihft.bus.kafka import KafkaBus
from minihft.records import MD_EVENT, ExecType, MdEventType, Side
from minihft.runtime.replay import symbol_key
from minihft.schema.HopPoint import HopPoint
from minihft.schema.Stage import Stage

HOPS = (
    "kafka_md_events",  # our publish -> lob_engine receive
    "lob_engine_book",  # lob_engine receive -> publish md.book
    "kafka_md_book",  # -> strategy_runner receive
    "strategy",  # strategy receive -> publish orders
    "kafka_orders",  # -> lob_engine receive
    "lob_engine_match",  # lob_engine receive -> publish exec.reports
    "kafka_exec_reports",  # -> consumed here
)
SYMBOL = 1
ACCOUNT = 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("tick-to-order", help="market event -> strategy -> order -> ack latency")
    p.add_argument("--round-trips", type=int, default=10_000)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--rate", type=float, default=500.0, help="market events per second")
    p.add_argument("--kafka-bootstrap", default="127.0.0.1:9092")
    p.add_argument("--partitions", type=int, default=4, help="partitions of each run topic")
    add_cpu_layout_option(p)
    p.add_argument(
        "--delivery",
        choices=("idempotent", "transactional"),
        default="idempotent",
        help="lob_engine delivery mode (transactional: outputs visible at each commit)",
    )
    p.add_argument(
        "--commit-interval-ms",
        type=int,
        default=None,
        help="lob_engine commit interval; default 10 transactional (outputs wait for their "
        "commit; a commit takes 5-20 ms on 2 cores, so 1 only queues them behind commits: p50 "
        "264 vs 52 ms), 100 idempotent (offset commits only shorten a restart's replay)",
    )
    p.set_defaults(handler=run)


def _event(i: int, now: int) -> Any:
    ev = np.zeros(1, MD_EVENT)
    e = ev[0]
    e["ts_event"] = e["ts_recv"] = now
    e["order_id"] = 1_000_000 + i // 2
    e["symbol_id"] = SYMBOL
    e["side"] = int(Side.BUY)
    if i % 2 == 0:  # add at a new best bid, then delete it: the top of book changes each time
        e["type"] = int(MdEventType.ADD)
        e["price"] = 1_000_000
        e["qty"] = 100
    else:
        e["type"] = int(MdEventType.DELETE)
    return ev


class _Acks(threading.Thread):
    def __init__(self, bootstrap: str, topic: str, group: str) -> None:
        super().__init__(daemon=True)
        self.c = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                # A fetch parked at the broker returns as soon as an ack lands; a short wait
                # would only make idle fetch round trips that load the shared 2-core broker.
                "fetch.wait.max.ms": 100,
                "socket.nagle.disable": True,
            }
        )
        parts = self.c.list_topics(topic, timeout=10).topics[topic].partitions
        self.c.assign([TopicPartition(topic, p, 0) for p in parts])
        # (receive ns, raw value): decoding waits until the run is over, so the measuring
        # process takes as little CPU as it can from the 2-core stack it measures.
        self.raw: list[tuple[int, bytes]] = []
        self._acks: list[tuple[int, Any]] = []
        self._decoded = 0  # raw[:_decoded] are in _acks (or were not ours)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            msgs = self.c.consume(num_messages=1, timeout=0.1)
            if msgs:
                msgs += self.c.consume(num_messages=100, timeout=0)
            now = time.time_ns()
            for m in msgs:
                if m.error() is None:
                    self.raw.append((now, m.value() or b""))
        self.c.close()

    def acks(self) -> list[tuple[int, Any]]:
        """(receive ns, hop stamps) of every exec.reports batch holding one of our probe's
        OrderAccepted reports, in arrival order. Each message is decoded once, by the first call
        that sees it."""
        end = len(self.raw)
        for now, value in self.raw[self._decoded : end]:
            b = codec.decode(value, codec.EXEC_REPORTS)
            r = b.records
            if ((r["type"] == int(ExecType.ORDER_ACCEPTED)) & (r["account"] == ACCOUNT)).any():
                self._acks.append((now, b.hops.copy()))
        self._decoded = end
        return self._acks


def run(args: argparse.Namespace) -> int:
    total = args.warmup + args.round_trips
    txn = args.delivery == "transactional"
    commit_ms = args.commit_interval_ms or (10 if txn else 100)
    layout = CpuLayout.choose(args.cpu_layout, args.kafka_bootstrap)
    with layout, Stack(args.kafka_bootstrap, "bench-t2o", partitions=args.partitions) as s:
        s.start_lob_engine(
            "--delivery", args.delivery, "--commit-interval-ms", str(commit_ms), "--linger-ms", "0"
        )
        s.start_python("strategy_runner", "--strategy", "probe", "--account", str(ACCOUNT))
        s.wait_ready()
        acks = _Acks(args.kafka_bootstrap, s.topics.exec_reports, f"bench-{s.run_id}")
        acks.start()
        bus = KafkaBus(args.kafka_bootstrap, profile="latency", client_id="bench")
        period = 1e9 / args.rate
        # Nothing allocated so far lives long: a full collection in the ack thread would
        # stall the receive stamps.
        gc.collect()
        gc.freeze()
        t0 = time.monotonic_ns()
        for i in range(total):
            # Sleep, not spin: on 2 cores a spinning publisher takes CPU from the stack under
            # test; the pacing jitter (timer slack) does not enter the latency (stamped at send).
            if (d := t0 + int(i * period) - time.monotonic_ns()) > 0:
                time.sleep(d / 1e9)
            now = time.time_ns()
            hops = codec.make_hops((now, Stage.FeedHandler, HopPoint.Publish, 0))
            msg = codec.encode(codec.MD_EVENTS, _event(i, now), symbol_id=SYMBOL, batch_seq=i,
                               hops=hops)  # fmt: skip
            bus.publish(s.topics.md_events, msg, key=symbol_key(SYMBOL))
            if i % 100 == 0:
                s.check_alive()
        deadline = time.monotonic() + 30
        # Decoding only once the acks stop arriving: decoding earlier would hold the GIL
        # while the last round trips' receive stamps are taken.
        seen = -1
        while time.monotonic() < deadline and (len(acks.raw) != seen or len(acks.acks()) < total):
            seen = len(acks.raw)
            time.sleep(0.2)
        acks.stop.set()
        acks.join()
        bus.close()
    all_rows = acks.acks()
    rows = all_rows[args.warmup :]
    if len(rows) < args.round_trips:
        raise SystemExit(f"only {len(all_rows)} of {total} acks arrived")
    stamps = np.array([np.append(h["ts"].astype(np.int64), t) for t, h in rows if len(h) == 7])
    if len(stamps) < len(rows):
        raise SystemExit(f"{len(rows) - len(stamps)} acks without the 7 expected hop stamps")
    total_us = (stamps[:, -1] - stamps[:, 0]) / 1e3
    shares = np.diff(stamps, axis=1) / 1e3
    pct = {f"p{q:g}_us": round(float(np.percentile(total_us, q)), 1) for q in (50, 99, 99.9)}
    out = {
        "bench": "tick_to_order",
        "round_trips": len(rows),
        "rate_per_s": args.rate,
        **pct,
        "max_us": round(float(total_us.max()), 1),
        "hop_median_us": {h: round(float(np.median(shares[:, k])), 1) for k, h in enumerate(HOPS)},
        "hop_p99_us": {
            h: round(float(np.percentile(shares[:, k], 99)), 1) for k, h in enumerate(HOPS)
        },
        "cpu_layout": layout.describe(),
        "lob_engine_delivery": args.delivery,
        "lob_engine_commit_interval_ms": commit_ms,
    }  # fmt: skip
    print(json.dumps(out))
    return 0
