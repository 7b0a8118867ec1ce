"""Prometheus metrics of one service, named minihft_<service>_<what>_<unit>.

Each service has its own registry so tests can run several services in one process.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

# Latency buckets from 50 us to 5 s: a hop on loopback Kafka is ~0.2-5 ms.
LATENCY_BUCKETS = (
    5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0, 5.0,
)  # fmt: skip
# Hop buckets: 100 ns to 1 s, 4 per decade, so an in-process hop (~1 us) and a Kafka hop (~1 ms)
# both land in buckets fine enough for histogram_quantile.
HOP_BUCKETS = tuple(float(f"{10 ** (k / 4):.3g}") for k in range(-28, 1))

# The families prometheus_client's process, platform and GC collectors export: the one exception
# to the minihft_ prefix, kept under their standard names so stock dashboards and alerts work.
# name -> (type, labels, help); the catalogue checks a live registry exposes exactly these.
STANDARD_FAMILIES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "process_virtual_memory_bytes": ("gauge", (), "Virtual memory size in bytes."),
    "process_resident_memory_bytes": ("gauge", (), "Resident memory size in bytes."),
    "process_start_time_seconds": (
        "gauge", (), "Start time of the process since unix epoch in seconds."
    ),
    "process_cpu_seconds_total": (
        "counter", (), "Total user and system CPU time spent in seconds."
    ),
    "process_open_fds": ("gauge", (), "Number of open file descriptors."),
    "process_max_fds": ("gauge", (), "Maximum number of open file descriptors."),
    "python_info": (
        "gauge", ("implementation", "major", "minor", "patchlevel", "version"),
        "Python platform information",
    ),
    "python_gc_objects_collected_total": (
        "counter", ("generation",), "Objects collected during gc"
    ),
    "python_gc_objects_uncollectable_total": (
        "counter", ("generation",), "Uncollectable objects found during GC"
    ),
    "python_gc_collections_total": (
        "counter", ("generation",), "Number of times this generation was collected"
    ),
}  # fmt: skip


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        # CPU, memory, fds, GC of this process (STANDARD_FAMILIES), on the service's own registry.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.up = self.gauge("up", "bool", "1 while the service loop runs")
        self.ready = self.gauge("ready", "bool", "1 while the broker is reachable")
        self.dead_letters = self.counter(
            "dead_letters", "total", "messages moved to dead.letter", ["topic", "cause"]
        )
        self.commit_failures = self.counter(
            "commit_failures", "total", "offset commits that failed (retried)"
        )
        # Fed by Service.consume for every batch consumed (runtime/hops.py).
        self.hop_latency = self.histogram(
            "hop_latency",
            "seconds",
            "time between consecutive hop stamps of consumed batches (hop=a>b, or a service's "
            "own Receive>Publish as hop=a; the last hop ends at this service's receive) and "
            "from the first stamp to receive (hop=end_to_end)",
            ["hop"],
            buckets=HOP_BUCKETS,
        )
        # Set by Service.consume about once a second, from a side thread (runtime/service.py).
        self.consumer_lag = self.gauge(
            "consumer_lag",
            "messages",
            "high watermark minus the consumer's position (committed offset before its first "
            "poll) per assigned input partition",
            ["topic", "partition"],
        )
        self.batch_seq_gaps = self.counter(
            "batch_seq_gaps",
            "total",
            "gaps in a producer's per-symbol batch_seq on an input topic (batches skipped)",
            ["topic"],
        )

    def _name(self, what: str, unit: str) -> str:
        return f"minihft_{self.service}_{what}_{unit}"

    def counter(self, what: str, unit: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        # prometheus_client appends _total to counter names itself.
        name = self._name(what, unit).removesuffix("_total")
        return Counter(name, doc, labels, registry=self.registry)

    def gauge(self, what: str, unit: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(self._name(what, unit), doc, labels, registry=self.registry)

    def histogram(
        self,
        what: str,
        unit: str,
        doc: str,
        labels: Sequence[str] = (),
        *,
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> Histogram:
        return Histogram(
            self._name(what, unit), doc, labels, registry=self.registry, buckets=buckets
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
