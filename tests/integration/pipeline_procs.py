"""Helpers of the pipeline integration tests: service processes, md.book readers, the
in-process reference of lob_engine's md.book stream."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from confluent_kafka import Consumer, TopicPartition
from minihft import codec
from minihft.paths import lobster_dir
from minihft.runtime.stack import lob_engine_binary

ROOT = Path(__file__).resolve().parents[2]
GOOG_L10 = lobster_dir()
GOOG_DAY = GOOG_L10 / "GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"
SAMPLE = ROOT / "data" / "sample" / "GOOG_2012-06-21_34200000_36000000_message_10.csv.gz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_lob_engine() -> Path:
    b = lob_engine_binary()
    if b is None:
        pytest.fail(
            "lob_engine binary not found: run `make service` (or set MINIHFT_LOB_ENGINE_BIN)"
        )
    return b


def http_get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return int(r.status), r.read()
    except urllib.error.HTTPError as e:
        return int(e.code), b""
    except OSError:
        return 0, b""


def metric(port: int, name: str) -> float:
    """Sum of all samples of `name` on the service's /metrics (0 when absent)."""
    _, body = http_get(port, "/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name) and line[len(name) : len(name) + 1] in ("{", " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


class Proc:
    """One service process with its log file; stopped with SIGTERM like `make down` does."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, port: int) -> None:
        self.name, self.port = name, port
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - lives as long as the process
        self.p = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT)

    @classmethod
    def python(cls, name: str, module: str, args: list[str], log_dir: Path, port: int) -> Proc:
        argv = [sys.executable, "-m", f"minihft.services.{module}", "--http-port", str(port)]
        return cls(name, argv + args, log_dir, port)

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.p.returncode}:\n{self.tail()}")
            if http_get(self.port, "/readyz")[0] == 200:
                return
            time.sleep(0.1)
        pytest.fail(f"{self.name} not ready after {timeout_s} s:\n{self.tail()}")

    def tail(self, n: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def stop(self, timeout_s: float = 30.0) -> int:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self._log.close()
        return int(self.p.returncode)


def lob_engine(prefix: str, group: str, log_dir: Path, *extra: str) -> Proc:
    port = free_port()
    argv = [str(require_lob_engine()), "--topic-prefix", prefix, "--group", group]
    argv += ["--metrics-port", str(port), "--metrics-addr", "127.0.0.1", *extra]
    return Proc("lob_engine", argv, log_dir, port)


def read_batches(
    bootstrap: str, topic: str, schema: codec.BatchSchema, *, until: Any, timeout_s: float
) -> list[codec.Batch]:
    """Reads `topic` from the start (read_committed) until `until(batches)` or the timeout."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{os.getpid()}-{time.monotonic_ns()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        }
    )
    md = c.list_topics(topic, timeout=10).topics[topic]
    c.assign([TopicPartition(topic, p, 0) for p in md.partitions])
    out: list[codec.Batch] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not until(out):
            for m in c.consume(num_messages=1000, timeout=0.2):
                if m.error() is None:
                    out.append(codec.decode(m.value(), schema))
    finally:
        c.close()
    return out


def book_updates(batches: list[codec.Batch]) -> npt.NDArray[Any]:
    """The BOOK_UPDATE rows of all batches, ordered by (symbol, seq)."""
    if not batches:
        return np.zeros(0, codec.BOOK_UPDATE)
    rows = np.concatenate([b.records for b in batches])
    return rows[np.lexsort((rows["seq"], rows["symbol_id"]))]


def depth_of(updates: npt.NDArray[Any], depth: int = 10) -> npt.NDArray[np.int64]:
    """BOOK_UPDATE rows -> (n, depth, 4) [ask_px, ask_qty, bid_px, bid_qty] like BookBuilder."""
    out = np.zeros((len(updates), depth, 4), np.int64)
    out[:, :, 0] = updates["asks"]["price"][:, :depth]
    out[:, :, 1] = updates["asks"]["qty"][:, :depth]
    out[:, :, 2] = updates["bids"]["price"][:, :depth]
    out[:, :, 3] = updates["bids"]["qty"][:, :depth]
    return out
