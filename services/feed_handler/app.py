"""feed_handler: a historical file (LOBSTER messages or ITCH 5.0) -> md.events, paced or max;
or a live ITCH feed (`--source moldudp64://...` / `soupbintcp://...`, see live_mode.py).

Batches of up to `batch_events` events, one symbol each, keyed by symbol, batch_seq +1 per
symbol, a FeedHandler/Publish hop stamp. The events keep the file's ts_event/ts_recv so a replay
produces the same books as the in-process run; wall time travels only in the hop stamps.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np
from minihft.bus.base import Bus
from minihft.records import MD_EVENT, MdEventType
from minihft.runtime import Clock, Service, ServiceConfig
from minihft.runtime.cli import common_arguments, make_config
from minihft.runtime.replay import BatchPublisher, load_events, paced_slices, repeat_symbols
from minihft.schema.Stage import Stage
from minihft.services.feed_handler.live_mode import LiveMetrics, parse_source, run_live
from pydantic import Field, model_validator

NAME = "feed_handler"


class FeedHandlerConfig(ServiceConfig):
    http_port: int = Field(9101, ge=0, le=65535)
    file: str | None = Field(None, description="LOBSTER *message*.csv[.gz] or ITCH 5.0 file [.gz]")
    source: str | None = Field(
        None,
        description="live ITCH: moldudp64://HOST:PORT[?group=ADDR&rerequest=HOST:PORT] or "
        "soupbintcp://HOST:PORT?user=..&password=..&session=..; a plain path is a file",
    )
    symbol_id: int = Field(0, ge=0, description="symbol id of a LOBSTER file's events")
    speed: float | None = Field(None, gt=0, description="x real time; None = as fast as possible")
    batch_events: int = Field(512, ge=1, le=65536)
    repeat: int = Field(1, ge=1, description="copies of the file under symbol ids +0, +1, ...")
    exit_when_done: bool = False
    clear_first: bool = Field(
        False, description="a Clear event per symbol first, so a replay restarts its book"
    )
    partitions: int = Field(4, ge=1)

    @model_validator(mode="after")
    def _one_source(self) -> FeedHandlerConfig:
        if self.source is not None and "://" not in self.source:
            self.file, self.source = self.file or self.source, None
        if (self.file is None) == (self.source is None):
            raise ValueError("give exactly one of file (--file) and source (--source)")
        if self.source is not None:
            parse_source(self.source)  # a bad URL fails at startup, naming the parameter
        return self


def run(cfg: FeedHandlerConfig, *, bus: Bus | None = None, clock: Clock | None = None) -> int:
    svc = Service(NAME, cfg, bus=bus, clock=clock, profile="throughput")
    m = svc.metrics
    events_total = m.counter("events_published", "total", "md events published")
    batches_total = m.counter("batches_published", "total", "md.events batches published")
    lag = m.gauge("lag", "seconds", "how late the last paced batch was against its schedule")
    rate = m.gauge("event_rate", "per_second", "events published per second, last interval")
    done = m.gauge("replay_done", "bool", "1 once the whole file is published and flushed")
    live_metrics = LiveMetrics(svc)
    svc.start()
    try:
        topic = svc.topics.md_events
        if not _ensure_topics(svc, list(svc.topics.all()), cfg.partitions):
            return 0
        if cfg.source is not None:

            def on_publish(n_events: int, n_batches: int) -> None:
                events_total.inc(n_events)
                batches_total.inc(n_batches)

            code: int = run_live(
                svc,
                live_metrics,
                parse_source(cfg.source),
                batch_events=cfg.batch_events,
                exit_when_done=cfg.exit_when_done,
                on_done=lambda: done.set(1),
                on_publish=on_publish,
            )
            _flush(svc)
            svc.log.info("stopped cleanly")
            return code
        assert cfg.file is not None
        events = load_events(cfg.file, cfg.symbol_id)
        svc.log.info(
            "replaying",
            extra={"fields": {"file": cfg.file, "events": len(events), "repeat": cfg.repeat}},
        )
        pub = BatchPublisher(
            svc.bus, topic, svc.clock, stage=Stage.FeedHandler, instance=cfg.instance,
            batch_events=cfg.batch_events,
        )  # fmt: skip
        mark_t, mark_n = time.monotonic(), 0
        chunk = cfg.batch_events * 64
        for copy in repeat_symbols(events, cfg.repeat, cfg.symbol_id):
            if cfg.clear_first and len(copy):
                clear = np.zeros(1, dtype=MD_EVENT)
                clear[0]["ts_event"] = clear[0]["ts_recv"] = copy[0]["ts_event"]
                clear[0]["symbol_id"] = copy[0]["symbol_id"]
                clear[0]["type"] = int(MdEventType.CLEAR)
                pub.publish(clear)
            for start, stop, late in paced_slices(
                copy["ts_event"],
                cfg.speed,
                max_events=chunk,
                sleep_for=lambda s: svc.stopped_after(s),
            ):
                before = pub.batches
                pub.publish(copy[start:stop])
                events_total.inc(stop - start)
                batches_total.inc(pub.batches - before)
                lag.set(late)
                svc.beat()
                now = time.monotonic()
                if now - mark_t >= 1.0:
                    rate.set((pub.events - mark_n) / (now - mark_t))
                    mark_t, mark_n = now, pub.events
                if svc.stopping:
                    break
            if svc.stopping:
                break
        _flush(svc)
        rate.set(0)
        done.set(1)
        svc.log.info(
            "replay published", extra={"fields": {"events": pub.events, "batches": pub.batches}}
        )
        while not cfg.exit_when_done and not svc.stopping:
            svc.beat()
            svc.stopped_after(1.0)
        svc.log.info("stopped cleanly", extra={"fields": {"events": pub.events}})
        return 0
    finally:
        svc.close()


def _ensure_topics(svc: Service, topics: list[str], partitions: int) -> bool:
    """Creates the topics, waiting out a broker that is not up yet; False if stopped first."""
    while not svc.stopping:
        try:
            svc.bus.create_topics(topics, partitions)
            return True
        except Exception as exc:  # broker unreachable: admin calls fail with several types
            svc.log.warning("cannot create topics yet", extra={"fields": {"error": str(exc)}})
            svc.beat()
            svc.stopped_after(1.0)
    return False


def _flush(svc: Service) -> None:
    """Everything published reaches the broker, however long it is away (until a stop)."""
    while True:
        try:
            svc.bus.flush(5.0)
            return
        except TimeoutError:
            svc.beat()
            if svc.stopping:
                svc.bus.flush(30.0)
                return


def build_parser(p: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = p or argparse.ArgumentParser(prog="minihft run feed_handler", description=__doc__)
    s = argparse.SUPPRESS
    common_arguments(p)
    p.add_argument("--file", default=s)
    p.add_argument("--source", default=s, help="moldudp64://... | soupbintcp://... | FILE")
    p.add_argument("--symbol-id", dest="symbol_id", type=int, default=s)
    p.add_argument("--speed", default=s, help="x real time, or 'max' (default)")
    p.add_argument("--batch-events", dest="batch_events", type=int, default=s)
    p.add_argument("--repeat", type=int, default=s)
    p.add_argument("--exit-when-done", dest="exit_when_done", action="store_true", default=s)
    p.add_argument("--clear-first", dest="clear_first", action="store_true", default=s)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "speed", None) == "max":
        args.speed = None
    return run(make_config(FeedHandlerConfig, args))


if __name__ == "__main__":
    sys.exit(main())
