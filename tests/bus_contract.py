"""Behaviour every Bus transport must show; run on InProcBus (unit) and KafkaBus (integration)."""

from __future__ import annotations

import time
from collections.abc import Callable

from minihft.bus import Bus, Message, Topics, partition_for


def drain(
    bus: Bus, topics: list[str], group: str, want: int, timeout_s: float = 30.0
) -> list[Message]:
    consumer = bus.subscribe(topics, group)
    got: list[Message] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < want and time.monotonic() < deadline:
        got.extend(consumer.poll(max_messages=want - len(got), timeout_s=0.2))
    consumer.commit(got)
    consumer.close()
    return got


def check_keyed_order_and_partitioning(bus: Bus, topics: Topics) -> None:
    bus.create_topics([topics.md_events], partitions=4)
    for seq in range(50):
        for symbol in (b"GOOG", b"AMZN", b"MSFT"):
            bus.publish(topics.md_events, value=symbol + b":%d" % seq, key=symbol)
    bus.flush()
    got = drain(bus, [topics.md_events], "contract-order", want=150)
    assert len(got) == 150
    for symbol in (b"GOOG", b"AMZN", b"MSFT"):
        mine = [m for m in got if m.key == symbol]
        assert [m.value for m in mine] == [symbol + b":%d" % i for i in range(50)]
        assert {m.partition for m in mine} == {partition_for(symbol, 4)}


def check_resume_after_commit(bus: Bus, topics: Topics, reopen: Callable[[], Bus]) -> None:
    bus.create_topics([topics.orders], partitions=1)
    for i in range(10):
        bus.publish(topics.orders, value=b"%d" % i, key=b"k")
    bus.flush()
    consumer = bus.subscribe([topics.orders], "contract-resume")
    first: list[Message] = []
    deadline = time.monotonic() + 30
    while len(first) < 10 and time.monotonic() < deadline:
        first.extend(consumer.poll(max_messages=10 - len(first), timeout_s=0.2))
    assert [m.value for m in first] == [b"%d" % i for i in range(10)]
    consumer.commit(first[:4])  # processed four, then "crashed"
    consumer.close()
    again = drain(reopen(), [topics.orders], "contract-resume", want=6)
    assert [m.value for m in again] == [b"%d" % i for i in range(4, 10)]
