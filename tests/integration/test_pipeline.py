"""The Python service processes on the real broker with the real lob_engine binary.

(a) a full real LOBSTER day through feed_handler -> Kafka -> lob_engine -> md.book equals the
    in-process BookBuilder run, update by update;
(b) the broker stopped for 10 s mid-stream: every service reconnects by itself, nothing is lost
    or duplicated;
(c) malformed messages on a topic strategy_runner consumes go to dead.letter, counted, and the
    service keeps running.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from confluent_kafka.admin import AdminClient
from minihft import codec
from minihft.bus import Topics
from minihft.bus.kafka import KafkaBus
from minihft.marketdata import lobster
from minihft.pipeline_reference import expected_book_updates
from pipeline_procs import (
    GOOG_DAY,
    ROOT,
    SAMPLE,
    Proc,
    book_updates,
    depth_of,
    free_port,
    http_get,
    lob_engine,
    metric,
    read_batches,
    require_lob_engine,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def run_topics(bootstrap: str, topics: Topics) -> Topics:
    require_lob_engine()
    KafkaBus(bootstrap).create_topics(list(topics.all()), partitions=4)
    return topics


def _run_id(t: Topics) -> str:
    return t.prefix.removeprefix("bt.").removesuffix(".")


def _n(batches: list[codec.Batch]) -> int:
    return sum(len(b.records) for b in batches)


def _assert_same_as_in_process(got: np.ndarray, exp: dict[str, np.ndarray]) -> None:
    assert len(got) == len(exp["seq"]), f"{len(got)} md.book updates, expected {len(exp['seq'])}"
    np.testing.assert_array_equal(got["seq"], exp["seq"])  # none lost, none twice, in order
    np.testing.assert_array_equal(got["ts_event"], exp["ts_event"])
    np.testing.assert_array_equal(got["ts_recv"], exp["ts_recv"])
    np.testing.assert_array_equal(depth_of(got), exp["depth"])
    np.testing.assert_array_equal(depth_of(got[-1:])[0], exp["final"])


def test_full_day_through_feed_handler_equals_in_process(
    bootstrap: str, run_topics: Topics, tmp_path: Path
) -> None:
    events = lobster.read_messages(GOOG_DAY).events
    assert len(events) == 147_916
    exp = expected_book_updates(events)
    lob = lob_engine(run_topics.prefix, f"lob-{_run_id(run_topics)}", tmp_path, "--no-conflate")
    try:
        lob.wait_ready()
        feed = Proc.python(
            "feed_handler", "feed_handler",
            ["--run-id", _run_id(run_topics), "--file", str(GOOG_DAY), "--exit-when-done",
             "--batch-events", "1000"],
            tmp_path, free_port(),
        )  # fmt: skip
        assert feed.p.wait(120) == 0, feed.tail()
        feed.stop()
        batches = read_batches(
            bootstrap, run_topics.md_book, codec.MD_BOOK,
            until=lambda b: _n(b) >= len(exp["seq"]), timeout_s=90,
        )  # fmt: skip
        got = book_updates(batches)
        _assert_same_as_in_process(got, exp)
        # Every md.book batch carries the feed_handler's publish stamp, then lob_engine's two.
        hops = batches[0].hops
        assert [(int(h["stage"]), int(h["point"])) for h in hops] == [(1, 1), (2, 0), (2, 1)]
        assert np.all(np.diff(hops["ts"].astype(np.int64)) >= 0)
    finally:
        assert lob.stop() == 0, lob.tail()


def _broker_serving(bootstrap: str) -> bool:
    try:
        AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=2)
        return True
    except Exception:
        return False


def _kafka(cmd: str) -> None:
    subprocess.run(["bash", str(ROOT / "deploy/kafka" / cmd)], check=True, timeout=120)


def test_broker_outage_reconnects_without_loss_or_duplicates(
    bootstrap: str, run_topics: Topics, tmp_path: Path
) -> None:
    events = lobster.read_messages(SAMPLE).events
    exp = expected_book_updates(events)
    rid = _run_id(run_topics)
    lob = lob_engine(run_topics.prefix, f"lob-{rid}", tmp_path, "--no-conflate")
    strat = Proc.python(
        "strategy_runner", "strategy_runner", ["--run-id", rid, "--poll-timeout-s", "0.01"],
        tmp_path, free_port(),
    )  # fmt: skip
    feed: Proc | None = None
    try:
        lob.wait_ready()
        strat.wait_ready()
        # The sample spans 30 min of venue time: x90 makes the replay last ~20 s.
        feed = Proc.python(
            "feed_handler", "feed_handler",
            ["--run-id", rid, "--file", str(SAMPLE), "--speed", "90", "--batch-events", "64"],
            tmp_path, free_port(),
        )  # fmt: skip
        feed.wait_ready()
        time.sleep(4)
        assert 0 < metric(feed.port, "minihft_feed_handler_events_published_total") < len(events)
        try:
            _kafka("kafka-down.sh")
            time.sleep(3)
            # Alive but not ready while the broker is away.
            for svc in (feed, strat):
                assert http_get(svc.port, "/healthz")[0] == 200, svc.tail()
                assert http_get(svc.port, "/readyz")[0] == 503, svc.tail()
            time.sleep(7)
        finally:
            _kafka("kafka-up.sh")
            deadline = time.monotonic() + 60
            while not _broker_serving(bootstrap) and time.monotonic() < deadline:
                time.sleep(0.5)
        for svc in (feed, strat, lob):
            svc.wait_ready(60)
        deadline = time.monotonic() + 90
        while metric(feed.port, "minihft_feed_handler_replay_done_bool") != 1:
            assert time.monotonic() < deadline, feed.tail()
            time.sleep(0.5)
        batches = read_batches(
            bootstrap, run_topics.md_book, codec.MD_BOOK,
            until=lambda b: _n(b) >= len(exp["seq"]), timeout_s=60,
        )  # fmt: skip
        time.sleep(1.0)  # a duplicate would arrive right behind the last update
        batches += read_batches(
            bootstrap, run_topics.md_book, codec.MD_BOOK, until=lambda b: False, timeout_s=0.5
        )[len(batches) :]
        _assert_same_as_in_process(book_updates(batches), exp)
        # The strategy saw each md.book update exactly once.
        deadline = time.monotonic() + 30
        while metric(strat.port, "minihft_strategy_runner_book_updates_total") < len(exp["seq"]):
            assert time.monotonic() < deadline, strat.tail()
            time.sleep(0.2)
        time.sleep(1.0)
        assert metric(strat.port, "minihft_strategy_runner_book_updates_total") == len(exp["seq"])
        # md.events: every batch exactly once (idempotent producer across the outage).
        md = read_batches(
            bootstrap, run_topics.md_events, codec.MD_EVENTS,
            until=lambda b: _n(b) >= len(events), timeout_s=30,
        )  # fmt: skip
        assert _n(md) == len(events)
        assert sorted(b.batch_seq for b in md) == list(range(len(md)))
    finally:
        if not _broker_serving(bootstrap):
            _kafka("kafka-up.sh")
        codes = {p.name: p.stop() for p in (feed, strat, lob) if p is not None}
        assert codes == dict.fromkeys(codes, 0), "\n".join(
            p.tail() for p in (feed, strat, lob) if p is not None
        )


def test_malformed_message_goes_to_dead_letter_and_service_keeps_running(
    bootstrap: str, run_topics: Topics, tmp_path: Path
) -> None:
    rid = _run_id(run_topics)
    strat = Proc.python(
        "strategy_runner", "strategy_runner", ["--run-id", rid], tmp_path, free_port()
    )
    try:
        strat.wait_ready()
        bus = KafkaBus(bootstrap)
        good = np.zeros(3, codec.BOOK_UPDATE)
        good["symbol_id"] = 7
        good["seq"] = [0, 1, 2]
        valid = codec.encode(codec.MD_BOOK, good, symbol_id=7, batch_seq=0)
        truncated = valid[: len(valid) // 2]
        wrong_schema = codec.encode(
            codec.MD_EVENTS, np.zeros(1, codec.MD_EVENTS.dtype), symbol_id=7, batch_seq=0
        )
        for value in (b"\x00garbage-not-a-flatbuffer", truncated, wrong_schema, valid):
            bus.publish(run_topics.md_book, value, key=b"7")
        bus.flush(10)
        deadline = time.monotonic() + 30
        while metric(strat.port, "minihft_strategy_runner_book_updates_total") < 3:
            assert time.monotonic() < deadline, strat.tail()
            time.sleep(0.2)
        assert metric(strat.port, "minihft_strategy_runner_dead_letters_total") == 3
        assert http_get(strat.port, "/healthz")[0] == 200
        assert strat.p.poll() is None
        dead = read_raw(bootstrap, run_topics.dead_letter, 3)
        assert sorted(v for _, v in dead) == sorted([b"\x00garbage-not-a-flatbuffer", truncated,
                                                     wrong_schema])  # fmt: skip
        assert all(k.startswith(run_topics.md_book.encode() + b"/") for k, _ in dead)
    finally:
        assert strat.stop() == 0, strat.tail()


def read_raw(bootstrap: str, topic: str, n: int) -> list[tuple[bytes, bytes]]:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"raw-{time.monotonic_ns()}"})
    md = c.list_topics(topic, timeout=10).topics[topic]
    c.assign([TopicPartition(topic, p, 0) for p in md.partitions])
    out: list[tuple[bytes, bytes]] = []
    deadline = time.monotonic() + 20
    while len(out) < n and time.monotonic() < deadline:
        for m in c.consume(100, 0.2):
            if m.error() is None:
                out.append((m.key() or b"", m.value() or b""))
    c.close()
    return out
