"""Lock-step gate: after each injected batch, wait until the pipeline has fully digested it.

"Digested" is read from Kafka offsets, not from timing, so the run is deterministic:
1. lob_engine's committed offset on md.events passes the batch (it commits input offsets in the
   same transaction as its md.book/exec.reports output, so that output is now visible);
2. our own read_committed consumers have read md.book and exec.reports to their end, which
   gives the last data offset per partition (transaction markers make the high watermark a
   poor target: a consumer commits after the last *data* record);
3. every strategy group has committed md.book and exec.reports up to those offsets, and
   lob_engine has committed everything on `orders` (the strategy's reaction); repeat until a
   pass changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from minihft.bus.topics import Topics


class LockstepGate:
    def __init__(
        self,
        bootstrap: str,
        topics: Topics,
        *,
        lob_group: str,
        strategy_groups: Sequence[str] = (),
        timeout_s: float = 60.0,
    ) -> None:
        self.bootstrap, self.t, self.timeout_s = bootstrap, topics, timeout_s
        self.lob_group, self.strategy_groups = lob_group, list(strategy_groups)
        self._lookups: dict[str, Any] = {}
        self._readers: dict[str, Any] = {}
        self._parts: dict[str, list[int]] = {}
        self.last_data: dict[tuple[str, int], int] = {}  # (topic, partition) -> last data offset
        self.book_batches_seen = 0
        for topic in (topics.md_book, topics.exec_reports):
            c = Consumer(self._conf(f"lockstep.{topics.prefix}{topic}.reader"))
            parts = self._partitions(c, topic)
            c.assign([TopicPartition(topic, p, 0) for p in parts])
            self._readers[topic] = c

    def _conf(self, group: str) -> dict[str, Any]:
        return {
            "bootstrap.servers": self.bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
        }

    def _lookup(self, group: str) -> Any:
        if group not in self._lookups:
            self._lookups[group] = Consumer(self._conf(group))  # never subscribes: no rebalance
        return self._lookups[group]

    def _partitions(self, c: Any, topic: str) -> list[int]:
        # A run's topics are created up front with a fixed partition count: look up once.
        if topic not in self._parts:
            md = c.list_topics(topic, timeout=30).topics[topic]
            self._parts[topic] = sorted(md.partitions)
        return self._parts[topic]

    def _committed(self, group: str, topic: str) -> dict[int, int]:
        c = self._lookup(group)
        tps = [TopicPartition(topic, p) for p in self._partitions(c, topic)]
        return {tp.partition: tp.offset for tp in c.committed(tps, timeout=10)}

    def _high(self, topic: str) -> dict[int, int]:
        c = self._lookup(self.lob_group)
        return {
            p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
            for p in self._partitions(c, topic)
        }

    def _wait(self, what: str, done: Any) -> None:
        deadline = time.monotonic() + self.timeout_s
        delay = 0.0005
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"lock-step: {what} not reached after {self.timeout_s} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.02)

    def _lob_caught_up(self, topic: str) -> bool:
        high = self._high(topic)
        com = self._committed(self.lob_group, topic)
        return all(com.get(p, -1) >= h or h == 0 for p, h in high.items())

    def _drain(self, topic: str) -> int:
        """Reads our reader of `topic` to its end; returns records read."""
        c = self._readers[topic]
        n = 0
        while True:
            msgs = c.consume(num_messages=1000, timeout=0.05)
            for m in msgs:
                if m.error() is None:
                    self.last_data[(topic, m.partition())] = m.offset()
                    n += 1
            positions = c.position(c.assignment())
            high = self._high(topic)
            if not msgs and all(
                tp.offset >= high.get(tp.partition, 0) or high.get(tp.partition, 0) == 0
                for tp in positions
            ):
                return n

    def _strategies_caught_up(self) -> bool:
        for group in self.strategy_groups:
            for topic in (self.t.md_book, self.t.exec_reports):
                com = self._committed(group, topic)
                for (tp, p), off in self.last_data.items():
                    if tp == topic and com.get(p, -1) < off + 1:
                        return False
        return True

    def settle(self) -> None:
        """Blocks until everything published so far has passed through the pipeline."""
        self._wait("lob_engine commit on md.events", lambda: self._lob_caught_up(self.t.md_events))
        while True:
            self.book_batches_seen += self._drain(self.t.md_book)
            self._drain(self.t.exec_reports)
            if not self.strategy_groups:
                return
            self._wait("strategy commits", self._strategies_caught_up)
            before = dict(self._high(self.t.orders))
            self._wait("lob_engine commit on orders", lambda: self._lob_caught_up(self.t.orders))
            self._drain(self.t.exec_reports)
            if self._strategies_caught_up() and self._high(self.t.orders) == before:
                return

    def close(self) -> None:
        for c in [*self._readers.values(), *self._lookups.values()]:
            c.close()
