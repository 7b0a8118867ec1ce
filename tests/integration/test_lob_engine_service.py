"""The lob_engine service binary on the real broker: books, matching, bad input, crash, SIGTERM.

Expected outputs come from the in-process C++ core (minihft.book / minihft.matching) run on the
same inputs, an independent path that shares no code with the service's Kafka plumbing.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from lob_engine_fixtures import (
    LOBSTER,
    EngineProcess,
    Records,
    consume_all,
    decode_records,
    engine_topics,
    lob_engine_binary,
    publish_batches,
    run_engine,
)
from minihft import codec
from minihft.book import BookBuilder
from minihft.bus import Topics
from minihft.bus.kafka import KafkaBus
from minihft.marketdata import lobster
from minihft.matching import MatchingEngine, new_commands
from minihft.records import ErrorCode
from minihft.services.feed_handler.reference import sequence_gap

__all__ = ["engine_topics", "lob_engine_binary", "run_engine"]  # pytest fixtures, imported

pytestmark = pytest.mark.integration

Start = Callable[..., EngineProcess]
M = "minihft_lob_engine_"
DELIVERY = pytest.mark.parametrize("delivery", ["idempotent", "transactional"])
MAX_OUT_RECORDS = 1024  # per output message (engine_stage.hpp)


def lobster_events(ticker: str, level: int, symbol_id: int, n: int) -> Records:
    path = LOBSTER / f"{ticker}_2012-06-21_34200000_57600000_message_{level}.csv.gz"
    return lobster.read_messages(path, symbol_id=symbol_id).events[:n].copy()


def expected_books(events: Records) -> tuple[np.ndarray, np.ndarray, int]:
    """(seqs, depth rows) of the events after which the top 10 changed, and UnknownOrder count."""
    status, depth = BookBuilder().apply_with_depth(events, 10)
    prev = np.concatenate([np.zeros_like(depth[:1]), depth[:-1]])
    changed = np.flatnonzero((depth != prev).any(axis=(1, 2)))
    return changed, depth[changed], int((status == ErrorCode.UNKNOWN_ORDER).sum())


def update_rows(updates: Records) -> np.ndarray:
    """BookUpdate records as depth rows [ask_px, ask_qty, bid_px, bid_qty] x 10."""
    a, b = updates["asks"], updates["bids"]
    return np.stack([a["price"], a["qty"], b["price"], b["qty"]], axis=-1)


def book_updates(bootstrap: str, topics: Topics, expected: dict[int, int]) -> dict[int, Records]:
    """Committed md.book updates per symbol, once each symbol has `expected[sym]` of them."""

    def enough(msgs: list[Any]) -> bool:
        got: dict[int, int] = {}
        for m in msgs:
            b = codec.decode(m.value(), codec.MD_BOOK)
            got[b.symbol_id] = got.get(b.symbol_id, 0) + len(b.records)
        return all(got.get(s, 0) >= n for s, n in expected.items())

    recs = decode_records(consume_all(bootstrap, topics.md_book, enough), codec.MD_BOOK)
    return {s: recs[recs["symbol_id"] == s] for s in expected}


def assert_books(updates: Records, events: Records) -> None:
    seqs, rows, _ = expected_books(events)
    got_seq = updates["seq"].astype(np.int64)
    assert len(np.unique(got_seq)) == len(got_seq), "duplicate md.book updates"
    np.testing.assert_array_equal(got_seq, seqs)
    np.testing.assert_array_equal(update_rows(updates), rows)


def random_commands(symbol_id: int, n: int, seed: int) -> Records:
    """Limit/market/IOC submits, cancels and replaces around one price; unique order ids."""
    rng = np.random.default_rng(seed)
    c = new_commands(n)
    ids = np.arange(1, n + 1, dtype=np.uint64) + np.uint64(symbol_id * 1_000_000)
    kind = rng.random(n)
    c["ts"] = np.arange(n) * 1000 + 1
    c["symbol_id"] = symbol_id
    c["type"] = np.where(kind < 0.7, 1, np.where(kind < 0.9, 2, 3))
    earlier = ids[np.maximum(0, (np.arange(n) * rng.random(n)).astype(np.int64))]
    c["order_id"] = np.where(c["type"] == 1, ids, earlier)
    c["side"] = rng.integers(0, 2, n)
    c["price"] = 1_000_000 + rng.integers(-10, 11, n) * 100
    c["qty"] = rng.integers(1, 10, n) * 100
    c["account"] = rng.integers(1, 5, n)
    c["order_type"] = (rng.random(n) < 0.05).astype(np.uint8)
    c["tif"] = np.where(rng.random(n) < 0.1, 1, 0)
    return c


def exec_reports(bootstrap: str, topics: Topics, expected: dict[int, int]) -> dict[int, Records]:
    def enough(msgs: list[Any]) -> bool:
        n = sum(len(codec.decode(m.value(), codec.EXEC_REPORTS).records) for m in msgs)
        return n >= sum(expected.values())

    recs = decode_records(consume_all(bootstrap, topics.exec_reports, enough), codec.EXEC_REPORTS)
    return {s: recs[recs["symbol_id"] == s] for s in expected}


def reference_reports(commands: Records) -> Records:
    return MatchingEngine(n_symbols=64).process(commands)


# ---- (a) books from real LOBSTER events ----------------------------------------------------------


def test_books_match_in_process_builder(
    bootstrap: str, engine_topics: Topics, run_engine: Start
) -> None:
    streams = {
        1: lobster_events("GOOG", 10, 1, 30_000),
        2: lobster_events("AMZN", 5, 2, 30_000),
    }
    bus = KafkaBus(bootstrap)
    n_md = sum(
        publish_batches(bus, engine_topics.md_events, codec.MD_EVENTS, ev, 250)
        for ev in streams.values()
    )
    engine = run_engine("--no-conflate")
    engine.wait_ready()
    engine.wait_consumed(n_md, 0)
    expected = {s: len(expected_books(ev)[0]) for s, ev in streams.items()}
    got = book_updates(bootstrap, engine_topics, expected)
    for s, ev in streams.items():
        assert_books(got[s], ev)
        final = BookBuilder()
        final.apply(ev)
        np.testing.assert_array_equal(update_rows(got[s][-1:])[0], final.depth(s, 10))
    m = engine.metrics()
    assert m[M + "conflated_updates_total"] == 0
    assert m[M + "unknown_order_events_total"] == sum(
        expected_books(e)[2] for e in streams.values()
    )
    assert m[M + "unknown_order_events_total"] > 0  # the sample starts mid-day
    assert m[M + 'md_events_total{type="add"}'] == sum(
        (e["type"] == 1).sum() for e in streams.values()
    )
    assert m[M + "update_latency_ns_count"] == n_md
    assert m[M + "books_items"] == 2
    # Lag is reported per input partition, and process metrics like every Prometheus client's.
    lag_md = {
        k for k in m if k.startswith(M + 'consumer_lag_messages{topic="md.events",partition=')
    }
    assert len(lag_md) >= 1 and all(m[k] == 0 for k in lag_md), lag_md
    assert m["process_cpu_seconds_total"] > 0
    assert m["process_resident_memory_bytes"] > 1_000_000
    assert m["process_open_fds"] > 3
    # Our Receive and Publish stamps follow the feed handler's, in time order.
    msg = consume_all(bootstrap, engine_topics.md_book, lambda ms: len(ms) > 0, settle_s=0)[0]
    hops = codec.decode(msg.value(), codec.MD_BOOK).hops
    assert [(int(h["stage"]), int(h["point"])) for h in hops] == [(1, 1), (2, 0), (2, 1)]
    assert hops["ts"][0] <= hops["ts"][1] <= hops["ts"][2]


def test_conflation_sends_latest_book_per_symbol(
    bootstrap: str, engine_topics: Topics, run_engine: Start
) -> None:
    events = lobster_events("GOOG", 10, 1, 30_000)
    bus = KafkaBus(bootstrap)
    n_md = publish_batches(bus, engine_topics.md_events, codec.MD_EVENTS, events, 50)
    # A producer queue limit of one message makes the producer count as lagging almost always.
    engine = run_engine("--max-outq", "1")
    engine.wait_ready()
    engine.wait_consumed(n_md, 0)
    m = engine.metrics()
    assert m[M + "conflated_updates_total"] > 0
    seqs, rows, _ = expected_books(events)
    assert m[M + "book_updates_total"] == len(seqs)

    def has_last(msgs: list[Any]) -> bool:
        return any(
            codec.decode(x.value(), codec.MD_BOOK).records["seq"][-1] == seqs[-1] for x in msgs
        )

    got = decode_records(consume_all(bootstrap, engine_topics.md_book, has_last), codec.MD_BOOK)
    sent = m[M + "book_updates_total"] - m[M + "conflated_updates_total"]
    assert len(got) == sent < len(seqs)
    assert (np.diff(got["seq"].astype(np.int64)) > 0).all()  # newest only, never out of order
    # Every update that went out is the true book after its event, and the last one is final.
    pos = np.searchsorted(seqs, got["seq"])
    np.testing.assert_array_equal(seqs[pos], got["seq"])
    np.testing.assert_array_equal(update_rows(got), rows[pos])
    assert got["seq"][-1] == seqs[-1]


# ---- (b) kill -9 and restart -------------------------------------------------------------------


@DELIVERY
def test_kill_9_restart_loses_and_duplicates_nothing(
    bootstrap: str, engine_topics: Topics, run_engine: Start, delivery: str
) -> None:
    events = lobster_events("GOOG", 10, 1, 20_000)
    cmds = {1: random_commands(1, 3000, seed=1), 3: random_commands(3, 3000, seed=3)}
    bus = KafkaBus(bootstrap)
    half_ev, half_cmd = len(events) // 2, 1500
    n_md = publish_batches(bus, engine_topics.md_events, codec.MD_EVENTS, events[:half_ev], 100)
    n_or = sum(
        publish_batches(bus, engine_topics.orders, codec.ORDERS, c[:half_cmd], 10)
        for c in cmds.values()
    )
    first = run_engine("--delivery", delivery)
    first.wait_ready()
    first.wait_consumed(n_md, n_or)
    first.wait_until("a commit", lambda: first.metrics()[M + "transactions_total"] > 0)

    counts = [0, 0]

    def publish_rest() -> None:
        for i in range(half_ev, len(events), 1000):
            counts[0] += publish_batches(
                bus, engine_topics.md_events, codec.MD_EVENTS, events[i : i + 1000], 100, i
            )
            for c in cmds.values():
                j = half_cmd + (i - half_ev) * 1500 // (len(events) - half_ev)
                counts[1] += publish_batches(
                    bus, engine_topics.orders, codec.ORDERS, c[j : j + 150], 10, j
                )
            time.sleep(0.1)

    t = threading.Thread(target=publish_rest)
    t.start()
    time.sleep(0.4)
    assert first.kill(signal.SIGKILL) == -signal.SIGKILL
    t.join()
    n_md += counts[0]
    n_or += counts[1]

    second = run_engine("--delivery", delivery)
    second.wait_ready()
    second.wait_consumed(n_md, n_or)
    assert second.metrics()[M + "replayed_messages_total"] > 0

    expected_ex = {s: reference_reports(c) for s, c in cmds.items()}
    got_ex = exec_reports(bootstrap, engine_topics, {s: len(r) for s, r in expected_ex.items()})
    for s, ref in expected_ex.items():
        assert got_ex[s].tobytes() == ref.tobytes(), f"exec reports of symbol {s} differ"
    got = book_updates(bootstrap, engine_topics, {1: len(expected_books(events)[0])})
    assert_books(got[1], events)


# ---- (c) bad input ------------------------------------------------------------------------------


def test_bad_messages_go_to_dead_letter_and_processing_continues(
    bootstrap: str, engine_topics: Topics, run_engine: Start
) -> None:
    events = lobster_events("GOOG", 10, 1, 2000)
    cmds = random_commands(1, 400, seed=5)
    bus = KafkaBus(bootstrap)
    key = b"1"
    good_ev = codec.encode(codec.MD_EVENTS, events[1000:], symbol_id=1, batch_seq=2)
    good_cmd = codec.encode(codec.ORDERS, cmds[200:], symbol_id=1, batch_seq=2)
    bad_md = [
        (b"\x01\x02\x03", "truncated"),
        (bytes(range(200)), "malformed"),  # no known file identifier
        (good_ev[: len(good_ev) // 2], "malformed"),  # right identifier, fails the verifier
        (good_cmd, "wrong_schema"),
    ]
    # Reference data shares md.events legitimately: passed over, never a dead letter.
    reference = sequence_gap("SESSION001", 10, 12, 1, np.zeros(0, codec.HOP_STAMP))
    bad_md.append((reference[: len(reference) // 2], "malformed"))
    bad_orders = [(good_ev, "wrong_schema"), (b"\xff" * 64, "malformed")]
    publish_batches(bus, engine_topics.md_events, codec.MD_EVENTS, events[:1000], 1000)
    for value, _ in bad_md:
        bus.publish(engine_topics.md_events, value, key=key)
    bus.publish(engine_topics.md_events, reference, key=key)
    bus.publish(engine_topics.md_events, good_ev, key=key)
    publish_batches(bus, engine_topics.orders, codec.ORDERS, cmds[:200], 200)
    for value, _ in bad_orders:
        bus.publish(engine_topics.orders, value, key=key)
    bus.publish(engine_topics.orders, good_cmd, key=key)
    bus.flush()

    engine = run_engine()
    engine.wait_ready()
    engine.wait_consumed(3 + len(bad_md), 2 + len(bad_orders))
    m = engine.metrics()
    for source, bad in (("md.events", bad_md), ("orders", bad_orders)):
        for cause in ("truncated", "malformed", "wrong_schema"):
            want = sum(1 for _, c in bad if c == cause)
            assert m[M + f'dead_letters_total{{source="{source}",cause="{cause}"}}'] == want

    dead = consume_all(
        bootstrap, engine_topics.dead_letter, lambda ms: len(ms) >= len(bad_md) + len(bad_orders)
    )
    assert len(dead) == len(bad_md) + len(bad_orders)
    by_value = {(dict(d.headers())["source_topic"], d.value()): d for d in dead}
    for topic, bad in ((engine_topics.md_events, bad_md), (engine_topics.orders, bad_orders)):
        for i, (value, cause) in enumerate(bad):
            h = dict(by_value[(topic.encode(), value)].headers())
            assert h["cause"] == cause.encode()
            assert int(h["source_offset"]) == i + 1  # one good batch precedes them
            assert int(h["source_partition"]) == by_value[(topic.encode(), value)].partition()

    # Later messages were still processed: books and reports cover both good batches.
    got = book_updates(bootstrap, engine_topics, {1: len(expected_books(events)[0])})
    assert_books(got[1], events)
    ref = reference_reports(cmds)
    assert exec_reports(bootstrap, engine_topics, {1: len(ref)})[1].tobytes() == ref.tobytes()
    assert m[M + "unknown_order_events_total"] == expected_books(events)[2]


# ---- (d) SIGTERM ------------------------------------------------------------------------------


@DELIVERY
def test_sigterm_exits_zero_and_keeps_committed_work(
    bootstrap: str, engine_topics: Topics, run_engine: Start, delivery: str
) -> None:
    events = lobster_events("GOOG", 10, 1, 8000)
    cmds = random_commands(1, 1000, seed=9)
    bus = KafkaBus(bootstrap)
    n_md = publish_batches(bus, engine_topics.md_events, codec.MD_EVENTS, events[:4000], 200)
    n_or = publish_batches(bus, engine_topics.orders, codec.ORDERS, cmds[:500], 25)
    # The last commit happens at SIGTERM.
    engine = run_engine("--commit-interval-ms", "5000", "--delivery", delivery)
    engine.wait_ready()
    engine.wait_consumed(n_md, n_or)
    t0 = time.monotonic()
    assert engine.kill(signal.SIGTERM) == 0, engine.logs()
    assert time.monotonic() - t0 < 5
    # Committed at shutdown: everything processed so far is visible to read_committed readers.
    ref_half = reference_reports(cmds[:500])
    got_ex = exec_reports(bootstrap, engine_topics, {1: len(ref_half)})
    assert got_ex[1].tobytes() == ref_half.tobytes()

    # A restart replays exactly what was committed and continues without repeating anything.
    n_md2 = publish_batches(bus, engine_topics.md_events, codec.MD_EVENTS, events[4000:], 200, 20)
    n_or2 = publish_batches(bus, engine_topics.orders, codec.ORDERS, cmds[500:], 25, 20)
    again = run_engine("--delivery", delivery)
    again.wait_ready()
    again.wait_consumed(n_md + n_md2, n_or + n_or2)
    assert again.metrics()[M + "replayed_messages_total"] == n_md + n_or
    ref = reference_reports(cmds)
    assert exec_reports(bootstrap, engine_topics, {1: len(ref)})[1].tobytes() == ref.tobytes()
    got = book_updates(bootstrap, engine_topics, {1: len(expected_books(events)[0])})
    assert_books(got[1], events)


@pytest.fixture(autouse=True)
def _quiet_numpy() -> None:
    np.set_printoptions(threshold=50)


def test_resubmitted_order_id_is_rejected_not_filled_twice(
    bootstrap: str, engine_topics: Topics, run_engine: Start
) -> None:
    c = new_commands(3)
    c["symbol_id"], c["type"], c["qty"], c["price"], c["ts"] = 4, 1, 100, 1_000_000, [1, 2, 3]
    c["order_id"] = [7, 8, 7]  # order 7 fills against 8, then the same id comes again
    c["side"] = [0, 1, 1]
    c["account"] = [1, 2, 3]
    bus = KafkaBus(bootstrap)
    n = publish_batches(bus, engine_topics.orders, codec.ORDERS, c, 1)
    engine = run_engine()
    engine.wait_ready()
    engine.wait_consumed(0, n)
    got = exec_reports(bootstrap, engine_topics, {4: 5})[4]
    # accepted 7; accepted 8, fill 8 (taker), fill 7 (maker); then the resend of 7 is refused.
    assert list(got["type"]) == [1, 1, 3, 3, 2]
    assert got["order_id"][-1] == 7 and got["reason"][-1] == ErrorCode.DUPLICATE_ORDER_ID
    assert engine.metrics()[M + "reused_order_ids_total"] == 1


# ---- (e) large input batches, and a crash between two outputs of one input -------------------


def assert_bounded(msgs: list[Any], schema: codec.BatchSchema) -> None:
    for m in msgs:
        assert len(codec.decode(m.value(), schema).records) <= MAX_OUT_RECORDS
        assert len(m.value()) < 900_000


def test_4096_event_input_batches_are_split_into_bounded_messages(
    bootstrap: str, engine_topics: Topics, run_engine: Start
) -> None:
    events = lobster_events("GOOG", 10, 1, 20_000)
    cmds = random_commands(1, 3000, seed=11)
    bus = KafkaBus(bootstrap)
    n_md = publish_batches(bus, engine_topics.md_events, codec.MD_EVENTS, events, 4096)
    n_or = publish_batches(bus, engine_topics.orders, codec.ORDERS, cmds, 3000)
    engine = run_engine("--no-conflate")
    engine.wait_ready()
    engine.wait_consumed(n_md, n_or)
    seqs = expected_books(events)[0]
    book_msgs = consume_all(
        bootstrap,
        engine_topics.md_book,
        lambda ms: (
            sum(len(codec.decode(m.value(), codec.MD_BOOK).records) for m in ms) >= len(seqs)
        ),
    )
    # Some input batch changed the book more often than one message may carry.
    assert len(book_msgs) > n_md
    assert_bounded(book_msgs, codec.MD_BOOK)
    batch_seqs = sorted(codec.decode(m.value(), codec.MD_BOOK).batch_seq for m in book_msgs)
    assert batch_seqs == list(range(1, len(book_msgs) + 1))
    assert_books(decode_records(book_msgs, codec.MD_BOOK), events)
    ref = reference_reports(cmds)
    assert len(ref) > MAX_OUT_RECORDS  # one input batch -> several exec.reports messages
    ex_msgs = consume_all(
        bootstrap,
        engine_topics.exec_reports,
        lambda ms: (
            sum(len(codec.decode(m.value(), codec.EXEC_REPORTS).records) for m in ms) >= len(ref)
        ),
    )
    assert_bounded(ex_msgs, codec.EXEC_REPORTS)
    assert decode_records(ex_msgs, codec.EXEC_REPORTS).tobytes() == ref.tobytes()
    assert engine.metrics()[M + "update_latency_ns_count"] == n_md


@pytest.mark.parametrize("crash_after", [2, 7])
def test_crash_between_outputs_of_one_input_duplicates_and_loses_nothing(
    bootstrap: str, engine_topics: Topics, run_engine: Start, crash_after: int
) -> None:
    """Idempotent delivery: the first run dies after `crash_after` output messages (inside the
    outputs of one 4096-event input); the restart, under a new group (no committed offsets, so
    only the output tails tell what was written), completes the streams exactly."""
    events = lobster_events("GOOG", 10, 1, 20_000)
    cmds = random_commands(1, 3000, seed=13)
    bus = KafkaBus(bootstrap)
    n_md = publish_batches(bus, engine_topics.md_events, codec.MD_EVENTS, events, 4096)
    n_or = publish_batches(bus, engine_topics.orders, codec.ORDERS, cmds, 1500)
    first = run_engine("--no-conflate", "--crash-after-messages", str(crash_after))
    assert first.proc.wait(60) == 137, first.logs()
    second = run_engine("--no-conflate", "--group", "other." + engine_topics.prefix)
    second.wait_ready()
    second.wait_consumed(n_md, n_or)
    m = second.metrics()
    assert m[M + "dedup_skipped_total"] >= crash_after - 1
    assert_books(
        book_updates(bootstrap, engine_topics, {1: len(expected_books(events)[0])})[1], events
    )
    ref = reference_reports(cmds)
    assert exec_reports(bootstrap, engine_topics, {1: len(ref)})[1].tobytes() == ref.tobytes()
