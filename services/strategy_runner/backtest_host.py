"""strategy_runner as the strategy host of one lock-step backtest run.

    python -m minihft.services.strategy_runner.backtest_host --run-id R --algo JSON [--limits JSON]

Builds the execution algorithm from its parameters (minihft.backtest.inprocess.algo_params: the
orchestrator computed anything that needs the data, such as VWAP's volume profile) and runs it
under the same `drive` loop as the in-process backtest, on a RemoteVenue: its orders go on the
run's `orders` topic and every step waits for the venue's answer on `exec.reports`. At the end
it publishes StrategyDone on the run's `control` topic: its commands, the reports it was told,
its algo status, risk summary and schedule, or the error that stopped it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from minihft.backtest import wire
from minihft.backtest.inprocess import algo_from_params, drive
from minihft.backtest.remote import RemoteVenue
from minihft.backtest_core import REPORT_EXTRA
from minihft.bus.kafka import KafkaBus
from minihft.bus.topics import Topics
from minihft.records import EXEC_REPORT, ORDER_COMMAND
from minihft.runtime import get_logger
from minihft.runtime.replay import symbol_key
from minihft.strategy.risk import RiskChecker, RiskLimits

_LOG = get_logger("strategy_runner.backtest")


def host(
    bus: KafkaBus, topics: Topics, params: dict[str, Any], limits: RiskLimits, timeout_s: float
) -> bytes:
    """Runs the algorithm to the end; returns the StrategyDone message (also on failure)."""
    algo = algo_from_params(params)
    risk = RiskChecker(limits)
    p = params["parent"]
    remote = RemoteVenue(
        bus, topics, symbol_id=p["symbol_id"], group=f"strategy_runner.{topics.prefix}",
        timeout_s=timeout_s,
    )  # fmt: skip
    reps: npt.NDArray[Any] = np.zeros(0, EXEC_REPORT)
    extras: npt.NDArray[Any] = np.zeros(0, REPORT_EXTRA)
    cmds: npt.NDArray[Any] = np.zeros(0, ORDER_COMMAND)
    wakes, error = 0, ""
    try:
        reps, extras, cmds, wakes = drive(
            remote, algo, p["start_ns"], p["end_ns"], risk=risk, symbol_id=p["symbol_id"]
        )
    except Exception as exc:  # reported to the orchestrator, which fails the run with it
        error = f"{type(exc).__name__}: {exc}"
        _LOG.exception("run %s failed", topics.prefix)
    finally:
        remote.close()
    ts, qty = algo.schedule()
    summary = {
        "status": algo.status(),
        "risk": risk.summary(),
        "schedule": [ts.tolist(), qty.tolist()],
        "steps": remote.steps,
        "skipped": remote.skipped,
    }
    return wire.encode_strategy_done(params["name"], wakes, cmds, reps, extras, summary, error)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="backtest_host", description=__doc__.split("\n")[0])
    ap.add_argument("--run-id", required=True)
    ap.add_argument("--algo", required=True, help="algo_params() as JSON")
    ap.add_argument("--limits", default="{}", help="RiskLimits as JSON")
    ap.add_argument("--kafka-bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--timeout-s", type=float, default=60.0)
    args = ap.parse_args(argv)
    try:
        topics = Topics.for_run(args.run_id)
        params = json.loads(args.algo)
        limits = RiskLimits(**json.loads(args.limits))
        algo_from_params(params)  # fail here, with the reason, rather than mid-run
    except (ValueError, TypeError, KeyError) as exc:
        print(f"backtest_host: bad --algo/--limits: {exc!r}", file=sys.stderr)
        return 2
    bus = KafkaBus(args.kafka_bootstrap, profile="latency", client_id=f"host.{args.run_id}")
    try:
        done = host(bus, topics, params, limits, args.timeout_s)
        bus.publish(topics.control, done, key=symbol_key(params["parent"]["symbol_id"]))
        bus.flush()
    finally:
        bus.close()
    _LOG.info("run %s: strategy %s done", args.run_id, params["name"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
