import time

import pytest
from bus_contract import check_keyed_order_and_partitioning, check_resume_after_commit
from minihft.bus import Topics
from minihft.bus.kafka import KafkaBus

pytestmark = pytest.mark.integration


def test_keyed_messages_keep_order_on_one_partition(bootstrap: str, topics: Topics) -> None:
    check_keyed_order_and_partitioning(KafkaBus(bootstrap), topics)


def test_group_resumes_after_last_commit(bootstrap: str, topics: Topics) -> None:
    check_resume_after_commit(KafkaBus(bootstrap), topics, reopen=lambda: KafkaBus(bootstrap))


def test_latency_profile_delivers_too(bootstrap: str, topics: Topics) -> None:
    check_keyed_order_and_partitioning(KafkaBus(bootstrap, profile="latency"), topics)


def test_poll_returns_first_message_without_waiting_for_a_full_batch(
    bootstrap: str, topics: Topics
) -> None:
    bus = KafkaBus(bootstrap, profile="latency")
    bus.create_topics([topics.orders], partitions=1)
    consumer = bus.subscribe([topics.orders], "poll-latency")
    deadline = time.monotonic() + 30
    while not consumer.poll(max_messages=1000, timeout_s=0.2) and time.monotonic() < deadline:
        bus.publish(topics.orders, b"warm", key=b"k")  # until the group has its assignment
        bus.flush()
    bus.publish(topics.orders, b"one", key=b"k")
    bus.flush()
    started = time.monotonic()
    got = []
    while not got and time.monotonic() - started < 10:
        got = [m for m in consumer.poll(max_messages=1000, timeout_s=2.0) if m.value == b"one"]
    waited = time.monotonic() - started
    consumer.close()
    assert got, "message never arrived"
    # A full-batch wait would sit out the whole 2 s timeout per poll.
    assert waited < 1.0, f"poll held a single message for {waited:.2f} s"
