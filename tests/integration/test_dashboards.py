"""Every Grafana panel query evaluated by a live Prometheus that scrapes the running stack.

lob_engine, strategy_runner (probe strategy, so orders and exec reports flow) and feed_handler
replaying the bundled real GOOG sample run on the shared broker under a per-test topic prefix;
Prometheus runs from deploy/prometheus/prometheus.local.yml with only its targets and port
rewritten, on test-owned storage. Once it has a few scrapes, each panel target is evaluated at
now (/api/v1/query) and over the last minute (/api/v1/query_range): success, non-empty, and a
finite value somewhere. The live /metrics of each service are checked against the catalogue.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka.admin import AdminClient
from minihft.bus import Topics
from minihft.bus.kafka import KafkaBus
from minihft.runtime import metric_catalogue as mc
from pipeline_procs import ROOT, SAMPLE, Proc, free_port, http_get, lob_engine, metric

pytestmark = pytest.mark.integration

DASHBOARDS = ROOT / "grafana" / "dashboards"
PROVISIONING = ROOT / "grafana" / "provisioning"
LOCAL_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.local.yml"
# What Grafana substitutes in a query: $__rate_interval is at least 4 scrape intervals of the
# datasource (timeInterval 5s in the provisioning), so 20 s; it also rides out a slow scrape.
VARIABLES = {"$__rate_interval": "20s", "$__interval": "5s", "$__range": "1m"}
JOBS = ("feed_handler", "lob_engine", "strategy_runner")


@dataclass(frozen=True)
class Target:
    dashboard: str
    panel: str
    ref: str
    expr: str

    @property
    def id(self) -> str:
        return f"{self.dashboard}:{self.panel}:{self.ref}"


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for p in panels:
        yield p
        yield from _panels(p.get("panels", []))  # collapsed rows nest their panels


def _load() -> list[tuple[Path, dict[str, Any]]]:
    return [(f, json.loads(f.read_text())) for f in sorted(DASHBOARDS.glob("*.json"))]


def _targets() -> list[Target]:
    try:
        docs = _load()
    except (OSError, ValueError):
        return []  # test_dashboards_are_valid says why
    return [
        Target(f.stem, f"{p['id']}", t["refId"], t["expr"])
        for f, doc in docs
        for p in _panels(doc["panels"])
        for t in p.get("targets", [])
    ]


def substitute(expr: str) -> str:
    for k, v in VARIABLES.items():
        expr = expr.replace(k, v)
    left = re.findall(r"\$\{?\w+", expr)
    assert not left, f"dashboard variables without a test value: {left} in {expr}"
    return expr


# ------------------------------------------------------------------------ static checks


def test_dashboards_are_valid_and_use_the_provisioned_datasource() -> None:
    ds = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    uids = {d["uid"] for d in ds["datasources"] if d["type"] == "prometheus"}
    prov = yaml.safe_load((PROVISIONING / "dashboards" / "dashboards.yml").read_text())
    paths = [p["options"]["path"] for p in prov["providers"] if p["type"] == "file"]
    assert paths and all(p.rstrip("/").endswith("dashboards") for p in paths), paths
    docs = _load()
    assert {f.stem for f, _ in docs} >= {"pipeline", "latency", "strategies", "engine"}
    dash_uids = [doc["uid"] for _, doc in docs]
    assert len(dash_uids) == len(set(dash_uids)), f"dashboard uids repeat: {dash_uids}"
    for f, doc in docs:
        assert doc["schemaVersion"] >= 39, f.name
        panels = list(_panels(doc["panels"]))
        ids = [p["id"] for p in panels]
        assert len(ids) == len(set(ids)), f"{f.name}: panel ids repeat: {ids}"
        for p in panels:
            if p["type"] == "row":
                continue
            where = f"{f.name} panel {p['id']} {p['title']!r}"
            assert p["datasource"]["uid"] in uids, where
            assert p["targets"], f"{where}: no query"
            for t in p["targets"]:
                assert t["datasource"]["uid"] in uids, where
                assert t["expr"].strip(), where
            g = p["gridPos"]
            assert g["x"] + g["w"] <= 24, f"{where}: wider than the grid"


def test_panels_only_query_metrics_the_code_exports() -> None:
    known = {m.name for m in mc.all_metrics()} | {"up"}
    missing = []
    for t in _targets():
        for name in re.findall(r"\bminihft_\w+|\bup\b", t.expr):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if name not in known and base not in known:
                missing.append(f"{t.id}: {name}")
    # Regex selectors on __name__ must match at least one exported metric.
    for t in _targets():
        for pat in re.findall(r'__name__=~"([^"]+)"', t.expr):
            assert any(re.fullmatch(pat, n) for n in known), f"{t.id}: {pat} matches nothing"
    assert not missing, "panels on metrics nobody exports:\n" + "\n".join(missing)


# ------------------------------------------------------------------------ the live stack


class Prometheus:
    def __init__(self, binary: str, targets: dict[str, int], tmp: Path) -> None:
        cfg = yaml.safe_load(LOCAL_CONFIG.read_text())
        interval = cfg["global"]["scrape_interval"]
        assert interval in ("1s", "2s"), f"{LOCAL_CONFIG}: scrape_interval {interval} too slow"
        self.port = free_port()
        ports = {**targets, "prometheus": self.port}
        jobs = {sc["job_name"] for sc in cfg["scrape_configs"]}
        assert jobs == set(ports), f"{LOCAL_CONFIG}: jobs {jobs}, stack {set(ports)}"
        for sc in cfg["scrape_configs"]:
            sc["static_configs"] = [{"targets": [f"127.0.0.1:{ports[sc['job_name']]}"]}]
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(cfg))
        argv = [
            binary, f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'tsdb'}", f"--web.listen-address=127.0.0.1:{self.port}",
        ]  # fmt: skip
        self.proc = Proc("prometheus", argv, tmp, self.port)

    def api(self, path: str, **params: str) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return dict(json.load(r))
        except urllib.error.HTTPError as e:  # 400/422 carry the parse/eval error as JSON
            return dict(json.load(e))

    def scalar(self, expr: str) -> float:
        res = self.api("query", query=expr)["data"]["result"]
        return float(res[0]["value"][1]) if res else 0.0

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.p.poll() is not None:
                pytest.fail(f"prometheus exited:\n{self.proc.tail()}")
            if http_get(self.port, "/-/ready")[0] == 200:
                return
            time.sleep(0.2)
        pytest.fail(f"prometheus not ready after {timeout_s} s:\n{self.proc.tail()}")


@dataclass
class Stack:
    prom: Prometheus
    procs: dict[str, Proc]


def _inject_malformed(bootstrap: str, topic: str) -> None:
    bus = KafkaBus(bootstrap)
    bus.publish(topic, b"not a flatbuffer", key=b"0")
    bus.flush(10.0)
    bus.close()


@pytest.fixture(scope="module")
def stack(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus not found: run `make prometheus-up` once (installs the package)")
    tmp = tmp_path_factory.mktemp("dashboards")
    rid = "dash-" + uuid.uuid4().hex[:10]
    topics = Topics.for_run(rid)
    KafkaBus(bootstrap).create_topics(list(topics.all()), partitions=4)
    procs: dict[str, Proc] = {}
    prom: Prometheus | None = None
    try:
        procs["lob_engine"] = lob_engine(topics.prefix, f"lob-{rid}", tmp)
        procs["lob_engine"].wait_ready()
        procs["strategy_runner"] = Proc.python(
            "strategy_runner", "strategy_runner",
            ["--run-id", rid, "--strategy", "probe", "--group", f"sr-{rid}"], tmp, free_port(),
        )  # fmt: skip
        procs["strategy_runner"].wait_ready()
        # 12,648 events over 30 min of the open at 20x: data flows for the whole test.
        procs["feed_handler"] = Proc.python(
            "feed_handler", "feed_handler",
            ["--run-id", rid, "--file", str(SAMPLE), "--speed", "20"], tmp, free_port(),
        )  # fmt: skip
        procs["feed_handler"].wait_ready()
        _inject_malformed(bootstrap, topics.md_book)  # a dead letter with a cause to show
        prom = Prometheus(binary, {n: p.port for n, p in procs.items()}, tmp)
        prom.wait_ready()
        _wait_for_data(prom, procs)
        yield Stack(prom, procs)
    finally:
        if prom is not None:
            prom.proc.stop()
        for name in ("feed_handler", "strategy_runner", "lob_engine"):
            if name in procs:
                procs[name].stop()
        existing = set(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics)
        KafkaBus(bootstrap).delete_topics([t for t in topics.all() if t in existing])


def _wait_for_data(prom: Prometheus, procs: dict[str, Proc], timeout_s: float = 90.0) -> None:
    """Every job up, >= 15 scrapes each, and orders, fills' cousins and a dead letter seen."""
    conds = {
        "all jobs up": f'sum(up{{job=~"{"|".join(JOBS)}|prometheus"}})',
        "15 scrapes of each": f'min(count_over_time(up{{job=~"{"|".join(JOBS)}"}}[1m]))',
        "orders": "minihft_strategy_runner_commands_sent_total",
        "engine commands": 'sum(minihft_lob_engine_commands_total{type="submit"})',
        "dead letter": "sum(minihft_strategy_runner_dead_letters_total)",
    }
    need = {"all jobs up": 4.0, "15 scrapes of each": 15.0}
    deadline = time.monotonic() + timeout_s
    got: dict[str, float] = {}
    while time.monotonic() < deadline:
        for name, p in procs.items():
            if p.p.poll() is not None:
                pytest.fail(f"{name} exited with {p.p.returncode}:\n{p.tail()}")
        got = {k: prom.scalar(e) for k, e in conds.items()}
        if all(v >= need.get(k, 1.0) for k, v in got.items()):
            return
        time.sleep(1.0)
    logs = "\n".join(f"--- {n}\n{p.tail(10)}" for n, p in procs.items())
    pytest.fail(f"stack data not in Prometheus after {timeout_s} s: {got}\n{logs}")


def _finite(result: list[dict[str, Any]]) -> bool:
    vals = [s["value"] for s in result if "value" in s]
    vals += [v for s in result for v in s.get("values", [])]
    return any(math.isfinite(float(v[1])) for v in vals)


TARGETS = _targets()


@pytest.mark.parametrize("target", TARGETS, ids=[t.id for t in TARGETS])
def test_panel_query_returns_data(stack: Stack, target: Target) -> None:
    expr = substitute(target.expr)
    now = time.time()
    inst = stack.prom.api("query", query=expr, time=f"{now:.3f}")
    assert inst["status"] == "success", f"{target.id}: {expr}: {inst.get('error')}"
    assert inst["data"]["result"], f"{target.id}: no data at now: {expr}"
    rng = stack.prom.api(
        "query_range", query=expr, start=f"{now - 60:.3f}", end=f"{now:.3f}", step="5"
    )
    assert rng["status"] == "success", f"{target.id}: {expr}: {rng.get('error')}"
    assert rng["data"]["result"], f"{target.id}: no data over the last minute: {expr}"
    assert _finite(rng["data"]["result"]), f"{target.id}: only NaN/Inf over the last minute"


def test_there_are_panels_to_check() -> None:
    assert len(TARGETS) >= 20, TARGETS


def _scrape_families(port: int) -> dict[str, tuple[str, set[str]]]:
    """name -> (type, label keys) from a service's /metrics."""
    code, body = http_get(port, "/metrics")
    assert code == 200
    text = body.decode()
    types = mc.exposed_types(text)
    labels: dict[str, set[str]] = {n: set() for n in types}
    for line in text.splitlines():
        m = re.match(r"([a-zA-Z_:][\w:]*)\{([^}]*)\}", line)
        if not m:
            continue
        fam = next(
            (n for n in (m[1], re.sub(r"_(bucket|sum|count)$", "", m[1])) if n in types), None
        )
        if fam is not None:
            labels[fam] |= {kv.split("=", 1)[0] for kv in re.findall(r'(\w+)="', m[2])} - {"le"}
    return {n: (types[n], labels[n]) for n in types}


def test_live_metrics_equal_the_catalogue(stack: Stack) -> None:
    cat = mc.all_metrics()
    for job in JOBS:
        live = _scrape_families(stack.procs[job].port)
        live = {n: v for n, v in live.items() if n.startswith("minihft_")}
        want = {m.name: (m.type, set(m.labels)) for m in cat if m.service == job}
        if job != "lob_engine":
            # A labelled Python counter without children shows no label keys yet.
            live = {n: (t, ls or want.get(n, (t, set()))[1]) for n, (t, ls) in live.items()}
        assert live == want, f"{job}: live /metrics differ from docs/metrics-catalogue.md"
    assert metric(stack.procs["strategy_runner"].port, "minihft_strategy_runner_up_bool") == 1
