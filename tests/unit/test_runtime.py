"""Service runtime without a broker: config, clock, logs, metrics, probes, the consume loop,
batch publishing and pacing, and the strategy_runner logic on InProcBus."""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from typing import Any

import numpy as np
import pytest
from minihft import codec
from minihft.bus import InProcBus, Topics
from minihft.bus.base import Message
from minihft.records import MD_EVENT, ORDER_COMMAND, CommandType, ExecType, Side, TimeInForce
from minihft.runtime import ManualClock, Service, ServiceConfig, WallClock
from minihft.runtime.log import JsonFormatter
from minihft.runtime.replay import BatchPublisher, paced_slices, symbol_key
from minihft.services.strategy_runner.app import Runner
from minihft.strategy import ProbeStrategy


def test_config_env_overrides_default_and_flag_overrides_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MINIHFT_KAFKA_BOOTSTRAP", "10.1.2.3:9092")
    monkeypatch.setenv("MINIHFT_RUN_ID", "r1")
    cfg = ServiceConfig()
    assert cfg.kafka_bootstrap == "10.1.2.3:9092"
    assert cfg.topics().md_events == "bt.r1.md.events"
    assert ServiceConfig(kafka_bootstrap="h:1").kafka_bootstrap == "h:1"
    monkeypatch.setenv("MINIHFT_HTTP_PORT", "70000")
    with pytest.raises(ValueError, match="http_port"):
        ServiceConfig()


def test_manual_clock_only_moves_forward() -> None:
    c = ManualClock(100)
    c.advance(5)
    assert c.now_ns() == 105
    with pytest.raises(ValueError, match="cannot go back"):
        c.set(50)
    assert abs(WallClock().now_ns() - ManualClock(WallClock().now_ns()).now_ns()) < 10**9


def test_json_log_line_carries_fields() -> None:
    rec = logging.LogRecord("x", logging.WARNING, "f", 1, "dead letter", None, None)
    rec.fields = {"offset": 7}
    line = json.loads(JsonFormatter("svc").format(rec))
    assert line["service"] == "svc" and line["level"] == "warning" and line["offset"] == 7


def _svc(bus: InProcBus, name: str = "unit") -> Service:
    return Service(name, ServiceConfig(http_port=0, run_id="u1"), bus=bus, clock=ManualClock(1))


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return int(r.status), r.read()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read()


def test_probes_and_metric_names() -> None:
    bus = InProcBus()
    svc = _svc(bus)
    svc.metrics.counter("events_published", "total", "x").inc(3)
    svc.start()
    try:
        port = svc.http_port
        assert _get(port, "/healthz")[0] == 200
        assert _get(port, "/readyz")[0] == 200  # in-process bus: no broker to lose
        body = _get(port, "/metrics")[1].decode()
        assert "minihft_unit_events_published_total 3.0" in body
        assert "minihft_unit_up_bool 1.0" in body
        svc.stop()
        assert _get(port, "/readyz")[0] == 503  # draining: take no new work
    finally:
        svc.close()


def test_consume_dead_letters_bad_messages_skips_redelivery_and_commits_on_stop() -> None:
    bus = InProcBus()
    t = Topics.for_run("u1")
    bus.create_topics(t.all(), 1)
    for v in (b"good-1", b"bad", b"good-2"):
        bus.publish(t.md_book, v, key=b"1")
    svc = _svc(bus)
    seen: list[bytes] = []

    def handle(m: Message) -> None:
        if m.value == b"bad":
            raise codec.CodecError("not a flatbuffer")
        seen.append(m.value)
        if len(seen) == 2:
            svc.stop()  # SIGTERM mid-stream: the loop finishes the batch in hand, then commits

    consumer = bus.subscribe([t.md_book], svc.group)
    # A re-delivery (as after a rebalance) of offsets already handled must not run twice.
    orig = consumer.poll
    consumer.poll = lambda n=1000, timeout_s=0.1: orig(n, timeout_s) * 2  # type: ignore[method-assign]
    assert svc.consume(consumer, handle) == 0
    assert seen == [b"good-1", b"good-2"]
    dead = bus.subscribe([t.dead_letter], "check").poll()
    assert [m.value for m in dead] == [b"bad"]
    assert dead[0].key == f"{t.md_book}/0/1 malformed".encode()
    assert svc.metrics.dead_letters.labels(t.md_book, "malformed")._value.get() == 1
    # Committed: the same group starts after the last message.
    assert bus.subscribe([t.md_book], svc.group).poll() == []


def test_batch_publisher_splits_by_symbol_and_counts_seq() -> None:
    bus = InProcBus()
    bus.create_topics(["md.events"], 4)
    ev = np.zeros(7, MD_EVENT)
    ev["symbol_id"] = [1, 2, 1, 1, 2, 1, 1]
    ev["order_id"] = np.arange(7)
    pub = BatchPublisher(bus, "md.events", ManualClock(42), stage=1, batch_events=2)
    out = pub.publish(ev)
    assert out == [(1, 0, 2), (1, 1, 2), (1, 2, 1), (2, 0, 2)]
    msgs = bus.subscribe(["md.events"], "g").poll()
    got = {(b.symbol_id, b.batch_seq): b for b in (codec.decode(m.value) for m in msgs)}
    assert got[(1, 1)].records["order_id"].tolist() == [3, 5]  # time order kept per symbol
    assert int(got[(2, 0)].hops[0]["ts"]) == 42
    assert {m.key for m in msgs} == {symbol_key(1), symbol_key(2)}


def test_paced_slices_follow_venue_time() -> None:
    ts = np.array([0, 0, 1_000, 5_000, 5_000, 9_000], np.int64)
    now = [0]
    slept: list[float] = []

    def sleep_for(s: float) -> bool:
        slept.append(s)
        now[0] += int(s * 1e9) + 1
        return False

    slices = list(paced_slices(ts, 2.0, max_events=10, sleep_for=sleep_for,
                               monotonic_ns=lambda: now[0]))  # fmt: skip
    assert [(a, b) for a, b, _ in slices] == [(0, 2), (2, 3), (3, 5), (5, 6)]
    # speed 2: venue 1000 ns is due at 500 ns of wall time, 5000 at 2500, 9000 at 4500
    assert sum(slept) == pytest.approx(4500e-9, abs=5e-9)
    assert list(paced_slices(ts, None, max_events=4)) == [(0, 4, 0.0), (4, 6, 0.0)]


def test_strategy_runner_orders_carry_hops_and_probe_sends_ioc() -> None:
    bus = InProcBus()
    t = Topics.for_run("u1")
    bus.create_topics(t.all(), 1)
    svc = _svc(bus, "strategy_runner")
    runner = Runner(svc, ProbeStrategy(), account=1)
    book = np.zeros(2, codec.BOOK_UPDATE)
    in_hops = codec.make_hops((10, 1, 1, 0), (11, 2, 0, 0), (12, 2, 1, 0))
    bus.publish(t.md_book, codec.encode(codec.MD_BOOK, book, symbol_id=5, batch_seq=0,
                                        hops=in_hops), key=b"5")  # fmt: skip
    for m in bus.subscribe([t.md_book], "r").poll():
        runner.handle(m)
    out = bus.subscribe([t.orders], "o").poll()
    assert len(out) == 1
    b = codec.decode(out[0].value, codec.ORDERS)
    assert b.symbol_id == 5 and len(b.records) == 1
    assert int(b.records[0]["type"]) == int(CommandType.SUBMIT_ORDER)
    assert int(b.records[0]["tif"]) == int(TimeInForce.IOC)  # expires at once: nothing to pull
    assert [(int(h["stage"]), int(h["point"])) for h in b.hops] == [
        (1, 1), (2, 0), (2, 1), (4, 0), (4, 1)
    ]  # fmt: skip
    oid = int(b.records[0]["order_id"])
    rep = np.zeros(2, codec.EXEC_REPORTS.dtype)
    rep["order_id"] = [oid, 999]
    rep["account"] = [1, 2]  # another account's ack is not ours to act on
    rep["type"] = 1  # OrderAccepted
    value = codec.encode(codec.EXEC_REPORTS, rep, symbol_id=5, batch_seq=0)
    runner.handle(Message(t.exec_reports, 0, 0, b"5", value, 0))
    assert runner.registry.runs["main"].open == {oid: 5}  # acked, open until it expires
    rep = rep[:1].copy()
    rep["type"] = int(ExecType.ORDER_CANCELLED)  # the IOC's expiry
    value = codec.encode(codec.EXEC_REPORTS, rep, symbol_id=5, batch_seq=1)
    runner.handle(Message(t.exec_reports, 0, 1, b"5", value, 0))
    assert runner.registry.runs["main"].open == {}
    assert bus.subscribe([t.orders], "o2").poll()[1:] == []  # the submit only, no cancel


def test_strategy_context_rejects_bad_qty() -> None:
    from minihft.strategy import StrategyContext

    ctx = StrategyContext(ManualClock(), logging.getLogger("t"), account=1)
    with pytest.raises(ValueError, match="qty"):
        ctx.submit(1, Side.BUY, 100, 0)
    assert ctx.take_commands() == {}
    ctx.submit(1, Side.SELL, 100, 5)
    cmds: Any = ctx.take_commands()[1]
    assert cmds.dtype == ORDER_COMMAND and int(cmds[0]["side"]) == int(Side.SELL)


def test_signal_handlers_only_from_main_thread() -> None:
    bus = InProcBus()
    errors: list[BaseException] = []

    def start() -> None:
        try:
            s = _svc(bus)
            s.start()
            s.close()
        except BaseException as e:  # pragma: no cover - the assertion below reports it
            errors.append(e)

    th = threading.Thread(target=start)
    th.start()
    th.join()
    assert errors == []
