"""Losing Prometheus degrades nothing (DESIGN section 9).

A real strategy_runner consumes md.book on per-test topics while a test-owned Prometheus
scrapes it every second. Prometheus is killed: the service keeps consuming and stays ready
(Prometheus is no dependency). Prometheus restarts on the same storage: scrapes resume and the
counter series is monotonic across the gap. Then SIGTERM: exit 0 promptly, and the group's
committed offsets equal what the service processed (a long commit interval leaves the final
commit to the shutdown path). A missing broker or Prometheus binary is a failure, not a skip.
"""

from __future__ import annotations

import itertools
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from confluent_kafka import Consumer as KConsumer
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient
from minihft import codec
from minihft.bus import Topics
from minihft.bus.base import partition_for
from minihft.bus.kafka import KafkaBus
from pipeline_procs import Proc, free_port, http_get, metric
from test_dashboards import Prometheus

COUNTER = "minihft_strategy_runner_book_updates_total"
PARTITIONS = 4


class _Prom(Prometheus):
    """The dashboards test's Prometheus client, on a one-job config of our own."""

    def __init__(self, binary: str, target: int, data: Path, port: int) -> None:
        data.mkdir(exist_ok=True)
        cfg = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [
                {"job_name": "strategy_runner",
                 "static_configs": [{"targets": [f"127.0.0.1:{target}"]}]},
            ],
        }  # fmt: skip
        (data / "prometheus.yml").write_text(yaml.safe_dump(cfg))
        self.port = port
        argv = [
            binary, f"--config.file={data / 'prometheus.yml'}",
            f"--storage.tsdb.path={data / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}",
        ]  # fmt: skip
        self.proc = Proc("prometheus", argv, data, port)

    def samples(self) -> list[tuple[float, float]]:
        res = self.api("query", query=f"{COUNTER}[10m]")["data"]["result"]
        assert len(res) <= 1, res  # one series: a relabel would show as a second
        if not res:
            return []  # not scraped yet
        return [(float(t), float(v)) for t, v in res[0]["values"]]


class _Publisher(threading.Thread):
    """md.book batches (2 updates each) at ~100 msg/s, counted per partition."""

    def __init__(self, bus: KafkaBus, topic: str) -> None:
        super().__init__(daemon=True)
        self.bus, self.topic = bus, topic
        self.halt = threading.Event()
        self.per_partition = [0] * PARTITIONS
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            seq: dict[int, int] = {}
            book = np.zeros(2, codec.BOOK_UPDATE)
            while not self.halt.wait(0.01):
                sid = 1 + sum(self.per_partition) % 8
                s = seq.get(sid, 0)
                seq[sid] = s + 1
                key = str(sid).encode()
                msg = codec.encode(codec.MD_BOOK, book, symbol_id=sid, batch_seq=s)
                self.bus.publish(self.topic, msg, key=key)
                self.per_partition[partition_for(key, PARTITIONS)] += 1
            self.bus.flush(10.0)
        except BaseException as exc:  # surfaced by the test, not lost in the thread
            self.error = exc


def _wait(what: str, cond: Any, timeout_s: float, detail: Any = lambda: "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}\n{detail()}")


def _committed(bootstrap: str, group: str, topic: str) -> list[int]:
    c = KConsumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
        return [max(0, tp.offset) for tp in sorted(tps, key=lambda tp: tp.partition)]
    finally:
        c.close()


def _lag(port: int, topic: str) -> int | None:
    """Summed consumer-lag gauge of `topic`, None until the service has reported it."""
    body = http_get(port, "/metrics")[1]
    text = body.decode() if isinstance(body, bytes) else body
    prefix = "minihft_strategy_runner_consumer_lag_messages{partition="
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(prefix) and f'topic="{topic}"' in line
    ]
    return int(sum(values)) if values else None


def test_losing_prometheus_degrades_nothing(bootstrap: str, tmp_path: Path) -> None:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus not found: run `make prometheus-up` once (installs the package)")
    rid = "deg-" + uuid.uuid4().hex[:10]
    topics, group = Topics.for_run(rid), f"sr-{rid}"
    bus = KafkaBus(bootstrap)
    bus.create_topics(list(topics.all()), partitions=PARTITIONS)
    svc = Proc.python(
        "strategy_runner", "strategy_runner",
        ["--run-id", rid, "--strategy", "probe", "--group", group, "--commit-interval-s", "300"],
        tmp_path, free_port(),
    )  # fmt: skip
    pub = _Publisher(bus, topics.md_book)
    prom: _Prom | None = None
    try:
        svc.wait_ready()
        pub.start()
        prom_port = free_port()
        prom = _Prom(binary, svc.port, tmp_path / "prom", prom_port)
        prom.wait_ready()
        _wait("3 scrapes", lambda: len(prom.samples()) >= 3 if prom else False, 30)
        before = prom.samples()

        # Prometheus dies: nothing the service does depends on it.
        prom.proc.p.send_signal(signal.SIGKILL)
        prom.proc.stop()
        killed_at = time.time()
        readings = []
        for _ in range(8):
            assert http_get(svc.port, "/readyz")[0] == 200, svc.tail()
            assert http_get(svc.port, "/healthz")[0] == 200, svc.tail()
            readings.append(metric(svc.port, COUNTER))
            time.sleep(0.5)
        assert all(b > a for a, b in itertools.pairwise(readings)), readings

        # Back on the same storage: the old samples are there and new ones continue them.
        prom = _Prom(binary, svc.port, tmp_path / "prom", prom_port)
        prom.wait_ready()
        restarted_at = time.time()
        _wait(
            "scrapes after the restart",
            lambda: sum(t > restarted_at for t, _ in prom.samples()) >= 3 if prom else False,
            30,
        )
        series = prom.samples()
        values = [v for _, v in series]
        assert values == sorted(values), "counter reset across the Prometheus outage"
        assert series[: len(before)] == before, "samples before the outage were lost"
        assert not any(killed_at + 0.5 < t < restarted_at for t, _ in series)  # the real gap
        assert prom.scalar(f"resets({COUNTER}[10m])") == 0
        after_gap = next(v for t, v in series if t > restarted_at)
        assert after_gap > before[-1][1] and after_gap >= readings[-1]

        # SIGTERM after the input stops: everything processed is committed on the way out.
        pub.halt.set()
        pub.join(15)
        assert pub.error is None, pub.error
        published = pub.per_partition
        updates = 2 * sum(published)
        _wait("all input processed", lambda: metric(svc.port, COUNTER) == updates, 30, svc.tail)
        _wait("consumer lag back to 0", lambda: _lag(svc.port, topics.md_book) == 0, 10, svc.tail)
        t0 = time.monotonic()
        code = svc.stop(timeout_s=15)
        took = time.monotonic() - t0
        assert code == 0, svc.tail()
        assert took < 5.0, f"SIGTERM took {took:.1f} s"
        assert _committed(bootstrap, group, topics.md_book) == published
        print(
            f"samples before/after: {len(before)}/{sum(t > restarted_at for t, _ in series)}, "
            f"gap {restarted_at - killed_at:.1f} s, counter {before[-1][1]:.0f} -> "
            f"{after_gap:.0f}, published {published}, SIGTERM exit in {took:.2f} s"
        )
    finally:
        pub.halt.set()
        if prom is not None:
            prom.proc.stop()
        svc.stop()
        existing = set(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics)
        bus.delete_topics([t for t in topics.all() if t in existing])
