"""KafkaBus: the Bus on a real Apache Kafka broker through confluent-kafka (librdkafka).

Choices that matter for a trading pipeline:
- idempotent producer (acks=all, no duplicates on retry), so a broker failover does not double
  an order or an event;
- the `consistent` partitioner (CRC32 of the key), the same mapping InProcBus uses, so a symbol
  lands on the same partition on both transports;
- offsets are committed only by an explicit commit() after processing: a crash re-delivers
  uncommitted work rather than losing it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any, Literal

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka import Consumer as _KConsumer
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec  # type: ignore[attr-defined]

from minihft.bus.base import Bus, Consumer, Message

Profile = Literal["throughput", "latency"]
POLL_EVERY = 64  # publishes between two servings of delivery callbacks

_PRODUCER_PROFILES: dict[str, dict[str, Any]] = {
    # Replays and backfills: let librdkafka fill big compressed batches.
    "throughput": {"linger.ms": 5, "batch.size": 1_048_576, "compression.type": "lz4"},
    # Orders and acks on the hot path: send at once.
    "latency": {"linger.ms": 0, "batch.size": 65_536, "compression.type": "none"},
}


class KafkaBus(Bus):
    def __init__(
        self,
        bootstrap: str = "127.0.0.1:9092",
        profile: Profile = "throughput",
        client_id: str = "minihft",
    ) -> None:
        self._bootstrap = bootstrap
        self._client_id = client_id
        self._admin = AdminClient({"bootstrap.servers": bootstrap, "client.id": client_id})
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "client.id": client_id,
                "enable.idempotence": True,
                "acks": "all",
                "partitioner": "consistent",
                "queue.buffering.max.messages": 1_000_000,
                # Small order and ack messages must not wait for Nagle's coalescing.
                "socket.nagle.disable": True,
                **_PRODUCER_PROFILES[profile],
            }
        )
        self._failures: list[str] = []
        self._lock = threading.Lock()
        self._unpolled = 0

    def create_topics(self, topics: Sequence[str], partitions: int = 4) -> None:
        existing = set(self._admin.list_topics(timeout=10).topics)
        wanted = [NewTopic(t, partitions, 1) for t in topics if t not in existing]
        if not wanted:
            return
        for topic, future in self._admin.create_topics(wanted, operation_timeout=30).items():
            try:
                future.result()
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise RuntimeError(f"creating topic {topic!r}: {exc}") from exc
        self._await_leaders([t.topic for t in wanted])

    def _await_leaders(self, topics: list[str], timeout_s: float = 30.0) -> None:
        # The controller has the topic when create_topics returns, but the broker's metadata
        # may not yet: a consumer subscribing in that moment fails with UNKNOWN_TOPIC_OR_PART.
        deadline = time.monotonic() + timeout_s
        while True:
            md = self._admin.list_topics(timeout=10).topics
            missing = [
                t for t in topics
                if t not in md or md[t].error is not None or not md[t].partitions
                or any(p.leader < 0 for p in md[t].partitions.values())
            ]  # fmt: skip
            if not missing:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"topics without a leader {timeout_s} s after creation: {missing}"
                )
            time.sleep(0.05)
        # A leader in the metadata may not host the partition's log yet; a first produce then
        # fails, and an idempotent producer's retry of it can be dropped as a duplicate while the
        # next message is written (seen on a freshly started broker). Answering ListOffsets
        # proves the log is there.
        parts = [TopicPartition(t, p) for t in topics for p in md[t].partitions]
        while True:
            latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
            futures = self._admin.list_offsets({tp: latest for tp in parts})
            try:
                for f in futures.values():
                    f.result()
                return
            except KafkaException as exc:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"topics not writable {timeout_s} s after creation: {exc}"
                    ) from exc
            time.sleep(0.05)

    def delete_topics(self, topics: Sequence[str]) -> None:
        if not topics:
            return
        for future in self._admin.delete_topics(list(topics), operation_timeout=30).values():
            future.result()

    def publish(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, on_delivery=self._delivered)
                break
            except BufferError:
                # Local queue full: serve delivery callbacks until there is room again.
                self._producer.poll(0.05)
        # Delivery callbacks are served now and then, not per message: poll(0) costs ~15 us,
        # on the order path too, and delivered()/flush() serve whatever is left.
        self._unpolled += 1
        if self._unpolled >= POLL_EVERY:
            self._unpolled = 0
            self._producer.poll(0)

    def flush(self, timeout_s: float = 30.0) -> None:
        remaining = self._producer.flush(timeout_s)
        with self._lock:
            failures, self._failures = self._failures, []
        if failures:
            raise RuntimeError(f"{len(failures)} messages not delivered; first: {failures[0]}")
        if remaining:
            raise TimeoutError(f"{remaining} messages still queued after {timeout_s} s")

    def delivered(self) -> bool:
        """Non-blocking flush(): True when everything published so far is on the broker (False
        while some is still in flight); raises like flush() on failed deliveries. A service
        that commits only after True never waits a broker round trip on its poll loop."""
        self._producer.poll(0)
        with self._lock:
            failures, self._failures = self._failures, []
        if failures:
            raise RuntimeError(f"{len(failures)} messages not delivered; first: {failures[0]}")
        return len(self._producer) == 0

    def subscribe(self, topics: Sequence[str], group: str) -> Consumer:
        return _KafkaConsumer(self._bootstrap, f"{self._client_id}.{group}", list(topics), group)

    def close(self) -> None:
        self._producer.flush(10)

    def _delivered(self, err: KafkaError | None, msg: Any) -> None:
        if err is not None:
            with self._lock:
                self._failures.append(f"{msg.topic()}[{msg.partition()}]: {err.str()}")


class _KafkaConsumer(Consumer):
    def __init__(self, bootstrap: str, client_id: str, topics: list[str], group: str) -> None:
        # Offsets of asynchronous commits that failed, re-sent with the next commit.
        self._retry: dict[tuple[str, int], int] = {}
        self._retry_lock = threading.Lock()
        self._consumer = _KConsumer(
            {
                "bootstrap.servers": bootstrap,
                "client.id": client_id,
                "group.id": group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "enable.partition.eof": False,
                "isolation.level": "read_committed",
                "socket.nagle.disable": True,
                "on_commit": self._committed,
            }
        )
        self._consumer.subscribe(topics)

    def poll(self, max_messages: int = 1000, timeout_s: float = 0.1) -> list[Message]:
        # librdkafka's consume() waits for a full batch or the whole timeout; a trading service
        # wants the first message as soon as it lands, plus whatever is already queued behind it.
        batch = self._consumer.consume(num_messages=max_messages, timeout=0)
        if not batch:
            first = self._consumer.poll(timeout_s)
            if first is None:
                return []
            batch = [first]
            if max_messages > 1:
                batch += self._consumer.consume(num_messages=max_messages - 1, timeout=0)
        out: list[Message] = []
        for m in batch:
            err = m.error()
            if err is not None:
                if err.retriable() or err.code() == KafkaError._TRANSPORT:
                    continue  # librdkafka reconnects by itself; nothing was delivered
                raise RuntimeError(f"consuming {m.topic()}[{m.partition()}]: {err.str()}")
            topic, partition, offset = m.topic(), m.partition(), m.offset()
            # A delivered message always has these; librdkafka leaves them unset only on errors.
            assert topic is not None and partition is not None and offset is not None
            _, ts_ms = m.timestamp()
            out.append(
                Message(topic, partition, offset, m.key(), m.value() or b"", ts_ms * 1_000_000)
            )
        return out

    def commit(self, messages: Sequence[Message], asynchronous: bool = False) -> None:
        """asynchronous=True returns at once; offsets the broker refuses are re-sent with the next
        commit (a crash before then re-delivers them, as any uncommitted work)."""
        if not messages:
            return
        next_offsets: dict[tuple[str, int], int] = {}
        for m in messages:
            key = (m.topic, m.partition)
            next_offsets[key] = max(next_offsets.get(key, 0), m.offset + 1)
        with self._retry_lock:
            retry, self._retry = self._retry, {}
        if retry:
            owned = {(tp.topic, tp.partition) for tp in self._consumer.assignment()}
            for key, off in retry.items():
                if key in owned:  # a revoked partition's offsets belong to its new owner
                    next_offsets[key] = max(next_offsets.get(key, 0), off)
        offsets = [TopicPartition(t, p, o) for (t, p), o in next_offsets.items()]
        if asynchronous:
            self._consumer.commit(offsets=offsets, asynchronous=True)
        else:
            self._consumer.commit(offsets=offsets, asynchronous=False)

    def _committed(self, err: KafkaError | None, parts: list[TopicPartition]) -> None:
        # Runs inside poll()/commit() on the loop's thread (librdkafka serves callbacks there).
        failed = [tp for tp in parts if err is not None or tp.error is not None]
        if failed:
            with self._retry_lock:
                for tp in failed:
                    key = (tp.topic, tp.partition)
                    self._retry[key] = max(self._retry.get(key, 0), tp.offset)

    def lag(self, timeout_s: float = 1.0) -> dict[tuple[str, int], int]:
        """Lag per assigned partition. The high watermark comes from librdkafka's cache, which
        every fetch response refreshes, so a consumer that keeps up costs the broker nothing;
        only a partition not fetched yet is asked for. Call it off the poll loop's thread;
        librdkafka's handle is thread-safe, but the caller must not race it with close()."""
        positions = self._consumer.position(self._consumer.assignment())
        unset = [tp for tp in positions if tp.offset < 0]  # assigned, nothing fetched yet
        committed = {
            (tp.topic, tp.partition): tp.offset
            for tp in (self._consumer.committed(unset, timeout=timeout_s) if unset else [])
        }
        out: dict[tuple[str, int], int] = {}
        for tp in positions:
            key = (tp.topic, tp.partition)
            low, high = self._consumer.get_watermark_offsets(tp, cached=True)
            if high < 0:  # nothing fetched from this partition yet
                low, high = self._consumer.get_watermark_offsets(
                    tp, timeout=timeout_s, cached=False
                )
            at = tp.offset if tp.offset >= 0 else committed.get(key, OFFSET_BEGINNING)
            # Nothing committed: auto.offset.reset=earliest starts at the low watermark.
            out[key] = max(0, high - (at if at >= 0 else low))
        return out

    def close(self) -> None:
        self._consumer.close()
