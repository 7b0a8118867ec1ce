"""`minihft bench kafka-hop`: the floor under tick-to-order. One producer -> broker -> consumer
hop with nothing of ours in between, at the same steady rate and with the same client settings
as the services' latency path (idempotent producer, acks=all, linger 0, Nagle off), on a fresh
one-partition topic. tick-to-order crosses four such hops in series (md.events, md.book, orders,
exec.reports), so its p99 cannot be far below what this prints for one.

Stamps are CLOCK_REALTIME in one process: the producer's send, the consumer's receive.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid

import numpy as np
import numpy.typing as npt
from confluent_kafka import Consumer, Producer, TopicPartition

from minihft.benchmarks._layout import CpuLayout, add_cpu_layout_option
from minihft.bus.kafka import KafkaBus


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("kafka-hop", help="one producer -> broker -> consumer hop, latency")
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--rate", type=float, default=500.0, help="messages per second")
    p.add_argument("--kafka-bootstrap", default="127.0.0.1:9092")
    add_cpu_layout_option(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    layout = CpuLayout.choose(args.cpu_layout, args.kafka_bootstrap)
    with layout:
        us = _measure(args)
    pct = {f"p{q:g}_us": round(float(np.percentile(us, q)), 1) for q in (50, 99, 99.9)}
    print(
        json.dumps(
            {"bench": "kafka_hop", "messages": len(us), "rate_per_s": args.rate, **pct,
             "cpu_layout": layout.describe()}
        )
    )  # fmt: skip
    return 0


def _measure(args: argparse.Namespace) -> npt.NDArray[np.float64]:
    """Latency of each message after the warm-up, us."""
    topic = f"bench.kafka-hop.{uuid.uuid4().hex[:8]}"
    bus = KafkaBus(args.kafka_bootstrap)
    bus.create_topics([topic], partitions=1)
    total = args.warmup + args.messages
    received: list[int] = []
    consumer = Consumer(
        {
            "bootstrap.servers": args.kafka_bootstrap,
            "group.id": topic,
            "enable.auto.commit": False,
            "socket.nagle.disable": True,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    producer = Producer(
        {
            "bootstrap.servers": args.kafka_bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 0,
            "socket.nagle.disable": True,
        }
    )

    def receive() -> None:
        deadline = time.monotonic() + total / args.rate + 60
        while len(received) < total and time.monotonic() < deadline:
            m = consumer.poll(0.1)
            if m is not None and m.error() is None:
                received.append(time.time_ns() - int.from_bytes(m.value() or b"", "little"))

    rx = threading.Thread(target=receive, name="kafka-hop-rx")
    rx.start()
    try:
        t0 = time.monotonic_ns()
        period = 1e9 / args.rate
        for i in range(total):
            if (d := t0 + int(i * period) - time.monotonic_ns()) > 0:
                time.sleep(d / 1e9)
            producer.produce(topic, value=time.time_ns().to_bytes(8, "little"))
            producer.poll(0)
        producer.flush(30)
        rx.join()
    finally:
        consumer.close()
        bus.delete_topics([topic])
    if len(received) < total:
        raise SystemExit(f"kafka-hop: only {len(received)} of {total} messages arrived")
    return np.array(received[args.warmup :], dtype=np.float64) / 1e3
