"""Python services under py-spy while the bundled real sample flows through the real broker.

A fresh topic namespace (bt.<run-id>.*) gets lob_engine (C++), strategy_runner (probe strategy:
one order per book batch) and feed_handler (the sample at max speed, --repeat copies under
distinct symbol ids). py-spy attaches to both Python services by pid and samples until each
stops; a consumer in this process reads md.book and orders from offset 0 and keeps every
batch's hop stamps, from which hop_latency.md is computed.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from minihft import codec
from minihft.benchmarks._procs import Stack, free_port
from minihft.runtime.stack import ROOT
from minihft.schema.HopPoint import HopPoint
from minihft.schema.Stage import Stage

SAMPLE = ROOT / "data" / "sample" / "GOOG_2012-06-21_34200000_36000000_message_10.csv.gz"
PYSPY = Path(sys.executable).with_name("py-spy")

FH_PUB = (Stage.FeedHandler, HopPoint.Publish)
LOB_RECV = (Stage.LobEngine, HopPoint.Receive)
LOB_PUB = (Stage.LobEngine, HopPoint.Publish)
SR_RECV = (Stage.StrategyRunner, HopPoint.Receive)
SR_PUB = (Stage.StrategyRunner, HopPoint.Publish)
BOOK_CHAIN = (FH_PUB, LOB_RECV, LOB_PUB)
ORDER_CHAIN = (FH_PUB, LOB_RECV, LOB_PUB, SR_RECV, SR_PUB)
HOP_NAMES = (
    "feed_handler publish -> lob_engine receive (Kafka md.events)",
    "lob_engine receive -> lob_engine publish (book + md.book produce)",
    "lob_engine publish -> strategy_runner receive (Kafka md.book)",
    "strategy_runner receive -> strategy_runner publish (decode, strategy, orders produce)",
)


def chain_of(hops: Any) -> tuple[tuple[int, int], ...]:
    return tuple((int(s), int(p)) for s, p in zip(hops["stage"], hops["point"], strict=True))


def hop_table(book: list[Any], orders: list[Any]) -> str:
    """Markdown p50/p99 per hop. Hops 1-2 come from md.book batches (every book batch), hops 3-4
    from orders batches whose stamps are the whole 5-stamp chain (one per book batch the probe
    strategy answered); end to end is feed_handler publish -> strategy_runner publish."""
    lines = ["| hop | batches | p50 us | p99 us | max us |", "|---|---:|---:|---:|---:|"]

    def row(name: str, d: Any) -> None:
        if len(d) == 0:
            lines.append(f"| {name} | 0 | - | - | - |")
            return
        p50, p99 = np.percentile(d, [50, 99]) / 1e3
        lines.append(f"| {name} | {len(d):,} | {p50:,.1f} | {p99:,.1f} | {d.max() / 1e3:,.1f} |")

    b = np.array(book, dtype=np.int64).reshape(-1, 3)
    o = np.array(orders, dtype=np.int64).reshape(-1, 5)
    row(HOP_NAMES[0], b[:, 1] - b[:, 0])
    row(HOP_NAMES[1], b[:, 2] - b[:, 1])
    row(HOP_NAMES[2], o[:, 3] - o[:, 2])
    row(HOP_NAMES[3], o[:, 4] - o[:, 3])
    row("end to end: feed_handler publish -> strategy_runner publish", o[:, 4] - o[:, 0])
    return "\n".join(lines) + "\n"


class _Tap(threading.Thread):
    """Reads md.book and orders of the run from offset 0 and keeps hop stamps by chain."""

    def __init__(self, bootstrap: str, book_topic: str, orders_topic: str, group: str) -> None:
        super().__init__(daemon=True)
        conf: dict[str, str | bool] = {"bootstrap.servers": bootstrap, "group.id": group}
        conf |= {"isolation.level": "read_committed", "enable.auto.commit": False}
        self.c = Consumer(conf)
        self.book_topic = book_topic
        assign = []
        for t in (book_topic, orders_topic):
            parts = self.c.list_topics(t, timeout=10).topics[t].partitions
            assign += [TopicPartition(t, p, 0) for p in parts]
        self.c.assign(assign)
        self.book: list[Any] = []
        self.orders: list[Any] = []
        self.other = 0
        self.stop = threading.Event()
        self.last_msg = time.monotonic()

    def run(self) -> None:
        while not self.stop.is_set():
            for m in self.c.consume(num_messages=500, timeout=0.2):
                if m.error() is not None:
                    continue
                self.last_msg = time.monotonic()
                is_book = m.topic() == self.book_topic
                b = codec.decode(m.value() or b"", codec.MD_BOOK if is_book else codec.ORDERS)
                ch = chain_of(b.hops)
                ts = b.hops["ts"].astype(np.int64)
                if is_book and ch == BOOK_CHAIN:
                    self.book.append(ts)
                elif not is_book and ch == ORDER_CHAIN:
                    self.orders.append(ts)
                else:  # cancels answering exec reports carry a longer chain
                    self.other += 1
        self.c.close()


def _wait_leaders(bootstrap: str, topics: list[str], timeout_s: float = 30.0) -> None:
    """Fresh topics on a loaded broker answer 'Not leader for partition' for a while, which
    lob_engine treats as a start-up failure: wait until every partition has a leader."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        md = admin.list_topics(timeout=10).topics
        led = [t in md and all(p.leader >= 0 for p in md[t].partitions.values()) for t in topics]
        if all(led):
            time.sleep(1.0)  # leaders known to the controller; let the metadata spread
            return
        time.sleep(0.2)
    raise SystemExit(f"topics without a leader after {timeout_s} s: {topics}")


def _spy(pid: int, out: Path, rate: int) -> subprocess.Popen[bytes]:
    argv = [str(PYSPY), "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw",
            "--output", str(out), "--nonblocking"]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _stop_spy(p: subprocess.Popen[bytes], name: str) -> None:
    if p.poll() is None:
        p.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        raise SystemExit(f"py-spy on {name} did not stop") from None
    if p.returncode not in (0, -signal.SIGINT, 130):
        raise SystemExit(f"py-spy on {name} failed ({p.returncode}): {err.decode()[-500:]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--kafka-bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--file", type=Path, default=SAMPLE)
    ap.add_argument("--repeat", type=int, default=10, help="copies of the sample (symbols)")
    ap.add_argument("--speed", default="120", help="x real time (the sample is 30 min), or max")
    ap.add_argument("--timeout-s", type=float, default=240.0, help="give up on the feed after")
    ap.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    ap.add_argument("--settle-s", type=float, default=5.0, help="quiet time that ends the run")
    a = ap.parse_args(argv)
    if not PYSPY.exists():
        raise SystemExit(f"{PYSPY} missing: .venv/bin/pip install py-spy==0.4.3")
    a.out.mkdir(parents=True, exist_ok=True)
    # SIGTERM unwinds through Stack.__exit__, which stops the services and deletes the topics.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t_start = time.monotonic()
    with Stack(a.kafka_bootstrap, "profile") as s:
        _wait_leaders(a.kafka_bootstrap, list(s.topics.all()))
        s.start_lob_engine()
        sr_port = s.start_python("strategy_runner", "--strategy", "probe")
        s.wait_ready()
        tap = _Tap(a.kafka_bootstrap, s.topics.md_book, s.topics.orders, f"profile-{s.run_id}")
        tap.start()
        sr_pid = next(p.pid for n, p, _ in s.procs if n == "strategy_runner")
        spy_sr = _spy(sr_pid, a.out / "strategy_runner.pyspy.txt", a.rate)
        # feed_handler is started by hand so py-spy wraps it from its first instruction.
        fh_port = free_port()
        fh_argv = [str(PYSPY), "record", "--rate", str(a.rate), "--format", "raw", "--output",
                   str(a.out / "feed_handler.pyspy.txt"), "--nonblocking", "--",
                   sys.executable, "-m", "minihft.services.feed_handler", "--run-id", s.run_id,
                   "--kafka-bootstrap", a.kafka_bootstrap, "--http-port", str(fh_port),
                   "--file", str(a.file), "--repeat", str(a.repeat), "--speed", a.speed,
                   "--clear-first", "--exit-when-done"]  # fmt: skip
        fh = s._start("feed_handler", fh_argv, fh_port)  # Stack owns its teardown
        t_feed = time.monotonic()
        while fh.poll() is None:
            if time.monotonic() - t_feed > a.timeout_s:
                raise SystemExit(
                    f"feed not done after {a.timeout_s} s; see {s.log_path('feed_handler')}"
                )
            s.check_alive()
            time.sleep(0.2)
        feed_s = time.monotonic() - t_feed
        if fh.returncode != 0:
            raise SystemExit(
                f"feed_handler under py-spy exited {fh.returncode}: {s.log_path('feed_handler')}"
            )
        while time.monotonic() - tap.last_msg < a.settle_s:
            s.check_alive()
            time.sleep(0.2)
        _stop_spy(spy_sr, "strategy_runner")
        tap.stop.set()
        tap.join()
        del sr_port
    table = hop_table(tap.book, tap.orders)
    meta = {
        "file": a.file.name,
        "repeat": a.repeat,
        "speed": a.speed,
        "pyspy_rate_hz": a.rate,
        "feed_seconds": round(feed_s, 2),
        "total_seconds": round(time.monotonic() - t_start, 2),
        "md_book_batches": len(tap.book),
        "order_batches_full_chain": len(tap.orders),
        "order_batches_other_chain": tap.other,
    }
    (a.out / "hop_latency.md").write_text(
        f"Hop stamps of the md.book and orders batches of one run ({json.dumps(meta)}).\n\n" + table
    )
    (a.out / "pipeline_run.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps(meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
