"""Fixtures and helpers to run the `lob_engine` service binary against the real broker.

The binary comes from `make service` (build/service); a missing binary fails the test, since
CI must not go green without having run the service.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from confluent_kafka import Consumer, TopicPartition
from minihft import codec
from minihft.bus import Topics
from minihft.bus.kafka import KafkaBus
from minihft.paths import lobster_dir

ROOT = Path(__file__).resolve().parents[2]
# MINIHFT_LOB_ENGINE_BINARY runs the suite against another build (e.g. a sanitizer one).
BINARY = Path(
    os.environ.get(
        "MINIHFT_LOB_ENGINE_BINARY", ROOT / "build/service/services/lob_engine/service/lob_engine"
    )
)
LOBSTER = lobster_dir()
PARTITIONS = 4

Records = npt.NDArray[Any]


def symbol_key(symbol_id: int) -> bytes:
    """Kafka key of a symbol's messages: its decimal id (the service keys its outputs the same)."""
    return str(symbol_id).encode()


@pytest.fixture(scope="session")
def lob_engine_binary() -> Path:
    if not BINARY.is_file():
        pytest.fail(f"{BINARY} is missing: run `make service` (needs librdkafka-dev)")
    return BINARY


@pytest.fixture
def engine_topics(bootstrap: str, topics: Topics) -> Topics:
    """The per-test namespace with every topic created (the broker does not auto-create)."""
    KafkaBus(bootstrap).create_topics(list(topics.all()), partitions=PARTITIONS)
    return topics


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EngineProcess:
    """One run of the service binary; stderr (JSON lines) goes to a file for the failure report."""

    def __init__(self, binary: Path, bootstrap: str, topics: Topics, log_dir: Path, *extra: str):
        self.port = free_port()
        self.log_path = log_dir / f"lob_engine-{uuid.uuid4().hex[:6]}.log"
        self._log = self.log_path.open("wb")
        args = [
            str(binary),
            "--bootstrap",
            bootstrap,
            "--topic-prefix",
            topics.prefix,
            "--metrics-addr",
            "127.0.0.1",
            "--metrics-port",
            str(self.port),
            "--group",
            "lob_engine." + topics.prefix,
            *extra,
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self._log)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=3) as r:
                return int(r.status), r.read().decode()
        except urllib.error.HTTPError as e:
            return int(e.code), e.read().decode()

    def metrics(self) -> dict[str, float]:
        """`name{labels}` -> value of every sample."""
        _, text = self.get("/metrics")
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def wait_until(self, what: str, pred: Callable[[], bool], timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"lob_engine exited ({self.proc.returncode}):\n{self.logs()}")
            try:
                if pred():
                    return
            except (OSError, urllib.error.URLError):
                pass  # not listening yet
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.logs()}")

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        self.wait_until("/readyz", lambda: self.get("/readyz")[0] == 200, timeout_s)

    def wait_consumed(self, md_messages: int, order_messages: int, timeout_s: float = 90) -> None:
        """Until the engine is done with that many input messages (outputs may still be in flight:
        read them with consume_all, which waits)."""

        def done() -> bool:
            m = self.metrics()
            got_md = m['minihft_lob_engine_messages_processed_total{topic="md.events"}']
            got_orders = m['minihft_lob_engine_messages_processed_total{topic="orders"}']
            return got_md >= md_messages and got_orders >= order_messages

        self.wait_until("input consumed", done, timeout_s)

    def logs(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]

    def kill(self, sig: int = signal.SIGKILL, timeout_s: float = 10) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout_s)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def run_engine(
    lob_engine_binary: Path, bootstrap: str, engine_topics: Topics, tmp_path: Path
) -> Iterator[Callable[..., EngineProcess]]:
    procs: list[EngineProcess] = []

    def start(*extra: str) -> EngineProcess:
        p = EngineProcess(lob_engine_binary, bootstrap, engine_topics, tmp_path, *extra)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.close()


def publish_batches(
    bus: KafkaBus,
    topic: str,
    schema: codec.BatchSchema,
    records: Records,
    batch: int,
    seq0: int = 0,
) -> int:
    """Publishes `records` of one symbol in batches of `batch`; returns the message count."""
    symbol = int(records["symbol_id"][0]) if len(records) else 0
    n = 0
    for i, start in enumerate(range(0, len(records), batch)):
        chunk = np.ascontiguousarray(records[start : start + batch])
        hops = codec.make_hops((time.time_ns(), 1, 1, 0))
        buf = codec.encode(schema, chunk, symbol_id=symbol, batch_seq=seq0 + i, hops=hops)
        bus.publish(topic, buf, key=symbol_key(symbol))
        n += 1
    bus.flush()
    return n


def consume_all(
    bootstrap: str,
    topic: str,
    expect: Callable[[list[Any]], bool],
    timeout_s: float = 60.0,
    settle_s: float = 1.0,
) -> list[Any]:
    """Every committed message of `topic` (read_committed), in partition order, once `expect`
    holds of what was read and nothing more arrived for `settle_s` (to catch duplicates)."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "it-reader-" + uuid.uuid4().hex[:8],
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    out: list[Any] = []
    deadline = time.monotonic() + timeout_s
    last_new = time.monotonic()
    try:
        while time.monotonic() < deadline:
            msgs = c.consume(num_messages=1000, timeout=0.2)
            for m in msgs:
                if m.error() is None:
                    out.append(m)
            if msgs:
                last_new = time.monotonic()
            elif expect(out) and time.monotonic() - last_new >= settle_s:
                return out
    finally:
        c.close()
    raise AssertionError(f"{topic}: {len(out)} messages read; expectation not met in {timeout_s}s")


def decode_records(msgs: list[Any], schema: codec.BatchSchema) -> Records:
    """All records of the messages, ordered by (symbol, batch_seq) of their batch."""
    batches = [codec.decode(m.value(), schema) for m in msgs]
    batches.sort(key=lambda b: (b.symbol_id, b.batch_seq))
    if not batches:
        return np.zeros(0, dtype=schema.dtype)
    return np.concatenate([b.records for b in batches])
