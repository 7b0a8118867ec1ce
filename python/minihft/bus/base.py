"""The one interface every service is written against: publish, subscribe, poll, commit.

Two transports implement it: KafkaBus (the deployment) and InProcBus (one process, no broker).
Semantics both keep: messages with the same key go to the same partition in publish order;
a consumer group resumes after its last committed offset, so work polled but not committed is
delivered again after a restart (at-least-once; consumers make their effects idempotent).
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ns: int  # broker/log append time; 0 when the transport has none


def partition_for(key: bytes | None, partitions: int, fallback: int = 0) -> int:
    """Deterministic key -> partition: one symbol stays on one partition on every transport."""
    if key is None:
        return fallback % partitions
    return zlib.crc32(key) % partitions


class Consumer(ABC):
    @abstractmethod
    def poll(self, max_messages: int = 1000, timeout_s: float = 0.1) -> list[Message]:
        """Next messages in partition order; empty when nothing arrived within the timeout."""

    @abstractmethod
    def commit(self, messages: Sequence[Message]) -> None:
        """Mark these messages (and everything before them in their partitions) processed."""

    @abstractmethod
    def lag(self) -> dict[tuple[str, int], int]:
        """(topic, partition) -> messages not yet polled, for each assigned partition: high
        watermark minus the position (the committed offset before the first poll)."""

    @abstractmethod
    def close(self) -> None: ...


class Bus(ABC):
    @abstractmethod
    def create_topics(self, topics: Sequence[str], partitions: int = 4) -> None:
        """Create topics that do not exist yet; existing ones are left alone."""

    @abstractmethod
    def publish(self, topic: str, value: bytes, key: bytes | None = None) -> None: ...

    @abstractmethod
    def flush(self, timeout_s: float = 30.0) -> None:
        """Block until everything published so far is durable on the transport."""

    @abstractmethod
    def subscribe(self, topics: Sequence[str], group: str) -> Consumer: ...

    @abstractmethod
    def close(self) -> None: ...
