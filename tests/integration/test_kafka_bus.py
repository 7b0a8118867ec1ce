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
