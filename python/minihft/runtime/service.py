"""The service loop every Python service runs in.

- SIGTERM/SIGINT: stop polling, finish the batch in hand, flush the producer, commit, exit 0.
- Broker loss: a probe thread marks the service not ready while the broker is unreachable;
  librdkafka reconnects by itself, failed commits are retried with the next ones, and messages
  re-delivered after a rebalance are skipped by offset, so the outage loses and duplicates nothing.
- Dead letters: a message a handler cannot decode goes to dead.letter with its origin in the key.
"""

from __future__ import annotations

import gc
import signal
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from minihft import codec
from minihft.bus.base import Bus, Consumer, Message
from minihft.bus.inproc import InProcBus
from minihft.bus.kafka import KafkaBus, Profile, _KafkaConsumer
from minihft.codec import CodecError
from minihft.runtime.clock import Clock, WallClock
from minihft.runtime.config import ServiceConfig
from minihft.runtime.hops import HopObserver
from minihft.runtime.http import ProbeServer
from minihft.runtime.log import get_logger
from minihft.runtime.metrics import ServiceMetrics

STALL_S = 30.0  # a loop that has not turned for this long is unhealthy
# The loop commits without waiting (outputs already delivered, asynchronous offset commit); when
# outputs stay in flight this many commit intervals, it waits for them (blocking flush) instead.
COMMIT_OVERDUE = 10
LAG_INTERVAL_S = 1.0  # consumer lag refresh; a broker round trip per partition


class Service:
    """Runtime of one service process: bus, clock, logger, metrics, probes, stop flag."""

    def __init__(
        self,
        name: str,
        config: ServiceConfig,
        *,
        bus: Bus | None = None,
        clock: Clock | None = None,
        profile: Profile = "throughput",
    ) -> None:
        self.name = name
        self.config = config
        self.clock: Clock = clock or WallClock()
        self.log = get_logger(name, config.log_level)
        self.metrics = ServiceMetrics(name)
        self.topics = config.topics()
        # A run's services get their own groups: one group across runs would rebalance them.
        self.group = config.group or (f"{name}.{config.run_id}" if config.run_id else name)
        self.bus: Bus = bus or KafkaBus(config.kafka_bootstrap, profile=profile, client_id=name)
        self._stop = threading.Event()
        self._broker_ok = isinstance(self.bus, InProcBus)
        self._heartbeat = time.monotonic()
        self._http: ProbeServer | None = None
        self.processed: dict[tuple[str, int], int] = {}  # last handled offset per partition
        self.hops = HopObserver(self.metrics, self.clock)
        # Clock reading when the bus handed over the batch being handled (None outside consume):
        # a handler's receive stamp, so hop metrics and decoding do not count as transport.
        self.received_ns: int | None = None
        # The message being handled and its batch as the hop observer decoded it (decode()).
        self._decoded: tuple[Message, codec.Batch] | None = None

    def decode(self, msg: Message, expected: codec.BatchSchema) -> codec.Batch:
        """codec.decode(msg.value, expected), without decoding again the message the consume
        loop already decoded for its hop metrics; raises CodecError the same way."""
        d = self._decoded
        if d is not None and d[0] is msg and d[1].schema is expected:
            return d[1]
        return codec.decode(msg.value, expected)

    # ---- lifecycle -------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        def on_signal(signum: int, frame: FrameType | None) -> None:
            self.log.info("stop requested", extra={"fields": {"signal": signum}})
            self._stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def stop(self) -> None:
        self._stop.set()

    def stopped_after(self, seconds: float) -> bool:
        """Sleeps up to `seconds`; True (at once) when a stop is requested."""
        return self._stop.wait(max(0.0, seconds))

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        """HTTP probes and the broker probe; call before the loop."""
        cfg = self.config
        self._http = ProbeServer(
            cfg.http_host, cfg.http_port, self.metrics.exposition, self._health, self._readiness
        )
        self._http.start()
        if threading.current_thread() is threading.main_thread():
            self.install_signal_handlers()
        if isinstance(self.bus, KafkaBus):
            threading.Thread(target=self._probe_broker, daemon=True).start()
        self.metrics.up.set(1)
        self.log.info(
            "started",
            extra={"fields": {"http_port": self._http.port, "topics_prefix": self.topics.prefix}},
        )

    @property
    def http_port(self) -> int:
        return self._http.port if self._http else 0

    def close(self) -> None:
        self.metrics.up.set(0)
        if self._http is not None:
            self._http.stop()
        self.bus.close()

    def beat(self) -> None:
        self._heartbeat = time.monotonic()

    # ---- probes ----------------------------------------------------------------------------
    def _health(self) -> tuple[bool, dict[str, object]]:
        idle = time.monotonic() - self._heartbeat
        return idle < STALL_S, {"service": self.name, "loop_idle_s": round(idle, 3)}

    def _readiness(self) -> tuple[bool, dict[str, object]]:
        ok = self._broker_ok and not self.stopping
        return ok, {"service": self.name, "broker": self._broker_ok}

    @property
    def broker_ok(self) -> bool:
        return self._broker_ok

    def _probe_broker(self) -> None:
        admin = AdminClient(
            {"bootstrap.servers": self.config.kafka_bootstrap, "client.id": f"{self.name}.probe"}
        )
        while not self.stopping:
            try:
                # One topic's metadata: the whole cluster's is parsed into Python objects under
                # the GIL, a pause for the poll loop on a broker with many run topics.
                admin.list_topics(
                    self.topics.dead_letter, timeout=max(0.5, self.config.broker_probe_s)
                )
                ok = True
            except KafkaException:
                ok = False
            if ok != self._broker_ok:
                level = self.log.info if ok else self.log.warning
                level("broker " + ("reachable" if ok else "unreachable"))
            self._broker_ok = ok
            self.metrics.ready.set(1 if ok else 0)
            self._stop.wait(self.config.broker_probe_s)

    # ---- consuming -------------------------------------------------------------------------
    def dead_letter(self, msg: Message, cause: str, detail: str) -> None:
        key = f"{msg.topic}/{msg.partition}/{msg.offset} {cause}".encode()
        self.bus.publish(self.topics.dead_letter, msg.value, key=key)
        self.metrics.dead_letters.labels(msg.topic, cause).inc()
        self.log.warning(
            "dead letter",
            extra={
                "fields": {
                    "topic": msg.topic,
                    "partition": msg.partition,
                    "offset": msg.offset,
                    "cause": cause,
                    "detail": detail,
                }
            },
        )

    def fresh(self, msgs: Sequence[Message]) -> list[Message]:
        """Drops messages already handled: a rebalance after broker loss re-delivers from the
        last committed offset, and effects must not happen twice."""
        out = []
        for m in msgs:
            k = (m.topic, m.partition)
            if m.offset > self.processed.get(k, -1):
                self.processed[k] = m.offset
                out.append(m)
        return out

    def consume(
        self,
        consumer: Consumer,
        handle: Callable[[Message], None],
        *,
        commit_interval_s: float = 0.1,
        on_idle: Callable[[], None] | None = None,
    ) -> int:
        """Poll -> handle each new message -> (every commit_interval_s) flush, commit.

        Each batch's hop latencies and batch_seq gaps are recorded (runtime/hops.py) before it
        is handled. A CodecError from `handle` sends the message to dead.letter and the loop goes
        on. Returns the exit code: 0 after a stop request with everything committed.
        """
        cfg = self.config
        pending: list[Message] = []
        unconfirmed: dict[tuple[str, int], Message] = {}
        last_commit = time.monotonic()
        lag_done = threading.Event()
        lag_thread = threading.Thread(
            target=self._watch_lag, args=(consumer, lag_done), name="consumer-lag", daemon=True
        )
        lag_thread.start()
        # Start-up (imports, pydantic, FastAPI) leaves ~10^5 long-lived objects: frozen, a full
        # collection no longer walks them, which took tens of ms in the middle of a hop.
        gc.collect()
        gc.freeze()
        while not self.stopping:
            self.beat()
            try:
                # librdkafka's batch consume waits for a *full* batch or the timeout: block
                # for the first message only, then take whatever else is already there.
                msgs = consumer.poll(1, cfg.poll_timeout_s)
                if msgs and cfg.poll_max > 1:
                    msgs += consumer.poll(cfg.poll_max - 1, 0)
            except RuntimeError as exc:  # a non-retriable consumer error; the client recovers
                self.log.warning("poll failed", extra={"fields": {"error": str(exc)}})
                self._stop.wait(0.2)
                continue
            self.received_ns = self.clock.now_ns()
            for m in self.fresh(msgs):
                batch = self.hops.observe(m, self.received_ns)
                self._decoded = None if batch is None else (m, batch)
                try:
                    handle(m)
                except CodecError as exc:
                    self.dead_letter(m, "malformed", str(exc))
                pending.append(m)
            self.received_ns = self._decoded = None
            if on_idle is not None:
                on_idle()
            now = time.monotonic()
            if pending and now - last_commit >= commit_interval_s:
                overdue = now - last_commit >= COMMIT_OVERDUE * commit_interval_s
                done = self._commit(consumer, pending, flush_timeout_s=1.0, wait=overdue)
                if done:
                    for m in pending:  # the newest per partition, committed again at stop
                        unconfirmed[(m.topic, m.partition)] = m
                    pending.clear()
                if done is not None:  # None: outputs in flight, try again next turn
                    last_commit = now
        # Stop requested: the batch in hand is handled; make its effects durable, then commit,
        # synchronously, with the offsets of the loop's asynchronous commits again.
        pending = [*unconfirmed.values(), *pending]
        deadline = time.monotonic() + 30.0
        while pending and time.monotonic() < deadline:
            if self._commit(consumer, pending, flush_timeout_s=5.0):
                pending.clear()
            else:
                time.sleep(0.5)
        lag_done.set()
        lag_thread.join()  # it uses the consumer: never race close()
        consumer.close()
        if pending:
            self.log.error("exiting with uncommitted work", extra={"fields": {"n": len(pending)}})
            return 1
        self.log.info("stopped cleanly")
        return 0

    def _watch_lag(self, consumer: Consumer, done: threading.Event) -> None:
        """Keeps minihft_<service>_consumer_lag_messages current, off the poll loop's thread;
        measures once more when the loop ends so the gauge shows the final state."""
        gauge = self.metrics.consumer_lag
        shown: set[tuple[str, int]] = set()
        while True:
            last = done.wait(LAG_INTERVAL_S)
            try:
                lags = consumer.lag()
            except (KafkaException, RuntimeError) as exc:  # broker away: keep the last values
                self.log.debug("consumer lag unavailable", extra={"fields": {"error": str(exc)}})
            else:
                for (topic, partition), n in lags.items():
                    gauge.labels(topic, str(partition)).set(n)
                for topic, partition in shown - lags.keys():  # revoked by a rebalance
                    gauge.remove(topic, str(partition))
                shown = set(lags)
            if last:
                return

    def _commit(
        self, consumer: Consumer, pending: list[Message], flush_timeout_s: float, wait: bool = True
    ) -> bool | None:
        """Outputs first, then input offsets: a crash between them re-processes, never loses.
        wait=False never blocks on Kafka: None while outputs are still in flight, and the
        offsets go out asynchronously."""
        try:
            if not wait and isinstance(self.bus, KafkaBus) and isinstance(consumer, _KafkaConsumer):
                if not self.bus.delivered():
                    return None
                consumer.commit(pending, asynchronous=True)
                return True
            self.bus.flush(flush_timeout_s)
            consumer.commit(pending)
            return True
        except (KafkaException, RuntimeError, TimeoutError) as exc:
            self.metrics.commit_failures.inc()
            self.log.warning("commit deferred", extra={"fields": {"error": str(exc)}})
            return False
