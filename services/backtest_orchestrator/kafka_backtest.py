"""Backtest through the real Kafka broker in lock-step: `minihft backtest --bus kafka --lockstep`.

Per (parent order, strategy) run R, on the run's own topics bt.R.*, three processes:
1. this orchestrator injects the window's historical events onto md.events (MdEventBatch, each
   followed by the file's depth rows for it as SourceDepth, then EndOfData), then waits;
2. a venue simulator (venue.py: the C++ fill simulator) reads md.events and orders and answers
   each RunUntil with VenueStepped on exec.reports;
3. strategy_runner's backtest host runs the algorithm on a RemoteVenue (its commands and
   RunUntil on orders; each step waits for the answer) and reports StrategyDone on control.
Same data, same stepper, same strategy code, same order of everything: the fills and the whole
results.json are those of the in-process run (tests/integration/test_backtest_lockstep.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from subprocess import Popen
from typing import Any

import numpy as np
import numpy.typing as npt
from minihft import codec
from minihft.backtest import wire
from minihft.backtest.inprocess import (
    MarketData,
    ParentRequest,
    RunResult,
    algo_params,
    parent_spec,
    run_result,
    window,
)
from minihft.backtest.sweep import Job, cached
from minihft.backtest_core import BacktestConfig, lobster_depth
from minihft.bus.base import Consumer
from minihft.bus.kafka import KafkaBus
from minihft.bus.topics import Topics
from minihft.codec import CodecError
from minihft.runtime import get_logger
from minihft.runtime.replay import symbol_key
from minihft.strategy.risk import RiskLimits

BATCH_EVENTS = 512
_LOG = get_logger("backtest_orchestrator")


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


class LockstepRunner:
    """Runs (parent, strategy) pairs through the broker, one run and one set of topics each.
    Process logs go to log_dir; topics are deleted after each run unless keep_topics."""

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

    def _spawn(self, module: str, name: str, args: list[str]) -> tuple[Popen[bytes], Path]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        path = self.log_dir / f"{name}.log"
        with open(path, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", module, *args], stdout=log, stderr=subprocess.STDOUT
            )
        return proc, path

    def run(
        self,
        data: MarketData,
        req: ParentRequest,
        strategy: str,
        *,
        config: BacktestConfig,
        limits: RiskLimits,
        slices: int = 10,
        profile: MarketData | None = None,
    ) -> RunResult:
        i0, i1 = window(data, req)
        params = algo_params(strategy, parent_spec(req), data, slices, profile)
        run_id = f"{self.run_prefix}-{self.runs:04d}-{strategy}"
        self.runs += 1
        topics = Topics.for_run(run_id)
        bus = KafkaBus(self.bootstrap, profile="latency", client_id=f"orchestrator.{run_id}")
        # One partition: a run is one symbol, and its order is the whole point.
        bus.create_topics(topics.all(), partitions=1)
        depth = data.depth[i0:i1]
        common = ["--run-id", run_id, "--kafka-bootstrap", self.bootstrap,
                  "--timeout-s", str(self.timeout_s)]  # fmt: skip
        procs = {
            "venue": self._spawn(
                "minihft.services.backtest_orchestrator.venue", f"venue-{run_id}",
                [*common, "--config", json.dumps(config.as_dict()),
                 "--depth-levels", str(depth.shape[1])],
            ),
            "strategy_runner": self._spawn(
                "minihft.services.strategy_runner.backtest_host", f"strategy-{run_id}",
                [*common, "--algo", json.dumps(params), "--limits", json.dumps(limits.as_dict())],
            ),
        }  # fmt: skip
        results = bus.subscribe([topics.control], f"orchestrator.{run_id}")
        try:
            inject(bus, topics, data.events[i0:i1], depth)
            done = self._await_done(results, topics, procs)
        finally:
            results.close()
            self._stop(procs)
            if not self.keep_topics:
                bus.delete_topics(list(topics.all()))
            bus.close()
        if done.error:
            log = procs["strategy_runner"][1]
            raise RuntimeError(f"run {run_id}: the strategy host failed: {done.error} (see {log})")
        sch = done.summary["schedule"]
        schedule = (np.asarray(sch[0], dtype=np.int64), np.asarray(sch[1], dtype=np.float64))
        return run_result(
            data, req, strategy, (i0, i1), done.reports.copy(), done.extras.copy(),
            done.commands.copy(), done.wakes, done.summary["status"], done.summary["risk"],
            schedule,
        )  # fmt: skip

    def _await_done(
        self, results: Consumer, topics: Topics, procs: dict[str, tuple[Popen[bytes], Path]]
    ) -> wire.StrategyDone:
        # The host's own steps are bounded by timeout_s each; this wait is for the whole run.
        while True:
            msgs = results.poll(max_messages=16, timeout_s=0.2)
            for m in msgs:
                try:
                    _, body = wire.decode(m.value)
                except CodecError as exc:
                    _LOG.warning("%s[%d]@%d skipped: %s", m.topic, m.partition, m.offset, exc)
                    continue
                if isinstance(body, wire.StrategyDone):
                    results.commit(msgs)
                    return body
            results.commit(msgs)
            for name, (proc, log) in procs.items():
                rc = proc.poll()
                if rc is not None and (name == "venue" or rc != 0):
                    raise RuntimeError(
                        f"{topics.prefix}: {name} exited with {rc} before the run ended; see {log}"
                    )

    def _stop(self, procs: dict[str, tuple[Popen[bytes], Path]]) -> None:
        for proc, _ in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc, _ in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_job_kafka(job: Job, runner: LockstepRunner) -> list[RunResult]:
    """sweep.run_job, each strategy run through the broker by its own venue and strategy host."""
    data = cached(job.path)
    prof = cached(job.profile_path) if job.profile_path else None
    out = []
    for s in job.strategies:
        t0 = time.perf_counter()
        r = runner.run(
            data, job.request, s, config=job.config, limits=job.limits, slices=job.slices,
            profile=prof,
        )  # fmt: skip
        out.append(r)
        print(f"  {s}: lock-step through Kafka in {time.perf_counter() - t0:.1f}s", flush=True)
    return out
