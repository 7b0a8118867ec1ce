"""InProcBus: every stage in one process, same messages, no broker.

Each topic is a list of partitions, each an append-only list, exactly like a Kafka log, so a
component behaves the same on both transports. Committed offsets are kept per group, so a
consumer reopened under the same group resumes where the last commit left it.
"""

from __future__ import annotations

from collections.abc import Sequence

from minihft.bus.base import Bus, Consumer, Message, partition_for


class _Log:
    def __init__(self, partitions: int) -> None:
        self.partitions: list[list[Message]] = [[] for _ in range(partitions)]


class InProcBus(Bus):
    def __init__(self) -> None:
        self._logs: dict[str, _Log] = {}
        self._committed: dict[tuple[str, str, int], int] = {}  # (group, topic, partition) -> next
        self._round_robin = 0

    def create_topics(self, topics: Sequence[str], partitions: int = 4) -> None:
        for topic in topics:
            self._logs.setdefault(topic, _Log(partitions))

    def publish(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        log = self._log(topic)
        n = len(log.partitions)
        partition = partition_for(key, n, self._round_robin)
        if key is None:
            self._round_robin += 1
        part = log.partitions[partition]
        part.append(Message(topic, partition, len(part), key, bytes(value), 0))

    def flush(self, timeout_s: float = 30.0) -> None:
        return None

    def subscribe(self, topics: Sequence[str], group: str) -> Consumer:
        for topic in topics:
            self._log(topic)
        return _InProcConsumer(self, list(topics), group)

    def close(self) -> None:
        return None

    def _log(self, topic: str) -> _Log:
        try:
            return self._logs[topic]
        except KeyError:
            raise KeyError(f"topic {topic!r} does not exist; create it first") from None


class _InProcConsumer(Consumer):
    def __init__(self, bus: InProcBus, topics: list[str], group: str) -> None:
        self._bus = bus
        self._topics = topics
        self._group = group
        self._position: dict[tuple[str, int], int] = {}
        for topic in topics:
            for p in range(len(bus._log(topic).partitions)):
                self._position[(topic, p)] = bus._committed.get((group, topic, p), 0)

    def poll(self, max_messages: int = 1000, timeout_s: float = 0.1) -> list[Message]:
        # Drain partitions in a fixed order so an in-process run is deterministic.
        out: list[Message] = []
        for (topic, p), pos in self._position.items():
            part = self._bus._log(topic).partitions[p]
            take = part[pos : pos + max_messages - len(out)]
            out.extend(take)
            self._position[(topic, p)] = pos + len(take)
            if len(out) >= max_messages:
                break
        return out

    def commit(self, messages: Sequence[Message]) -> None:
        for m in messages:
            key = (self._group, m.topic, m.partition)
            self._bus._committed[key] = max(self._bus._committed.get(key, 0), m.offset + 1)

    def lag(self) -> dict[tuple[str, int], int]:
        return {
            (t, p): len(self._bus._log(t).partitions[p]) - pos
            for (t, p), pos in list(self._position.items())
        }

    def close(self) -> None:
        return None
