"""`minihft run NAME`, `minihft status`, `minihft replay-topics`: the service processes.

`run` hands the remaining arguments to the service's own parser (`--help` after NAME lists
them); lob_engine is the C++ binary, exec'd in place.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import urllib.request
from typing import Any

from minihft.runtime import stack

PY_SERVICES = ("feed_handler", "strategy_runner", "backtest_orchestrator")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run one service process in the foreground")
    p.add_argument("name", choices=[*PY_SERVICES, "lob_engine"])
    p.add_argument("args", nargs=argparse.REMAINDER, help="the service's own flags")
    p.set_defaults(handler=_run)
    s = sub.add_parser("status", help="services of the local stack: up/down, lag, rate")
    s.add_argument("--kafka-bootstrap", default="127.0.0.1:9092")
    s.add_argument("--interval-s", type=float, default=1.0, help="rate measuring interval")
    s.add_argument("--json", action="store_true", help="one JSON line instead of a table")
    s.set_defaults(handler=_status)
    # Services are mapped into the package at install time; import by name keeps mypy on the
    # package itself.
    replay: Any = importlib.import_module("minihft.services.backtest_orchestrator.replay_topics")
    replay.register(sub)


def _run(args: argparse.Namespace) -> int:
    if args.name == "lob_engine":
        binary = stack.lob_engine_binary()
        if binary is None:
            print("lob_engine binary not found: run `make service`", file=sys.stderr)
            return 2
        os.execv(binary, [str(binary), *args.args])
    module: Any = importlib.import_module(
        f"minihft.services.{args.name}."
        + ("replay_topics" if args.name == "backtest_orchestrator" else "app")
    )
    return int(module.main(args.args))


def _get(url: str, timeout: float = 1.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return int(r.status), r.read()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read()
    except OSError:
        return 0, b""


def _counter(text: bytes, name: str) -> float | None:
    total, seen = 0.0, False
    for line in text.decode(errors="replace").splitlines():
        if line.startswith(name) and (line[len(name) : len(name) + 1] in ("{", " ")):
            total += float(line.rsplit(" ", 1)[1])
            seen = True
    return total if seen else None


def consumer_lag(bootstrap: str, group: str, topics: list[str]) -> int | None:
    """Sum over partitions of high watermark - committed offset (None: broker unreachable)."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        md = c.list_topics(timeout=3).topics
        tps = [TopicPartition(t, p) for t in topics if t in md for p in md[t].partitions]
        if not tps:
            return 0
        lag = 0
        for tp in c.committed(tps, timeout=5):
            _, high = c.get_watermark_offsets(tp, timeout=5, cached=False)
            lag += max(0, high - max(tp.offset, 0))
        return lag
    except KafkaException:
        return None
    finally:
        c.close()


def _status(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    first: dict[str, float | None] = {}
    for s in stack.SERVICES:
        _, body = _get(f"http://127.0.0.1:{s.port}/metrics")
        first[s.name] = _counter(body, s.rate_metric)
    t0 = time.monotonic()
    time.sleep(args.interval_s)
    for s in stack.SERVICES:
        pid = stack.read_pid(s.name)
        code, _ = _get(f"http://127.0.0.1:{s.port}/healthz")
        ready, _ = _get(f"http://127.0.0.1:{s.port}/readyz")
        _, body = _get(f"http://127.0.0.1:{s.port}/metrics")
        now = _counter(body, s.rate_metric)
        before = first[s.name]
        rate = None if now is None or before is None else (now - before) / (time.monotonic() - t0)
        lag = consumer_lag(args.kafka_bootstrap, s.group, list(s.inputs)) if s.group else None
        rows.append(
            {
                "service": s.name,
                "pid": pid,
                "state": "up" if code == 200 else ("unhealthy" if code else "down"),
                "ready": ready == 200,
                "lag_messages": lag,
                "rate_per_s": None if rate is None else round(rate, 1),
            }
        )
    if args.json:
        print(json.dumps(rows))
    else:
        print(f"{'service':<16} {'pid':>7} {'state':<10} {'ready':<5} {'lag':>10} {'rate/s':>12}")
        for r in rows:
            lag_s = "-" if r["lag_messages"] is None else str(r["lag_messages"])
            rate_s = "-" if r["rate_per_s"] is None else f"{r['rate_per_s']:.1f}"
            pid_s = "-" if r["pid"] is None else str(r["pid"])
            print(
                f"{r['service']:<16} {pid_s:>7} {r['state']:<10} {str(r['ready']).lower():<5} "
                f"{lag_s:>10} {rate_s:>12}"
            )
    return 0 if all(r["state"] == "up" for r in rows) else 1
