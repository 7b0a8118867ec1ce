"""feed_handler live mode: MoldUDP64 or SoupBinTCP -> ITCH -> md.events.

The C++ receiver thread fills its ring; this loop drains whole ITCH frames, feeds them to one
streaming native parser (so a message split across drains cannot happen: drains end on frame
edges), and publishes per drain: stock directory records first (each ReferenceEvent keyed by its
symbol, so it precedes that symbol's events on the partition), then the MdEventBatches (keyed by
symbol, batch_seq +1 per symbol), then a SequenceGap ReferenceEvent per range the receiver gave up
on (key "0": session-wide). Counters come from the receiver's in-band events and counters.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from minihft import _feed, codec
from minihft.marketdata.itch_records import STOCK_DIRECTORY
from minihft.marketdata.live import EventKind, MoldUdp64Receiver, SoupBinTcpReceiver
from minihft.records import MD_EVENT
from minihft.runtime import Service
from minihft.runtime.replay import BatchPublisher, symbol_key
from minihft.schema.HopPoint import HopPoint
from minihft.schema.Stage import Stage
from minihft.services.feed_handler import reference

Proto = Literal["moldudp64", "soupbintcp"]


@dataclass(frozen=True)
class LiveSource:
    proto: Proto
    host: str
    port: int
    group: str = ""  # MoldUDP64 multicast group (joined on `host`)
    rerequest: tuple[str, int] | None = None  # MoldUDP64 re-request server
    request_timeout_ms: int = 50  # MoldUDP64: wait this long for a retransmission, then re-ask
    max_requests: int = 100  # MoldUDP64: asks per gap before it is given up (SequenceGap)
    user: str = ""
    password: str = ""
    session: str = ""


def _host_port(text: str, what: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{what}: expected HOST:PORT, got {text!r}")
    return host, int(port)


def parse_source(text: str) -> LiveSource:
    """moldudp64://HOST:PORT[?group=ADDR&rerequest=HOST:PORT&request_timeout_ms=N&max_requests=N]
    or soupbintcp://HOST:PORT?user=..&password=..&session=.."""
    u = urllib.parse.urlsplit(text)
    if u.scheme not in ("moldudp64", "soupbintcp"):
        raise ValueError(f"--source {text!r}: scheme must be moldudp64:// or soupbintcp://")
    host, port = _host_port(u.netloc, f"--source {text!r}")
    q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
    mold = {"group", "rerequest", "request_timeout_ms", "max_requests"}
    allowed = mold if u.scheme == "moldudp64" else {"user", "password", "session"}
    if unknown := set(q) - allowed:
        raise ValueError(
            f"--source {text!r}: unknown parameter(s) {sorted(unknown)}, allowed {sorted(allowed)}"
        )
    if u.scheme == "moldudp64":
        rr = (
            _host_port(q["rerequest"], f"--source {text!r} rerequest") if "rerequest" in q else None
        )
        ints = {}
        for k in ("request_timeout_ms", "max_requests"):
            if k in q:
                if not q[k].isdigit() or int(q[k]) < 1:
                    raise ValueError(f"--source {text!r}: {k} must be a positive integer")
                ints[k] = int(q[k])
        return LiveSource(
            "moldudp64",
            host,
            port,
            group=q.get("group", ""),
            rerequest=rr,
            request_timeout_ms=ints.get("request_timeout_ms", 50),
            max_requests=ints.get("max_requests", 100),
        )
    return LiveSource(
        "soupbintcp",
        host,
        port,
        user=q.get("user", ""),
        password=q.get("password", ""),
        session=q.get("session", ""),
    )


def open_receiver(src: LiveSource) -> MoldUdp64Receiver | SoupBinTcpReceiver:
    if src.proto == "moldudp64":
        rx = MoldUdp64Receiver(
            port=src.port,
            host=src.host,
            group=src.group,
            request_timeout_ms=src.request_timeout_ms,
            max_requests=src.max_requests,
        )
        if src.rerequest is not None:
            rx.set_rerequest(src.rerequest[1], src.rerequest[0])
        return rx
    return SoupBinTcpReceiver(
        src.port, host=src.host, user=src.user, password=src.password, session=src.session
    )


class LiveMetrics:
    """Registered in file mode too, so dashboards see the series (at 0) whatever the source."""

    def __init__(self, svc: Service) -> None:
        m = svc.metrics
        self.messages = m.counter("messages_received", "total", "ITCH messages received live")
        self.rate = m.gauge("message_rate", "per_second", "ITCH messages received per second")
        self.gaps = m.counter("gaps_detected", "total", "live sequence gaps detected")
        self.recovered = m.counter(
            "gaps_recovered", "total", "live sequence gaps filled by retransmission"
        )
        self.unrecovered = m.counter(
            "gaps_unrecovered", "total", "live sequence gaps given up on (SequenceGap published)"
        )
        self.lost = m.counter("messages_lost", "total", "ITCH messages in unrecovered gaps")
        self.requests = m.counter(
            "retransmissions_requested", "total", "MoldUDP64 retransmission requests sent"
        )
        self.dups = m.counter(
            "duplicates_suppressed", "total", "MoldUDP64 messages received again and dropped"
        )
        self.reconnects = m.counter("reconnects", "total", "SoupBinTCP logins after the first")
        self.reference = m.counter(
            "reference_published", "total", "ReferenceEvent messages published on md.events"
        )
        self.bad_frames = m.counter(
            "itch_frames_skipped", "total", "live ITCH frames the parser could not decode"
        )
        self._seen: dict[str, int] = {}

    def mirror(self, counters: dict[str, int], parser: dict[str, Any]) -> None:
        """Receiver/parser counters are cumulative; Prometheus counters get their increase."""
        pairs = (
            ("requests", self.requests, counters.get("requests", 0)),
            ("duplicates", self.dups, counters.get("duplicates", 0)),
            ("reconnects", self.reconnects, max(0, counters.get("logins", 0) - 1)),
            (
                "skipped",
                self.bad_frames,
                sum(int(v) for k, v in parser.items() if k.startswith("skipped")),
            ),
        )
        for key, c, total in pairs:
            delta = int(total) - self._seen.get(key, 0)
            if delta > 0:
                c.inc(delta)
                self._seen[key] = int(total)


def run_live(
    svc: Service,
    lm: LiveMetrics,
    src: LiveSource,
    *,
    batch_events: int,
    exit_when_done: bool,
    on_done: Callable[[], None] = lambda: None,
    on_publish: Callable[[int, int], None] = lambda events, batches: None,
) -> int:
    """Until a stop (or, with exit_when_done, the end of the session); on_done runs once the
    session has ended and everything received is flushed to the broker."""
    cfg = svc.config
    topic = svc.topics.md_events
    pub = BatchPublisher(
        svc.bus, topic, svc.clock, stage=Stage.FeedHandler, instance=cfg.instance,
        batch_events=batch_events,
    )  # fmt: skip
    parser = _feed.Parser("skip")
    session = f"{src.proto}://{src.host}:{src.port}"
    rx = open_receiver(src)
    rx.start()
    svc.log.info("live source started", extra={"fields": {"source": session}})
    mark_t, mark_n, n_messages, done = time.monotonic(), 0, 0, False
    try:
        while not svc.stopping:
            svc.beat()
            finished = rx.finished
            b = rx.drain()
            if b.messages:
                lm.messages.inc(b.messages)
                n_messages += b.messages
                if parser.feed(np.frombuffer(b.data, dtype=np.uint8)) is not None:
                    raise RuntimeError("ITCH parser stopped in skip mode")  # cannot happen
                out = parser.take()
                _publish_reference(svc, lm, out["stock_directory"].view(STOCK_DIRECTORY))
                ev = out["events"].view(MD_EVENT)
                if len(ev):
                    on_publish(len(ev), len(pub.publish(ev)))
            for e in b.events:
                _on_event(svc, lm, session, e)
            lm.mirror(rx.counters(), parser.counters())
            now = time.monotonic()
            if now - mark_t >= 1.0:
                lm.rate.set((n_messages - mark_n) / (now - mark_t))
                mark_t, mark_n = now, n_messages
            if finished and b.messages == 0 and len(b.events) == 0:
                if not done:
                    done = True
                    svc.bus.flush(30.0)
                    on_done()
                    svc.log.info(
                        "live session finished",
                        extra={"fields": {"events": pub.events, "batches": pub.batches}},
                    )
                if exit_when_done:
                    break
                svc.stopped_after(0.2)
            elif b.messages == 0:
                svc.stopped_after(0.001)
    finally:
        rx.stop()
    return 0


def _hop(svc: Service) -> Any:
    return codec.make_hops(
        (svc.clock.now_ns(), Stage.FeedHandler, HopPoint.Publish, svc.config.instance)
    )


def _publish_reference(svc: Service, lm: LiveMetrics, sd: Any) -> None:
    topic = svc.topics.md_events
    for rec in sd:
        msg = reference.stock_directory(rec, svc.clock.now_ns(), _hop(svc))
        svc.bus.publish(topic, msg, key=symbol_key(int(rec["locate"])))
        lm.reference.inc()


def _on_event(svc: Service, lm: LiveMetrics, session: str, e: Any) -> None:
    kind, seq, count = int(e["kind"]), int(e["seq"]), int(e["count"])
    if kind == EventKind.GAP_DETECTED:
        lm.gaps.inc()
    elif kind == EventKind.GAP_RECOVERED:
        lm.recovered.inc()
    elif kind == EventKind.GAP_ABANDONED:
        lm.unrecovered.inc()
        lm.lost.inc(count)
        msg = reference.sequence_gap(session, seq, seq + count, svc.clock.now_ns(), _hop(svc))
        svc.bus.publish(svc.topics.md_events, msg, key=symbol_key(0))
        lm.reference.inc()
    if kind != EventKind.GAP_RECOVERED and kind != EventKind.GAP_DETECTED:
        fields = {"kind": EventKind(kind).name if kind in EventKind._value2member_map_ else kind}
        svc.log.info("live event", extra={"fields": {**fields, "seq": seq, "count": count}})
