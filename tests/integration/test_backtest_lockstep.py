"""Two transports, same answer: a backtest in-process and the same backtest through the real
broker in lock-step (orchestrator -> md.events -> venue process -> exec.reports -> strategy_runner
host -> orders -> venue; StrategyDone -> control -> orchestrator) give byte-identical
results.json on a 10-minute window of real GOOG data."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from minihft import codec
from minihft.backtest import inprocess, wire
from minihft.backtest.inprocess import DEFAULT_CONFIG, ParentRequest, run_parent
from minihft.backtest.remote import RemoteVenue
from minihft.backtest.sweep import cached, parse_clock
from minihft.backtest_core import BacktestConfig, lobster_depth
from minihft.bus import Topics
from minihft.bus.kafka import KafkaBus
from minihft.records import EXEC_REPORT, Side
from minihft.services.backtest_orchestrator.kafka_backtest import BATCH_EVENTS, inject
from minihft.services.backtest_orchestrator.venue import Venue

pytestmark = pytest.mark.integration
SAMPLE = (
    Path(__file__).parents[2] / "data/sample/GOOG_2012-06-21_34200000_36000000_message_10.csv.gz"
)


def _backtest(out: Path, *extra: str) -> tuple[bytes, str]:
    cmd = [str(Path(sys.executable).with_name("minihft")), "backtest", "--data", str(SAMPLE),
           "--symbol", "GOOG", "--side", "buy", "--qty", "3000", "--start", "09:45",
           "--end", "09:55", "--strategy", "twap,vwap,naive", "--seed", "3",
           "--out", str(out), *extra]  # fmt: skip
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    return (out / "results.json").read_bytes(), p.stdout


def test_kafka_lockstep_results_json_identical_to_inprocess(bootstrap: str, tmp_path: Path) -> None:
    rid = "it-bt-" + uuid.uuid4().hex[:8]
    inproc, _ = _backtest(tmp_path / "inproc")
    kafka, stdout = _backtest(
        tmp_path / "kafka", "--bus", "kafka", "--lockstep", "--kafka-bootstrap", bootstrap,
        "--run-id", rid,
    )  # fmt: skip
    assert f"topics bt.{rid}-" in stdout
    assert kafka == inproc
    doc: dict[str, Any] = json.loads(kafka)
    runs = {r["strategy"]: r for r in doc["runs"]}
    assert set(runs) == {"twap", "vwap", "naive"}
    # Not a trivial answer: every algo filled the parent, the passive ones partly from the queue,
    # over hundreds of lock-step wake-ups.
    for r in runs.values():
        assert sum(r["fills"]["qty"]) == 3000
    assert runs["twap"]["metrics"]["passive_share"] > 0.2
    assert runs["twap"]["wakes"] > 500
    # Each strategy ran in its own strategy_runner host against its own venue process.
    logs = tmp_path / "kafka" / "logs"
    assert len(list(logs.glob("strategy-*.log"))) == 3
    venues = sorted(logs.glob("venue-*.log"))
    assert len(venues) == 3
    for log in venues:
        text = log.read_text()
        assert "0 dead letters" in text and " steps," in text, text[-2000:]


def _inject_reversed(bus: KafkaBus, topics: Topics, events: Any, depth: Any) -> None:
    """The run's md.events with every batch's halves swapped and EndOfData first."""
    rows = lobster_depth(depth)
    starts = list(range(0, len(events), BATCH_EVENTS))
    bus.publish(topics.md_events, wire.encode_end_of_data(0, len(events), len(starts)), key=b"0")
    for k, a in enumerate(starts, start=1):
        ev = np.ascontiguousarray(events[a : a + BATCH_EVENTS])
        part = rows[a : a + BATCH_EVENTS]
        bus.publish(topics.md_events, wire.encode_source_depth(0, k, part), key=b"0")
        msg = codec.encode(codec.MD_EVENTS, ev, symbol_id=0, batch_seq=k)
        bus.publish(topics.md_events, msg, key=b"0")
    bus.flush()


def _venue_with_garbage(
    bootstrap: str, topics: Topics, seen: dict[str, Any], injector: Callable[..., Any] = inject
) -> Callable[..., Any]:
    """A venue factory like LockstepRunner's, with the venue on a thread here (to read its
    counters) and malformed or wrong-schema messages planted on both input topics."""

    def make(
        events: npt.NDArray[Any], depth: npt.NDArray[Any], config: BacktestConfig
    ) -> tuple[Any, Callable[[], None]]:
        bus = KafkaBus(bootstrap, profile="latency")
        bus.create_topics(topics.all(), partitions=1)
        wrong = codec.encode(codec.EXEC_REPORTS, np.zeros(1, EXEC_REPORT), symbol_id=0, batch_seq=1)
        bus.publish(topics.md_events, b"\x10\x00\x00\x00MDEVgarbage-not-a-flatbuffer", key=b"0")
        bus.publish(topics.orders, wrong, key=b"0")
        injector(bus, topics, events, depth)
        venue = Venue(
            KafkaBus(bootstrap, profile="latency"), topics, config, depth_levels=depth.shape[1],
            group=f"venue.{topics.prefix}",
        )  # fmt: skip
        stop = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            try:
                while not stop.is_set():
                    venue.serve_once(30.0)
            except BaseException as exc:  # reported by the test, not lost on the thread
                errors.append(exc)

        th = threading.Thread(target=serve, daemon=True)
        th.start()
        remote = RemoteVenue(bus, topics, group=f"host.{topics.prefix}", timeout_s=60.0)

        def done() -> None:
            stop.set()
            th.join(30)
            remote.close()
            venue.close()
            seen.update(dead_letters=venue.dead_letters, steps=venue.steps, errors=errors,
                        skipped=dict(remote.skipped))  # fmt: skip

        return remote, done

    return make


def _twap_same_as_inprocess(
    bootstrap: str, topics: Topics, req: ParentRequest, injector: Callable[..., Any]
) -> tuple[Any, dict[str, Any]]:
    """Runs twap for `req` in-process and through the thread venue fed by `injector`; asserts
    identical results and no venue error; returns the Kafka run and the venue's counters."""
    data = cached(str(SAMPLE))
    ref = run_parent(data, req, "twap", config=DEFAULT_CONFIG)
    seen: dict[str, Any] = {}
    venue = _venue_with_garbage(bootstrap, topics, seen, injector)
    got = run_parent(data, req, "twap", config=DEFAULT_CONFIG, venue=venue)
    assert seen["errors"] == []
    assert json.dumps(got.to_dict()) == json.dumps(ref.to_dict())
    return got, seen


def test_bad_messages_are_dead_lettered_and_change_no_fill(bootstrap: str, topics: Topics) -> None:
    req = ParentRequest("GOOG", Side.SELL, 1500, parse_clock("09:50"), parse_clock("09:53"))
    got, seen = _twap_same_as_inprocess(bootstrap, topics, req, inject)
    assert seen["dead_letters"] == 2
    assert seen["steps"] == got.wakes + 1  # drive's first run_until to the start is a step too
    # Both bad messages, byte for byte, are on the run's dead-letter topic.
    c = KafkaBus(bootstrap).subscribe([topics.dead_letter], "dl-reader-" + uuid.uuid4().hex[:6])
    dead: list[bytes] = []
    for _ in range(100):
        dead += [m.value for m in c.poll(10, 0.2)]
        if len(dead) >= 2:
            break
    c.close()
    assert sorted(dead, key=len) == sorted(
        [b"\x10\x00\x00\x00MDEVgarbage-not-a-flatbuffer",
         codec.encode(codec.EXEC_REPORTS, np.zeros(1, EXEC_REPORT), symbol_id=0, batch_seq=1)],
        key=len,
    )  # fmt: skip


def test_dead_venue_fails_the_run_at_once(bootstrap: str, topics: Topics) -> None:
    bus = KafkaBus(bootstrap, profile="latency")
    bus.create_topics(topics.all(), partitions=1)
    remote = RemoteVenue(bus, topics, timeout_s=60.0, venue_failed=lambda: "exited with 1")
    with pytest.raises(RuntimeError, match="RunUntil seq 1 unanswered: exited with 1"):
        remote.run_until(10**12, inprocess.Wake.REPORT, 1)
    remote.close()


def test_batch_halves_in_any_order_give_the_same_fills(bootstrap: str, topics: Topics) -> None:
    req = ParentRequest("GOOG", Side.BUY, 1000, parse_clock("09:40"), parse_clock("09:42"))
    _, seen = _twap_same_as_inprocess(bootstrap, topics, req, _inject_reversed)
    assert seen["dead_letters"] == 2  # the planted ones; nothing of the reordered stream
