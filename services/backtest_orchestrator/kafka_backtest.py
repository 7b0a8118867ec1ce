"""Backtest through the real Kafka broker in lock-step: `minihft backtest --bus kafka --lockstep`.

Per (parent order, strategy) run R, on the run's own topics bt.R.*:
1. the orchestrator injects the window's historical events onto md.events (MdEventBatch, each
   followed by the file's depth rows for it as SourceDepth, then EndOfData);
2. a venue simulator process (venue.py: the C++ fill simulator) reads md.events and orders;
3. the strategy runs here on a RemoteVenue: its commands go on orders, each RunUntil waits for
   the venue's VenueStepped on exec.reports before the strategy sees anything.
Same data, same stepper, same strategy code, same order of everything: the fills and the whole
results.json are those of the in-process run (tests/integration/test_backtest_lockstep.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt
from minihft import codec
from minihft.backtest import wire
from minihft.backtest.inprocess import RunResult, Venue, VenueFactory, run_parent
from minihft.backtest.remote import RemoteVenue
from minihft.backtest.sweep import Job, cached
from minihft.backtest_core import BacktestConfig, lobster_depth
from minihft.bus.kafka import KafkaBus
from minihft.bus.topics import Topics
from minihft.runtime.replay import symbol_key

BATCH_EVENTS = 512


def inject(
    bus: KafkaBus,
    topics: Topics,
    events: npt.NDArray[Any],
    depth: npt.NDArray[Any] | None,
    *,
    symbol_id: int = 0,
    batch_events: int = BATCH_EVENTS,
) -> int:
    """Publishes `events` (and their LOBSTER depth rows) onto the run's md.events; returns the
    number of batches. Work per batch, never per event."""
    key = symbol_key(symbol_id)
    rows = None if depth is None else lobster_depth(depth)
    batches = 0
    for start in range(0, len(events), batch_events):
        batches += 1
        ev = np.ascontiguousarray(events[start : start + batch_events])
        ts = int(ev["ts_event"][0])
        bus.publish(
            topics.md_events,
            codec.encode(codec.MD_EVENTS, ev, symbol_id=symbol_id, batch_seq=batches),
            key=key,
        )
        if rows is not None:
            part = rows[start : start + batch_events]
            bus.publish(
                topics.md_events,
                wire.encode_source_depth(symbol_id, batches, part, ts=ts),
                key=key,
            )
    end_ts = int(events["ts_event"][-1]) if len(events) else 0
    bus.publish(
        topics.md_events,
        wire.encode_end_of_data(symbol_id, len(events), batches, ts=end_ts),
        key=key,
    )
    bus.flush()
    return batches


class KafkaVenues:
    """Makes one lock-step venue per run: topics, injected data, a venue process, a RemoteVenue.
    Topics are deleted when the run ends unless keep_topics."""

    def __init__(
        self,
        bootstrap: str,
        run_prefix: str,
        *,
        log_dir: Path,
        timeout_s: float = 60.0,
        keep_topics: bool = False,
    ) -> None:
        self.bootstrap, self.run_prefix, self.log_dir = bootstrap, run_prefix, log_dir
        self.timeout_s, self.keep_topics = timeout_s, keep_topics
        self.runs = 0
        self.steps: dict[str, int] = {}

    def factory(self, name: str) -> VenueFactory:
        run_id = f"{self.run_prefix}-{self.runs:04d}-{name}"
        self.runs += 1

        def make(
            events: npt.NDArray[Any], depth: npt.NDArray[Any], config: BacktestConfig
        ) -> tuple[Venue, Callable[[], None]]:
            return self._start(run_id, events, depth, config)

        return make

    def _start(
        self,
        run_id: str,
        events: npt.NDArray[Any],
        depth: npt.NDArray[Any],
        config: BacktestConfig,
    ) -> tuple[Venue, Callable[[], None]]:
        topics = Topics.for_run(run_id)
        bus = KafkaBus(self.bootstrap, profile="latency", client_id=f"orchestrator.{run_id}")
        # One partition: a run is one symbol, and its order is the whole point.
        bus.create_topics(topics.all(), partitions=1)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log: IO[bytes] = open(self.log_dir / f"venue-{run_id}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "minihft.services.backtest_orchestrator.venue",
                "--run-id", run_id, "--kafka-bootstrap", self.bootstrap,
                "--config", json.dumps(config.as_dict()),
                "--depth-levels", str(depth.shape[1]), "--timeout-s", str(self.timeout_s),
            ],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        remote: RemoteVenue | None = None
        try:
            inject(bus, topics, events, depth)
            log_name = log.name

            def failed() -> str | None:
                rc = proc.poll()
                return None if rc is None else f"the venue exited with {rc}; see {log_name}"

            remote = RemoteVenue(
                bus, topics, group=f"strategy_host.{run_id}", timeout_s=self.timeout_s,
                venue_failed=failed,
            )  # fmt: skip
        except BaseException:
            self._stop(proc, log, bus, topics, remote)
            raise

        def done() -> None:
            assert remote is not None
            self.steps[run_id] = remote.steps
            self._stop(proc, log, bus, topics, remote)

        return remote, done

    def _stop(
        self,
        proc: subprocess.Popen[bytes],
        log: IO[bytes],
        bus: KafkaBus,
        topics: Topics,
        remote: RemoteVenue | None,
    ) -> None:
        if remote is not None:
            remote.close()
        proc.terminate()
        try:
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        log.close()
        if not self.keep_topics:
            bus.delete_topics(list(topics.all()))
        bus.close()
        if rc not in (0, -15):
            raise RuntimeError(f"venue of {topics.prefix} exited with {rc}; see {log.name}")


def run_job_kafka(job: Job, venues: KafkaVenues) -> list[RunResult]:
    """sweep.run_job with every strategy's venue behind Kafka."""
    data = cached(job.path)
    prof = cached(job.profile_path) if job.profile_path else None
    out = []
    for s in job.strategies:
        t0 = time.perf_counter()
        venue = venues.factory(s)
        r = run_parent(
            data, job.request, s, config=job.config, limits=job.limits, slices=job.slices,
            profile=prof, venue=venue,
        )  # fmt: skip
        out.append(r)
        print(f"  {s}: lock-step through Kafka in {time.perf_counter() - t0:.1f}s", flush=True)
    return out
