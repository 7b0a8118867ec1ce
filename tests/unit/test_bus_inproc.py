import pytest
from bus_contract import check_keyed_order_and_partitioning, check_resume_after_commit
from minihft.bus import InProcBus, Topics


def test_keyed_messages_keep_order_on_one_partition() -> None:
    check_keyed_order_and_partitioning(InProcBus(), Topics.for_run("unit"))


def test_group_resumes_after_last_commit() -> None:
    bus = InProcBus()
    check_resume_after_commit(bus, Topics.for_run("unit"), reopen=lambda: bus)


def test_publish_to_missing_topic_names_it() -> None:
    with pytest.raises(KeyError, match=r"md\.events"):
        InProcBus().publish("md.events", b"x")


def test_run_topics_are_prefixed_and_validated() -> None:
    topics = Topics.for_run("r-42")
    assert topics.md_book == "bt.r-42.md.book"
    assert all(t.startswith("bt.r-42.") for t in topics.all())
    with pytest.raises(ValueError, match="run_id"):
        Topics.for_run("bad id!")
    with pytest.raises(ValueError, match="unknown topic"):
        Topics().name("md.evnets")
