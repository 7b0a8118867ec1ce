"""Per-hop latency and batch_seq gaps of the batches a service consumes, from their hop stamps.

Every hot batch carries HopStamp rows (ts, stage, point, instance) appended along the pipeline.
For one consumed batch: each pair of consecutive stamps is one hop, labelled `a>b` when it
crosses services (a's Publish to b's Receive: the bus) and `a` inside one service (its Receive
to its Publish); the last stamp to this service's receive time is `a>service`, and the first
stamp to receive is `end_to_end`. Work is per batch (a handful of stamps), never per event.

A gap is a producer's per-symbol batch_seq that skips ahead: the producer is the (stage,
instance) of the batch's last stamp. A batch_seq at or below the last one seen is a producer
restart or a replay, not a gap, and restarts the tracking.
"""

from __future__ import annotations

import re
from typing import Any

from minihft import codec
from minihft.bus.base import Message
from minihft.runtime.clock import Clock
from minihft.runtime.metrics import ServiceMetrics
from minihft.schema.Stage import Stage

END_TO_END = "end_to_end"


def stage_name(stage: int) -> str:
    """Service name of a schema Stage: FeedHandler -> feed_handler; unknown numbers as stage<N>."""
    for name, value in vars(Stage).items():
        if not name.startswith("_") and value == stage:
            return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return f"stage{stage}"


class HopObserver:
    def __init__(self, metrics: ServiceMetrics, clock: Clock) -> None:
        self.metrics, self.clock = metrics, clock
        self._names: dict[int, str] = {}
        self._hist: dict[str, Any] = {}  # label -> histogram child (labels() is not free)
        self._gaps: dict[str, Any] = {}
        self._last_seq: dict[tuple[str, int, int, int], int] = {}

    def _stage(self, stage: int) -> str:
        name = self._names.get(stage)
        if name is None:
            name = self._names[stage] = stage_name(stage)
        return name

    def _observe(self, hop: str, ns: int) -> None:
        child = self._hist.get(hop)
        if child is None:
            child = self._hist[hop] = self.metrics.hop_latency.labels(hop)
        # Stamps of different hosts' clocks can be slightly out of order; a hop takes >= 0.
        child.observe(max(0, ns) / 1e9)

    def _gap_counter(self, topic: str) -> Any:
        c = self._gaps.get(topic)
        if c is None:
            # Created at the first message so the series exists (at 0) before any gap.
            c = self._gaps[topic] = self.metrics.batch_seq_gaps.labels(topic)
        return c

    def observe(self, msg: Message, now_ns: int | None = None) -> codec.Batch | None:
        """Records one consumed message and returns its decoded batch; anything that is not a
        hot batch is ignored (None: the handler decides what to do with it)."""
        try:
            if codec.identifier(msg.value) not in codec.BATCH_SCHEMAS:
                return None
            batch = codec.decode(msg.value)
        except codec.CodecError:
            return None
        self.observe_batch(msg.topic, batch, now_ns)
        return batch

    def observe_batch(self, topic: str, batch: codec.Batch, now_ns: int | None = None) -> None:
        now = self.clock.now_ns() if now_ns is None else now_ns
        # One tolist() of the few stamps beats numpy field access per stamp.
        stamps: list[tuple[int, int, int, int, int]] = batch.hops.tolist()
        gaps = self._gap_counter(topic)
        producer = (stamps[-1][1], stamps[-1][3]) if stamps else (0, 0)
        key = (topic, batch.symbol_id, *producer)
        prev = self._last_seq.get(key)
        if prev is not None and batch.batch_seq > prev + 1:
            gaps.inc()
        self._last_seq[key] = batch.batch_seq
        if not stamps:
            return
        prev_ts, prev_stage = stamps[0][0], self._stage(stamps[0][1])
        for ts, stage, _, _, _ in stamps[1:]:
            name = self._stage(stage)
            self._observe(name if name == prev_stage else f"{prev_stage}>{name}", ts - prev_ts)
            prev_ts, prev_stage = ts, name
        me = self.metrics.service
        self._observe(prev_stage if prev_stage == me else f"{prev_stage}>{me}", now - prev_ts)
        self._observe(END_TO_END, now - stamps[0][0])
