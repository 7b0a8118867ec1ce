"""Consumer.lag() on the real broker: high watermark minus position, per partition."""

from __future__ import annotations

import time

from confluent_kafka import TopicPartition
from minihft.bus import Topics
from minihft.bus.base import Message, partition_for
from minihft.bus.kafka import KafkaBus, _KafkaConsumer


def _key_per_partition(n: int) -> list[bytes]:
    keys: dict[int, bytes] = {}
    k = 0
    while len(keys) < n:
        key = str(k).encode()
        keys.setdefault(partition_for(key, n), key)
        k += 1
    return [keys[p] for p in range(n)]


def test_lag_is_watermark_minus_position_then_committed_offset(
    bootstrap: str, topics: Topics
) -> None:
    bus = KafkaBus(bootstrap)
    topic = topics.md_book
    bus.create_topics([topic], partitions=2)
    sizes = [6, 4]
    for key, n in zip(_key_per_partition(2), sizes, strict=True):
        for i in range(n):
            bus.publish(topic, b"%d" % i, key=key)
    bus.flush(10.0)

    c = bus.subscribe([topic], "lag-it")
    got: list[Message] = []
    deadline = time.monotonic() + 30
    while len(got) < 5 and time.monotonic() < deadline:  # one at a time: exactly 5 consumed
        got += c.poll(1, 0.5)
    assert len(got) == 5
    done = [sum(m.partition == p for m in got) for p in (0, 1)]
    assert c.lag() == {(topic, p): sizes[p] - done[p] for p in (0, 1)}
    c.commit(got)
    c.close()

    # Assigned but not polled yet: no position, so the lag counts from the committed offset.
    again = bus.subscribe([topic], "lag-it")
    assert isinstance(again, _KafkaConsumer)
    again._consumer.unsubscribe()
    again._consumer.assign([TopicPartition(topic, p) for p in (0, 1)])
    assert again.lag() == {(topic, p): sizes[p] - done[p] for p in (0, 1)}
    again.close()
    fresh = bus.subscribe([topic], "lag-it-fresh")  # nothing committed: from the low watermark
    assert isinstance(fresh, _KafkaConsumer)
    fresh._consumer.unsubscribe()
    fresh._consumer.assign([TopicPartition(topic, p) for p in (0, 1)])
    assert fresh.lag() == {(topic, p): sizes[p] for p in (0, 1)}
    fresh.close()
    bus.close()
