"""Metric names: minihft_<service>_<what>_<unit>, read from the code (nothing is scraped), and
docs/metrics-catalogue.md equal to what the code generates."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from minihft.runtime import metric_catalogue as mc
from minihft.runtime.metrics import ServiceMetrics

ROOT = Path(__file__).resolve().parents[2]
# The one place that may construct prometheus_client metrics.
METRIC_CLASSES = {"Counter", "Gauge", "Histogram", "Summary", "Info", "Enum"}


def test_every_python_metric_follows_the_naming_rule() -> None:
    metrics = mc.python_metrics()
    services = {m.service for m in metrics}
    assert {"feed_handler", "strategy_runner"} <= services, services
    problems = [p for m in metrics if (p := mc.naming_problem(m))]
    assert not problems, "\n".join(problems)
    names = [m.name for m in metrics]
    assert len(names) == len(set(names)), "a metric is registered twice"


def test_every_service_has_the_base_metrics() -> None:
    by_service: dict[str, set[str]] = {}
    for m in mc.python_metrics():
        by_service.setdefault(m.service, set()).add(m.name)
    for svc, names in by_service.items():
        for base in ("up_bool", "ready_bool", "dead_letters_total", "commit_failures_total"):
            assert f"minihft_{svc}_{base}" in names, (svc, base)


def test_lob_engine_names_follow_the_rule() -> None:
    metrics = mc.lob_engine_metrics()
    names = {m.name for m in metrics}
    problems = [p for m in metrics if (p := mc.naming_problem(m))]
    assert not problems, "\n".join(problems)
    assert len(names) == len(metrics), "a metric is rendered twice"


def test_lob_engine_reader_sees_every_family_render_writes() -> None:
    # The regex must not silently miss a family, e.g. after clang-format rewraps a call.
    text = mc.LOB_METRICS_CPP.read_text()
    body = text[text.index("std::string Metrics::render() const") :]
    body = body[: body.index("\nint ")]
    families = body.count("head(o, n,") + len(re.findall(r"\w+\.render\(o,", body))
    assert families == len(mc.lob_engine_metrics())


def test_lob_engine_reader_on_a_snippet(tmp_path: Path) -> None:
    cpp = tmp_path / "metrics.cpp"
    cpp.write_text(
        'constexpr const char* kPrefix = "minihft_x_";\n'
        "std::string Metrics::render() const {\n"
        '  std::string n = p + "a_total";\n'
        '  head(o, n, "counter", "things \\"quoted\\"");\n'
        '  sample(o, n, "k=\\"" + v + "\\",j=\\"" + w + "\\"", 1);\n'
        '  lat.render(o, p + "lat_ns",\n'
        '             "a latency");\n'
        "}\n"
        "int f() { return 0; }\n"
    )
    got = mc.lob_engine_metrics(cpp)
    assert [(m.name, m.type, m.labels, m.help) for m in got] == [
        ("minihft_x_a_total", "counter", ("k", "j"), 'things "quoted"'),
        ("minihft_x_lat_ns", "histogram", (), "a latency"),
    ]


@pytest.mark.parametrize(
    ("name", "typ", "why"),
    [
        ("minihft_svc_latency", "gauge", "unit"),
        ("minihft_svc_events_count", "counter", "unit"),
        ("minihft_svc_events_seconds", "counter", "_total"),
        ("minihft_svc_things_total", "gauge", "_total"),
        ("minihft_other_events_total", "counter", "start"),
        ("minihft_svc_Bad_total", "counter", "snake"),
    ],
)
def test_naming_rule_rejects(name: str, typ: str, why: str) -> None:
    p = mc.naming_problem(mc.MetricDef("svc", name, typ, (), "", ""))
    assert p is not None and why in p


def test_naming_rule_accepts_a_multiword_what_and_unit() -> None:
    m = mc.MetricDef(
        "feed_handler", "minihft_feed_handler_event_rate_per_second", "gauge", (), "", ""
    )
    assert mc.naming_problem(m) is None


def test_numpy_histogram_is_not_a_metric(tmp_path: Path) -> None:
    f = tmp_path / "app.py"
    f.write_text("np.histogram(x, bins)\nm.histogram('lat', 'seconds', 'doc')\n")
    assert [c.what for c in mc._calls(f)] == ["lat"]


def test_non_literal_metric_arguments_are_refused(tmp_path: Path) -> None:
    f = tmp_path / "app.py"
    f.write_text("what = 'x'\nm.counter(what, 'total', 'doc')\n")
    with pytest.raises(mc.CatalogueError, match="what of a metric must be a string literal"):
        list(mc._calls(f))


def test_the_catalogue_registers_through_the_real_service_metrics() -> None:
    # The base set read from the source is what a real ServiceMetrics exposes.
    real = mc.exposed_types(ServiceMetrics("feed_handler").exposition().decode())
    cat = {
        m.name: m.type
        for m in mc.all_metrics()
        if m.service in ("feed_handler", mc.STANDARD_SECTION)
    }
    assert real.items() <= cat.items()


def test_only_the_standard_process_and_python_families_skip_the_prefix() -> None:
    std = [m for m in mc.all_metrics() if m.service == mc.STANDARD_SECTION]
    assert {m.name for m in std} >= {"process_cpu_seconds_total", "process_resident_memory_bytes"}
    assert all(mc.naming_problem(m) is None for m in std)
    for name, typ in [
        ("process_cpu_seconds_total", "gauge"),  # a standard name with the wrong type
        ("process_queue_depth", "gauge"),
        ("python_things_total", "counter"),
    ]:
        assert mc.naming_problem(mc.MetricDef("svc", name, typ, (), "", "")) is not None, name


def test_no_service_builds_prometheus_metrics_outside_the_runtime() -> None:
    allowed = ROOT / "python" / "minihft" / "runtime" / "metrics.py"
    offenders = []
    for f in [*(ROOT / "services").rglob("*.py"), *(ROOT / "python" / "minihft").rglob("*.py")]:
        if f == allowed or "schema" in f.parts:
            continue
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("prometheus"):
                bad = {a.name for a in node.names} & METRIC_CLASSES
                if bad:
                    offenders.append(f"{f.relative_to(ROOT)}:{node.lineno} imports {bad}")
    assert not offenders, "register metrics through ServiceMetrics:\n" + "\n".join(offenders)


def test_committed_catalogue_equals_the_generated_one() -> None:
    want = mc.render(mc.all_metrics())
    got = mc.DOC.read_text() if mc.DOC.is_file() else ""
    assert got == want, (
        "docs/metrics-catalogue.md is stale: python -m minihft.runtime.metric_catalogue --write"
    )
