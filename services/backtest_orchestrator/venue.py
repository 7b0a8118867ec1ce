"""Venue simulator of a lock-step backtest run: the C++ fill simulator (the lob_engine core's
BacktestStepper, through its Python binding) between a run's topics.

    python -m minihft.services.backtest_orchestrator.venue --run-id R [--depth-levels L]

Reads `md.events` (MdEventBatch, with a SourceDepth after each when --depth-levels > 0, then
EndOfData) only as far as the strategy host's next RunUntil needs: every event up to its limit
and one beyond it (or the end), the rule BacktestStepper::append_events sets. Reads `orders`
(OrderCommandBatch, RunUntil) in order; answers each RunUntil with VenueStepped on
`exec.reports`. Runs until SIGTERM. Anything it cannot use is logged with its topic, partition
and offset, counted and copied to the run's dead-letter topic; the run goes on.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import Any

import numpy as np
from minihft import codec
from minihft.backtest import wire
from minihft.backtest_core import BacktestConfig, Backtester, Wake
from minihft.bus.base import Message
from minihft.bus.kafka import KafkaBus
from minihft.bus.topics import Topics
from minihft.codec import BOOK_DEPTH, CodecError
from minihft.records import MD_EVENT
from minihft.runtime import get_logger
from minihft.runtime.replay import symbol_key

_LOG = get_logger("venue")
COMMIT_EVERY = 64  # messages; a synchronous commit per step would double the step's cost


class Venue:
    def __init__(
        self,
        bus: KafkaBus,
        topics: Topics,
        config: BacktestConfig,
        *,
        symbol_id: int = 0,
        depth_levels: int = 0,
        group: str = "venue",
    ) -> None:
        self.bus, self.t, self.symbol_id, self.depth_levels = bus, topics, symbol_id, depth_levels
        self.bt = Backtester(np.zeros(0, MD_EVENT), config)
        self._md = bus.subscribe([topics.md_events], f"{group}.md")
        self._orders = bus.subscribe([topics.orders], f"{group}.orders")
        self._key = symbol_key(symbol_id)
        # Halves of batches not appended yet, by batch_seq: a batch goes in when both are here.
        self._events_of: dict[int, Any] = {}
        self._rows_of: dict[int, Any] = {}
        self._end: wire.EndOfData | None = None
        self.last_ts: int | None = None
        self.events = 0
        self.batches = 0
        self.ended = False
        self.dead_letters = 0
        self.steps = 0
        self._md_done: list[Message] = []
        self._orders_done: list[Message] = []

    # ---- market data, as far as needed ----
    def _feed_past(self, limit: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.ended and (self.last_ts is None or self.last_ts <= limit):
            msgs = self._md.poll(max_messages=256, timeout_s=0.05)
            for m in msgs:
                self._on_md(m)
            self._md_done += msgs
            if not msgs and time.monotonic() > deadline:
                raise TimeoutError(
                    f"venue: md.events of run {self.t.prefix!r} stopped before ts {limit}: "
                    f"{self.batches} batches ({self.events} events) in, batch {self.batches + 1} "
                    f"missing or incomplete, EndOfData {'in' if self._end else 'not seen'}, "
                    f"after {timeout_s} s"
                )

    def _on_md(self, m: Message) -> None:
        try:
            ident = codec.identifier(m.value)
            if ident == codec.MD_EVENTS.identifier:
                b = codec.decode(m.value, codec.MD_EVENTS)
                if b.batch_seq <= self.batches or b.batch_seq in self._events_of:
                    self._dead_letter(m, f"MdEventBatch batch_seq {b.batch_seq} seen already")
                    return
                self._events_of[b.batch_seq] = b.records.copy()
                self._append_ready()
                return
            _, body = wire.decode(m.value)
        except CodecError as exc:
            self._dead_letter(m, str(exc))
            return
        if isinstance(body, wire.SourceDepth):
            seq = body.batch_seq
            if not self.depth_levels or body.levels != self.depth_levels:
                self._dead_letter(m, f"SourceDepth levels {body.levels}: this venue takes "
                                     f"--depth-levels {self.depth_levels}")  # fmt: skip
                return
            if seq <= self.batches or seq in self._rows_of:
                self._dead_letter(m, f"SourceDepth batch_seq {seq} seen already")
                return
            self._rows_of[seq] = body.as_int64().copy()
            self._append_ready()
        elif isinstance(body, wire.EndOfData):
            self._end = body
            self._append_ready()
        else:
            self._dead_letter(m, f"{type(body).__name__} does not belong on md.events")

    def _append_ready(self) -> None:
        """Appends batches strictly in batch_seq order, each with its depth rows when the run
        has them, whatever order the two halves arrived in; EndOfData closes the stream once
        every batch it counts is in."""
        while True:
            seq = self.batches + 1
            ev = self._events_of.get(seq)
            if ev is None or (self.depth_levels and seq not in self._rows_of):
                break
            del self._events_of[seq]
            rows = self._rows_of.pop(seq, None) if self.depth_levels else None
            if rows is not None and len(rows) != len(ev):
                raise RuntimeError(
                    f"venue: batch {seq}: SourceDepth holds {len(rows)} rows for {len(ev)} events"
                )
            self._append(ev, rows)
        end = self._end
        if end is not None and self.batches >= end.batches:
            if end.events != self.events or self.batches != end.batches:
                # A short stream would silently change every fill after the gap: stop the run.
                raise RuntimeError(
                    f"venue: EndOfData says {end.events} events in {end.batches} batches, "
                    f"read {self.events} in {self.batches}"
                )
            self.ended = True

    def _append(self, events: Any, rows: Any) -> None:
        try:
            self.bt.append(events, rows)
        except ValueError as exc:
            raise RuntimeError(f"venue: batch {self.batches + 1}: {exc}") from exc
        self.events += len(events)
        self.batches += 1
        if len(events):
            self.last_ts = int(events["ts_event"][-1])

    # ---- orders and steps ----
    def serve_once(self, timeout_s: float = 60.0) -> int:
        msgs = self._orders.poll(max_messages=256, timeout_s=0.05)
        for m in msgs:
            try:
                ident = codec.identifier(m.value)
                if ident == codec.ORDERS.identifier:
                    b = codec.decode(m.value, codec.ORDERS)
                    self.bt.send(b.records.copy())
                    continue
                _, body = wire.decode(m.value)
            except CodecError as exc:
                self._dead_letter(m, str(exc))
                continue
            if not isinstance(body, wire.RunUntil):
                self._dead_letter(m, f"{type(body).__name__} does not belong on orders")
                continue
            self._step(body, timeout_s)
        self._orders_done += msgs
        if len(self._orders_done) >= COMMIT_EVERY:
            self.commit()
        return len(msgs)

    def commit(self) -> None:
        """Offsets of everything processed; synchronous, so not after every message."""
        self._md.commit(self._md_done)
        self._orders.commit(self._orders_done)
        self._md_done, self._orders_done = [], []

    def _step(self, req: wire.RunUntil, timeout_s: float) -> None:
        for ts in req.timers.tolist():
            self.bt.set_timer(ts)
        self._feed_past(req.ts_limit, timeout_s)
        why, now = self.bt.run_until(req.ts_limit, Wake(req.wake_mask), req.depth_levels)
        r, x = self.bt.take_reports()
        trades = self.bt.take_trades()
        depth = self.bt.depth(BOOK_DEPTH, self.symbol_id)
        msg = wire.encode_venue_stepped(req.seq, int(why), now, self.bt.cursor, r, x, trades, depth)
        self.bus.publish(self.t.exec_reports, msg, key=self._key)  # linger 0: out at once
        self.steps += 1

    def _dead_letter(self, m: Message, why: str) -> None:
        self.dead_letters += 1
        _LOG.warning("%s[%d]@%d to dead letter: %s", m.topic, m.partition, m.offset, why)
        self.bus.publish(self.t.dead_letter, m.value, key=m.key)

    def close(self) -> None:
        self.commit()
        self.bus.flush()
        for c in (self._md, self._orders):
            c.close()
        self.bus.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="venue", description=__doc__.split("\n")[0])
    p.add_argument("--run-id", required=True)
    p.add_argument("--kafka-bootstrap", default="127.0.0.1:9092")
    p.add_argument("--config", default="{}", help="BacktestConfig as JSON")
    p.add_argument("--symbol-id", type=int, default=0)
    p.add_argument("--depth-levels", type=int, default=0, help="SourceDepth levels, 0 = none")
    p.add_argument("--timeout-s", type=float, default=60.0)
    args = p.parse_args(argv)
    try:
        topics = Topics.for_run(args.run_id)
        config = BacktestConfig(**json.loads(args.config))
    except (ValueError, TypeError) as exc:
        print(f"venue: {exc}", file=sys.stderr)
        return 2
    stop = False

    def on_term(signum: int, frame: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    bus = KafkaBus(args.kafka_bootstrap, profile="latency", client_id=f"venue.{args.run_id}")
    venue = Venue(
        bus, topics, config, symbol_id=args.symbol_id, depth_levels=args.depth_levels,
        group=f"venue.{args.run_id}",
    )  # fmt: skip
    _LOG.info("venue for run %s up", args.run_id)
    try:
        while not stop:
            venue.serve_once(args.timeout_s)
    finally:
        _LOG.info(
            "venue for run %s down: %d steps, %d events, %d dead letters",
            args.run_id, venue.steps, venue.events, venue.dead_letters,
        )  # fmt: skip
        venue.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
