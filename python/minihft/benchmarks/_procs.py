"""Service processes for the pipeline benchmarks: a fresh run namespace, lob_engine + Python
services as real processes, torn down (SIGTERM) and topics deleted afterwards."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from types import TracebackType

from confluent_kafka.admin import AdminClient

from minihft.bus.kafka import KafkaBus
from minihft.bus.topics import Topics
from minihft.runtime.stack import LOG_DIR, ROOT, lob_engine_binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
            return int(r.status) == 200
    except OSError:
        return False


class Stack:
    """`with Stack(bootstrap, "bench") as s: s.start_lob_engine(...)`: processes of one run."""

    def __init__(self, bootstrap: str, name: str, partitions: int = 4) -> None:
        self.bootstrap = bootstrap
        self.run_id = f"{name}-{uuid.uuid4().hex[:8]}"
        self.topics = Topics.for_run(self.run_id)
        self.partitions = partitions
        self.procs: list[tuple[str, subprocess.Popen[bytes], int]] = []
        LOG_DIR.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> Stack:
        KafkaBus(self.bootstrap).create_topics(list(self.topics.all()), self.partitions)
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for _, p, _ in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for _, p, _ in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        existing = set(
            AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=10).topics
        )
        KafkaBus(self.bootstrap).delete_topics([x for x in self.topics.all() if x in existing])

    def _start(self, name: str, argv: list[str], port: int) -> subprocess.Popen[bytes]:
        log = open(LOG_DIR / f"bench-{self.run_id}-{name}.log", "wb")  # noqa: SIM115
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.procs.append((name, p, port))
        return p

    def start_lob_engine(self, *extra: str) -> int:
        binary = lob_engine_binary()
        if binary is None:
            raise SystemExit("lob_engine binary not found: run `make service`")
        port = free_port()
        self._start(
            "lob_engine",
            [str(binary), "--bootstrap", self.bootstrap, "--topic-prefix", self.topics.prefix,
             "--group", f"lob-{self.run_id}", "--metrics-addr", "127.0.0.1",
             "--metrics-port", str(port), *extra],
            port,
        )  # fmt: skip
        return port

    def start_python(self, service: str, *args: str) -> int:
        port = free_port()
        argv = [sys.executable, "-m", f"minihft.services.{service}", "--run-id", self.run_id]
        argv += ["--kafka-bootstrap", self.bootstrap, "--http-port", str(port), *args]
        self._start(service, argv, port)
        return port

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        for name, p, port in self.procs:
            while not ready(port):
                if p.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{name} did not become ready; see {LOG_DIR}")
                time.sleep(0.1)

    def check_alive(self) -> None:
        for name, p, _ in self.procs:
            if p.poll() is not None and p.returncode != 0:
                raise SystemExit(f"{name} exited with {p.returncode}; see {self.log_path(name)}")

    def log_path(self, name: str) -> Path:
        return LOG_DIR / f"bench-{self.run_id}-{name}.log"
