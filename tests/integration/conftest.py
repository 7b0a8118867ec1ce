"""Integration tests talk to the real broker that `make test` starts (`make kafka-up`).

A missing broker is a failure, never a skip: CI must not go green without having tested.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient
from minihft.bus import Topics
from minihft.bus.kafka import KafkaBus

BOOTSTRAP = os.environ.get("MINIHFT_KAFKA_BOOTSTRAP", "127.0.0.1:9092")


@pytest.fixture(scope="session")
def bootstrap() -> str:
    try:
        AdminClient({"bootstrap.servers": BOOTSTRAP}).list_topics(timeout=10)
    except Exception as exc:  # any failure to reach the broker is fatal here
        pytest.fail(f"Kafka broker at {BOOTSTRAP} is not reachable ({exc}); run `make kafka-up`")
    return BOOTSTRAP


@pytest.fixture
def topics(bootstrap: str) -> Iterator[Topics]:
    """A fresh topic namespace per test, deleted afterwards."""
    run = Topics.for_run("it-" + uuid.uuid4().hex[:12])
    yield run
    bus = KafkaBus(bootstrap)
    existing = set(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics)
    bus.delete_topics([t for t in run.all() if t in existing])
