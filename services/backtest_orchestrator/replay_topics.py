"""`minihft replay-topics FILE --run-id R`: inject a historical file onto a run's topics.

Paced (--speed X), as fast as possible (--speed max), or in lock-step (--lockstep: one batch,
then wait until the pipeline has digested it, see lockstep.py). Creates the run's topics first.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from minihft.bus.kafka import KafkaBus
from minihft.bus.topics import Topics
from minihft.runtime import WallClock, get_logger
from minihft.runtime.replay import BatchPublisher, load_events, paced_slices
from minihft.schema.Stage import Stage
from minihft.services.backtest_orchestrator.lockstep import LockstepGate


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("replay-topics", help="inject a historical file onto a run's topics")
    add_arguments(p)
    p.set_defaults(handler=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="LOBSTER *message*.csv[.gz] or ITCH 5.0 file")
    p.add_argument("--run-id", required=True)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--speed", default="max", help="x real time, or 'max' (default)")
    mode.add_argument("--lockstep", action="store_true", help="one batch at a time, deterministic")
    p.add_argument("--symbol-id", type=int, default=0)
    p.add_argument("--batch-events", type=int, default=512)
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument("--kafka-bootstrap", default="127.0.0.1:9092")
    p.add_argument("--lob-group", default="lob_engine", help="lob_engine's consumer group")
    p.add_argument(
        "--strategy-group", action="append", default=[], help="wait for this group (lock-step)"
    )
    p.add_argument("--timeout-s", type=float, default=60.0, help="lock-step wait per batch")


def run(args: argparse.Namespace) -> int:
    log = get_logger("backtest_orchestrator")
    try:
        topics = Topics.for_run(args.run_id)
        speed = None if args.lockstep or args.speed == "max" else float(args.speed)
        events = load_events(args.file, args.symbol_id)
    except (ValueError, OSError) as exc:
        print(f"replay-topics: {exc}", file=sys.stderr)
        return 2
    bus = KafkaBus(args.kafka_bootstrap, profile="latency" if args.lockstep else "throughput")
    bus.create_topics(topics.all(), args.partitions)
    pub = BatchPublisher(
        bus, topics.md_events, WallClock(), stage=Stage.BacktestOrchestrator,
        batch_events=args.batch_events,
    )  # fmt: skip
    gate = (
        LockstepGate(
            args.kafka_bootstrap,
            topics,
            lob_group=args.lob_group,
            strategy_groups=args.strategy_group,
            timeout_s=args.timeout_s,
        )
        if args.lockstep
        else None
    )
    t0 = time.monotonic()
    try:
        step = args.batch_events if gate else args.batch_events * 64
        for start, stop, _ in paced_slices(events["ts_event"], speed, max_events=step):
            pub.publish(events[start:stop])
            if gate is not None:
                bus.flush(30.0)
                gate.settle()
        bus.flush(60.0)
    finally:
        if gate is not None:
            gate.close()
        bus.close()
    out = {
        "run_id": args.run_id,
        "topics_prefix": topics.prefix,
        "events": pub.events,
        "batches": pub.batches,
        "mode": "lockstep" if gate else ("max" if speed is None else f"x{speed:g}"),
        "seconds": round(time.monotonic() - t0, 3),
    }
    if gate is not None:
        out["book_batches_seen"] = gate.book_batches_seen
    log.info("replay done", extra={"fields": out})
    print(json.dumps(out))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m minihft.services.backtest_orchestrator")
    add_arguments(p)
    return run(p.parse_args(argv))
