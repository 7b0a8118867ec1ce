"""Consumer lag and process metrics of the shared runtime, on InProcBus (no broker)."""

from __future__ import annotations

from minihft.bus import InProcBus, Topics
from minihft.bus.base import Message, partition_for
from minihft.runtime import Service, ServiceConfig
from minihft.runtime.clock import ManualClock
from minihft.runtime.metric_catalogue import exposed_types
from minihft.runtime.metrics import STANDARD_FAMILIES, ServiceMetrics


def _filled(per_partition: dict[int, int]) -> tuple[InProcBus, Topics]:
    bus = InProcBus()
    t = Topics.for_run("lag")
    bus.create_topics(t.all(), 2)
    keys = {0: b"", 1: b""}
    k = 0
    while not all(keys.values()):  # a key landing on each partition
        key = str(k).encode()
        k += 1
        p = partition_for(key, 2)
        keys[p] = keys[p] or key
    for p, n in per_partition.items():
        for i in range(n):
            bus.publish(t.md_book, b"%d" % i, key=keys[p])
    return bus, t


def test_inproc_lag_is_exact_before_and_after_polls_and_from_the_committed_offset() -> None:
    bus, t = _filled({0: 5, 1: 3})
    c = bus.subscribe([t.md_book], "g")
    assert c.lag() == {(t.md_book, 0): 5, (t.md_book, 1): 3}
    got = c.poll(6)
    assert c.lag() == {(t.md_book, 0): 0, (t.md_book, 1): 2}
    c.commit(got[:4])  # partition 0 up to offset 3
    again = bus.subscribe([t.md_book], "g")  # a restart resumes at the committed offset
    assert again.lag() == {(t.md_book, 0): 1, (t.md_book, 1): 3}
    bus.publish(t.md_book, b"late", key=got[0].key)
    assert again.lag()[(t.md_book, 0)] == 2


def test_consume_exports_lag_per_partition() -> None:
    bus, t = _filled({0: 7, 1: 4})
    cfg = ServiceConfig(http_port=0, run_id="lag", poll_max=1)
    svc = Service("unit", cfg, bus=bus, clock=ManualClock(1))
    handled: list[Message] = []

    def handle(m: Message) -> None:
        handled.append(m)
        if len(handled) == 3:
            svc.stop()

    assert svc.consume(bus.subscribe([t.md_book], svc.group), handle) == 0
    by_part = {p: sum(m.partition == p for m in handled) for p in (0, 1)}
    text = svc.metrics.exposition().decode()
    for p, total in ((0, 7), (1, 4)):
        line = f'minihft_unit_consumer_lag_messages{{partition="{p}",topic="{t.md_book}"}}'
        assert f"{line} {float(total - by_part[p])}" in text, text


def test_every_service_registry_exports_the_standard_process_families() -> None:
    text = ServiceMetrics("unit").exposition().decode()
    types = exposed_types(text)
    assert {n: types.get(n) for n in STANDARD_FAMILIES} == {
        n: typ for n, (typ, _, _) in STANDARD_FAMILIES.items()
    }
    rss = next(x for x in text.splitlines() if x.startswith("process_resident_memory_bytes "))
    assert float(rss.split()[1]) > 1e6  # a real reading of /proc, not a placeholder
