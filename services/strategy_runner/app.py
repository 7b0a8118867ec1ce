"""strategy_runner: md.book + exec.reports in, a Strategy's decisions out on `orders`.

Each input batch is one callback; the commands it queued leave at once as one
OrderCommandBatch per symbol, carrying the input's hop stamps plus ours (Receive, Publish), so
the tick-to-order path is measurable hop by hop. Offsets are committed after the orders are
flushed: a crash re-runs a callback rather than losing an order decision.
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
from minihft.strategy import STRATEGIES, Strategy, StrategyContext
from pydantic import Field

NAME = "strategy_runner"


class StrategyRunnerConfig(ServiceConfig):
    http_port: int = Field(9103, ge=0, le=65535)
    strategy: str = Field("logging", description="one of minihft.strategy.STRATEGIES")
    account: int = Field(1, ge=1, description="account of our orders; reports are filtered on it")
    commit_interval_s: float = Field(0.1, gt=0)
    partitions: int = Field(4, ge=1)


class Runner:
    """The per-message logic, separate from the loop so tests can drive it on InProcBus."""

    def __init__(self, svc: Service, strategy: Strategy, account: int) -> None:
        self.svc = svc
        self.strategy = strategy
        self.ctx = StrategyContext(
            svc.clock, svc.log, account=account, order_id_base=(svc.config.instance + 1) << 40
        )
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
        self.strategy.on_start(self.ctx)
        self._send(None, None)

    def handle(self, msg: Message) -> None:
        recv = self.svc.clock.now_ns()
        if msg.topic == self.topics.md_book:
            batch = codec.decode(msg.value, codec.MD_BOOK)
            self.books.inc(len(batch.records))
            self.strategy.on_book(self.ctx, batch.symbol_id, batch.records)
        elif msg.topic == self.topics.exec_reports:
            batch = codec.decode(msg.value, codec.EXEC_REPORTS)
            ours = batch.records[batch.records["account"] == self.ctx.account]
            if len(ours) == 0:
                return
            self.reports.inc(len(ours))
            self.strategy.on_fill(self.ctx, batch.symbol_id, ours)
        else:
            return
        self._send(batch, recv)

    def on_idle(self) -> None:
        for token in self.ctx.due_timers():
            self.strategy.on_timer(self.ctx, token)
        self._send(None, None)

    def _send(self, cause: codec.Batch | None, recv: int | None) -> None:
        commands = self.ctx.take_commands()
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
    svc = Service(NAME, cfg, bus=bus, clock=clock, profile="latency")
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
        runner = Runner(svc, STRATEGIES[cfg.strategy](), cfg.account)
        runner.start()
        consumer = svc.bus.subscribe([t.md_book, t.exec_reports], svc.group)
        code = svc.consume(
            consumer, runner.handle, commit_interval_s=cfg.commit_interval_s, on_idle=runner.on_idle
        )
        runner.strategy.on_stop(runner.ctx)
        runner._send(None, None)
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
