"""`minihft bench pipeline`: file -> feed_handler -> Kafka -> lob_engine -> md.book consumed.

The real GOOG level-10 day is repeated under distinct symbol ids (each copy an independent
book with the real flow) to reach >= 20M events. The clock runs from the feed_handler's first
publish (its md.events hop stamp) to the moment this process has consumed the last md.book
update of every symbol; events/s = events / that time. lob_engine runs with its default
conflation, so under load md.book carries the latest book per symbol rather than every step.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from minihft import codec
from minihft.benchmarks._procs import Stack
from minihft.marketdata import lobster
from minihft.paths import lobster_dir
from minihft.pipeline_reference import expected_book_updates

DAY = lobster_dir() / "GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("pipeline", help="events/s through feed_handler -> Kafka -> lob_engine")
    p.add_argument("--file", default=str(DAY), help="LOBSTER message file (one symbol)")
    p.add_argument("--events", type=int, default=20_000_000, help="at least this many events")
    # lob_engine answers one md.events batch with one md.book batch of up to one 512-byte update
    # per event: 1024 events keep that under the broker's 1 MB message limit.
    p.add_argument("--batch-events", type=int, default=1024)
    p.add_argument("--kafka-bootstrap", default="127.0.0.1:9092")
    p.add_argument("--timeout-s", type=float, default=600.0)
    p.set_defaults(handler=run)


def _last_book_seq(path: str) -> tuple[int, int]:
    """seq of the last md.book update of a copy (every symbol's stream ends on it), events."""
    events = lobster.read_messages(path).events
    return int(expected_book_updates(events)["seq"][-1]), len(events)


def run(args: argparse.Namespace) -> int:
    last_seq, per_copy = _last_book_seq(args.file)
    copies = -(-args.events // per_copy)
    with Stack(args.kafka_bootstrap, "bench-pipeline") as s:
        lob_port = s.start_lob_engine()
        s.wait_ready()
        reader = Consumer(
            {
                "bootstrap.servers": args.kafka_bootstrap,
                "group.id": f"bench-{s.run_id}",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "fetch.max.bytes": 64 << 20,
            }
        )
        topic = s.topics.md_book
        parts = reader.list_topics(topic, timeout=10).topics[topic].partitions
        reader.assign([TopicPartition(topic, p, 0) for p in parts])
        s.start_python(
            "feed_handler", "--file", args.file, "--repeat", str(copies),
            "--batch-events", str(args.batch_events), "--exit-when-done",
        )  # fmt: skip
        done: set[int] = set()
        updates = 0
        t_first_pub: int | None = None
        t_last = 0
        deadline = time.monotonic() + args.timeout_s
        while len(done) < copies:
            if time.monotonic() > deadline:
                raise SystemExit(f"timeout: {len(done)}/{copies} symbols complete")
            s.check_alive()
            for m in reader.consume(num_messages=1000, timeout=0.2):
                if m.error() is not None:
                    continue
                b = codec.decode(m.value() or b"", codec.MD_BOOK)
                updates += len(b.records)
                if t_first_pub is None and len(b.hops):
                    t_first_pub = int(b.hops[0]["ts"])
                if len(b.records) and int(b.records["seq"][-1]) == last_seq:
                    done.add(b.symbol_id)
                    t_last = time.time_ns()
        reader.close()
        assert t_first_pub is not None
        seconds = (t_last - t_first_pub) / 1e9
        total = copies * per_copy
        out: dict[str, Any] = {
            "bench": "pipeline",
            "events": total,
            "symbols": copies,
            "seconds": round(seconds, 3),
            "events_per_s": round(total / seconds),
            "md_book_updates_consumed": updates,
            "batch_events": args.batch_events,
            "lob_engine_metrics_port": lob_port,
        }
    print(json.dumps(out))
    return 0
