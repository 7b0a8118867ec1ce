"""strategy_runner: md.book + exec.reports in, a Strategy's decisions out on `orders`.

Each input batch is one callback; the commands it queued leave at once as one
OrderCommandBatch per symbol, carrying the input's hop stamps plus ours (Receive, Publish), so
the tick-to-order path is measurable hop by hop. Offsets are committed after the orders are
flushed: a crash re-runs a callback rather than losing an order decision.

Several strategy runs share the runner (runs.py): the `--strategy` one is run "main", more are
created through the control API (control_api.py), which also serves /metrics and the probes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from minihft import codec
from minihft.bus.base import Bus, Message
from minihft.runtime import Clock, Service, ServiceConfig
from minihft.runtime.cli import common_arguments, make_config
from minihft.runtime.replay import symbol_key
from minihft.schema.HopPoint import HopPoint
from minihft.schema.Stage import Stage
from minihft.services.strategy_runner.control_api import ApiService, create_app
from minihft.services.strategy_runner.runs import RunRegistry, RunSpec
from minihft.strategy import STRATEGIES, Strategy
from pydantic import Field, SecretStr

NAME = "strategy_runner"


class StrategyRunnerConfig(ServiceConfig):
    http_port: int = Field(9103, ge=0, le=65535)
    strategy: str = Field("logging", description="one of minihft.strategy.STRATEGIES")
    account: int = Field(1, ge=1, description="account of our orders; reports are filtered on it")
    commit_interval_s: float = Field(0.1, gt=0)
    partitions: int = Field(4, ge=1)
    control_token: SecretStr | None = Field(
        None, description="bearer token of the control API's state-changing endpoints"
    )


class Runner:
    """The per-message logic, separate from the loop so tests can drive it on InProcBus."""

    def __init__(self, svc: Service, strategy: str | Strategy, account: int) -> None:
        self.svc = svc
        self.account = account
        self.registry = RunRegistry(
            svc.clock, svc.log, svc.metrics, account=account,
            order_id_base=(svc.config.instance + 1) << 40,
        )  # fmt: skip
        name = strategy if isinstance(strategy, str) else strategy.name
        inst = None if isinstance(strategy, str) else strategy
        with self.registry.lock:  # its on_start orders leave with start()
            self.registry.create(RunSpec(name), run_id="main", strategy=inst)
        self.seq: dict[int, int] = {}
        m = svc.metrics
        self.books = m.counter("book_updates", "total", "md.book updates handed to the strategy")
        self.reports = m.counter("exec_reports", "total", "exec reports for our account")
        self.orders = m.counter("commands_sent", "total", "order commands published")
        self.decide = m.histogram(
            "decision_latency", "seconds", "md.book receive -> orders publish"
        )
        self.topics = svc.topics

    def start(self) -> None:
        with self.registry.lock:
            self._send(None, None)

    def flush(self) -> None:
        """Publishes what the control API queued (cancels, a new run's first orders)."""
        self._send(None, None)

    def handle(self, msg: Message) -> None:
        recv = self.svc.received_ns
        if recv is None:  # driven directly (tests), not from Service.consume
            recv = self.svc.clock.now_ns()
        if msg.topic == self.topics.md_book:
            batch = self.svc.decode(msg, codec.MD_BOOK)
            self.books.inc(len(batch.records))
            with self.registry.lock:
                self.registry.on_book(batch.symbol_id, batch.records)
                self._send(batch, recv)
        elif msg.topic == self.topics.exec_reports:
            batch = self.svc.decode(msg, codec.EXEC_REPORTS)
            ours = batch.records[batch.records["account"] == self.account]
            if len(ours) == 0:
                return
            self.reports.inc(len(ours))
            with self.registry.lock:
                self.registry.on_reports(batch.symbol_id, ours)
                self._send(batch, recv)

    def on_idle(self) -> None:
        with self.registry.lock:
            self.registry.on_idle()
            self._send(None, None)

    def stop(self) -> None:
        with self.registry.lock:
            self.registry.stop_all()
            self._send(None, None)

    def _send(self, cause: codec.Batch | None, recv: int | None) -> None:
        commands = self.registry.take_commands()
        if not commands:
            return
        inst = self.svc.config.instance
        for sid, cmds in commands.items():
            hops: Any = cause.hops if cause is not None else np.zeros(0, codec.HOP_STAMP)
            if recv is not None:
                hops = codec.append_hop(hops, recv, Stage.StrategyRunner, HopPoint.Receive, inst)
            now = self.svc.clock.now_ns()
            hops = codec.append_hop(hops, now, Stage.StrategyRunner, HopPoint.Publish, inst)
            seq = self.seq.get(sid, 0)
            self.seq[sid] = seq + 1
            msg = codec.encode(codec.ORDERS, cmds, symbol_id=sid, batch_seq=seq, hops=hops)
            self.svc.bus.publish(self.topics.orders, msg, key=symbol_key(sid))
            self.orders.inc(len(cmds))
            if recv is not None:
                self.decide.observe((now - recv) / 1e9)


def run(cfg: StrategyRunnerConfig, *, bus: Bus | None = None, clock: Clock | None = None) -> int:
    if cfg.strategy not in STRATEGIES:
        raise SystemExit(f"unknown strategy {cfg.strategy!r}; known: {', '.join(STRATEGIES)}")
    svc = ApiService(NAME, cfg, bus=bus, clock=clock, profile="latency")
    runner = Runner(svc, cfg.strategy, cfg.account)
    token = cfg.control_token.get_secret_value() if cfg.control_token else None
    svc.app = create_app(svc, runner.registry, runner.flush, token)
    svc.start()
    try:
        t = svc.topics
        while not svc.stopping:
            try:
                # Every run topic: whichever service starts first makes the set complete.
                svc.bus.create_topics(list(t.all()), cfg.partitions)
                break
            except Exception as exc:  # broker not up yet
                svc.log.warning("cannot create topics yet", extra={"fields": {"error": str(exc)}})
                svc.beat()
                svc.stopped_after(1.0)
        runner.start()
        consumer = svc.bus.subscribe([t.md_book, t.exec_reports], svc.group)
        code = svc.consume(
            consumer, runner.handle, commit_interval_s=cfg.commit_interval_s, on_idle=runner.on_idle
        )
        runner.stop()
        svc.bus.flush(10.0)
        return code
    finally:
        svc.close()


def build_parser(p: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = p or argparse.ArgumentParser(prog="minihft run strategy_runner", description=__doc__)
    s = argparse.SUPPRESS
    common_arguments(p)
    p.add_argument("--strategy", default=s, help=f"one of {', '.join(STRATEGIES)}")
    p.add_argument("--account", type=int, default=s)
    p.add_argument("--commit-interval-s", dest="commit_interval_s", type=float, default=s)
    p.add_argument("--poll-timeout-s", dest="poll_timeout_s", type=float, default=s)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(make_config(StrategyRunnerConfig, args))


if __name__ == "__main__":
    sys.exit(main())
