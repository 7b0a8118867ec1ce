"""Static checks of deploy/: the compose file and Dockerfiles against the code they run.

No Docker engine runs here, so these tests read the files and compare them with the source of
truth in the code: ports and hosts from the config objects and flags, the broker's settings
from deploy/kafka/, topic prefixes from minihft.bus.topics, commands from the CLI parsers.
"""

from __future__ import annotations

import base64
import importlib
import re
import shlex

import yaml
from deploy_files import (
    DEPLOY,
    HEALTH_PORT_ENV,
    PYPROJECT,
    ROOT,
    built_services,
    compose,
    config_class,
    container_path,
    dockerfile_of,
    dockerignore,
    effective_env,
    env_of,
    exec_form,
    flag,
    ignored,
    kafka_listeners,
    lob_defaults,
    lob_flags,
    lob_target,
    metrics_endpoints,
    module_exists,
    parse_dockerfile,
    parse_exactly,
    published,
    python_module,
    scrape_targets,
    services,
)
from minihft.bus.topics import Topics
from minihft.cli import build_parser
from minihft.runtime import stack
from minihft.runtime.config import ServiceConfig

# ---------------------------------------------------------------- compose structure


def test_compose_has_the_whole_stack() -> None:
    want = {"kafka", "prometheus", "grafana", "lob_engine", "feed_handler", "strategy_runner"}
    want |= {"backtest_orchestrator"}
    assert want <= set(services()), f"missing: {want - set(services())}"


def test_build_context_and_dockerfile_exist() -> None:
    for name, svc in built_services().items():
        ctx = (DEPLOY / svc["build"]["context"]).resolve()
        assert ctx == ROOT, f"compose {name}: build context {ctx} is not the repository root"
        df = dockerfile_of(svc)
        assert df is not None and df.is_file(), f"compose {name}: no Dockerfile at {df}"


def test_dockerfile_copies_exist_and_are_not_ignored() -> None:
    patterns = dockerignore()
    for df in sorted((DEPLOY / "docker").glob("*.Dockerfile")):
        stages = parse_dockerfile(df)
        for st in stages:
            for arg in st.all("COPY") + st.all("ADD"):
                if "--from=" in arg:
                    continue
                words = [w for w in shlex.split(arg) if not w.startswith("--")]
                for src in words[:-1]:
                    hits = list(ROOT.glob(src))
                    assert hits, f"{df.name}: COPY {src}: no such file in the repository"
                    assert not ignored(src, patterns), f"{df.name}: COPY {src} is in .dockerignore"


def test_dockerignore_excludes_local_state() -> None:
    pats = dockerignore()
    for d in (".venv", "build", "var"):
        assert ignored(d, pats), f".dockerignore does not exclude {d}"


def test_dockerfiles_multistage_nonroot_with_healthcheck() -> None:
    for name, svc in built_services().items():
        df = dockerfile_of(svc)
        assert df is not None
        stages = parse_dockerfile(df)
        assert len(stages) >= 2, f"{df.name}: not multi-stage"
        final = stages[-1]
        assert "slim" in final.base, f"{df.name}: runtime stage {final.base} is not a slim image"
        users = final.all("USER")
        assert users, f"{df.name}: runtime stage has no USER"
        assert users[-1].split(":")[0] not in ("root", "0"), f"{df.name}: runs as {users[-1]}"
        hc = final.all("HEALTHCHECK")
        assert hc and "NONE" not in hc[-1].upper(), f"{df.name} ({name}): no HEALTHCHECK"
        probe = exec_form(hc[-1].split("CMD", 1)[1])[0]
        copied = [shlex.split(a)[-1] for a in final.all("COPY")]
        assert f"/usr/local/bin/{probe}" in copied, f"{df.name}: probe {probe} not installed"


def test_healthz_probe_hits_healthz() -> None:
    script = (DEPLOY / "docker" / "healthz.sh").read_text()
    assert "GET /healthz " in script


def test_images_pinned() -> None:
    version = PYPROJECT["project"]["version"]
    for name, svc in services().items():
        image = svc.get("image")
        assert image, f"compose {name}: no image name"
        _repo, sep, tag = image.rpartition(":")
        assert sep and "/" not in tag and tag and tag != "latest", f"{name}: {image} not pinned"
        if "build" in svc:
            assert tag == version, f"{name}: own image tag {tag} != project version {version}"
    for df in (DEPLOY / "docker").glob("*.Dockerfile"):
        stages = parse_dockerfile(df)
        aliases = {s.alias for s in stages if s.alias}
        for st in stages:
            if st.base in aliases:
                continue
            _, sep, tag = st.base.rpartition(":")
            assert sep and tag not in ("", "latest"), f"{df.name}: FROM {st.base} not pinned"


def test_ports_bound_to_loopback() -> None:
    for name, svc in services().items():
        for ip, _, _ in published(svc):
            assert ip == "127.0.0.1", f"compose {name}: port published on {ip}"


def test_depends_on_waits_for_health() -> None:
    svcs = services()
    for name, svc in svcs.items():
        deps = svc.get("depends_on", {})
        assert isinstance(deps, dict), f"compose {name}: depends_on without conditions"
        for dep, spec in deps.items():
            assert dep in svcs, f"compose {name}: depends on unknown {dep}"
            assert spec.get("condition") == "service_healthy", f"{name} -> {dep}: not healthy"
            target = svcs[dep]
            hc = target.get("healthcheck", {})
            has = (hc and not hc.get("disable")) or ("build" in target and not hc.get("disable"))
            assert has, f"compose {name} waits for {dep}, which has no health check"


def test_long_running_services_have_health_checks() -> None:
    for name, svc in services().items():
        if svc.get("profiles") and svc.get("restart") == "no":
            continue  # one-shot jobs
        hc = svc.get("healthcheck")
        assert hc and not hc.get("disable") and hc.get("test"), f"compose {name}: no healthcheck"


def test_named_volumes() -> None:
    doc = compose()
    declared = set(doc.get("volumes") or {})
    used: dict[str, str] = {}
    for name, svc in doc["services"].items():
        for v in svc.get("volumes", []):
            src, dst = str(v).split(":")[:2]
            if src.startswith((".", "/")):
                assert (DEPLOY / src).exists(), f"compose {name}: bind source {src} missing"
            else:
                assert src in declared, f"compose {name}: volume {src} not declared"
                used[name] = dst
    kafka_dirs = env_of(doc["services"]["kafka"])["KAFKA_LOG_DIRS"]
    assert used.get("kafka") == kafka_dirs, "kafka data is not on a named volume"
    assert used.get("prometheus") == "/prometheus", "prometheus data is not on a named volume"
    assert used.get("grafana") == "/var/lib/grafana", "grafana data is not on a named volume"


# ---------------------------------------------------------------- commands against the code


def test_python_commands_exist_and_parse() -> None:
    scripts = PYPROJECT["project"]["scripts"]
    checked = 0
    for name, svc in built_services().items():
        if name == "lob_engine":
            continue
        cmd = [str(c) for c in svc["command"]]
        if mod := python_module(cmd):
            assert module_exists(mod + ".__main__"), f"compose {name}: no module {mod}"
            app = importlib.import_module(mod + ".app")
            ns = parse_exactly(name, app.build_parser(), cmd[3:])
        else:
            assert cmd[0] in scripts, f"{name}: {cmd[0]} is not a console script of the package"
            ns = parse_exactly(name, build_parser(), cmd[1:])
        for value in vars(ns).values():
            if isinstance(value, str) and value.startswith("/data/"):
                host = container_path(svc, value)
                assert host and host.is_file(), f"{name}: {value} is not mounted from the repo"
        checked += 1
    assert checked >= 3


def test_lob_engine_binary_and_flags() -> None:
    svc = services()["lob_engine"]
    df = dockerfile_of(svc)
    assert df is not None
    stages = parse_dockerfile(df)
    target = lob_target()
    entry = exec_form(stages[-1].all("ENTRYPOINT")[-1])
    assert entry[0] == target, f"{df.name}: ENTRYPOINT {entry[0]} != CMake target {target}"
    installed = [shlex.split(a)[-1] for a in stages[-1].all("COPY") if "--from=" in a]
    assert f"/usr/local/bin/{target}" in installed, f"{df.name}: {target} not copied in"
    builds = " ".join(stages[0].all("RUN"))
    assert f"--target {target}" in builds, f"{df.name}: builder does not build {target}"
    flags = lob_flags()
    for a in svc.get("command", []):
        if str(a).startswith("--"):
            assert str(a)[2:].split("=")[0].removeprefix("no-") in flags, f"lob_engine: {a}?"
    for k in effective_env(svc):
        if k.startswith("MINIHFT_LOB_ENGINE_"):
            f = k.removeprefix("MINIHFT_LOB_ENGINE_").lower().replace("_", "-")
            assert f in flags, f"lob_engine: {k} is no flag of config.hpp"


def test_python_env_names_are_config_fields() -> None:
    for name, svc in built_services().items():
        mod = python_module([str(c) for c in svc["command"]])
        cls = config_class(mod) if mod else None
        if cls is None:
            continue
        for k in effective_env(svc):
            if k.startswith("MINIHFT_") and k != HEALTH_PORT_ENV:
                assert k.removeprefix("MINIHFT_").lower() in cls.model_fields, f"{name}: {k}?"


def test_ports_agree_with_code_defaults() -> None:
    eps = metrics_endpoints()
    assert {e.service for e in eps} >= {"lob_engine", "feed_handler", "strategy_runner"}
    local = {s.name: s.port for s in stack.SERVICES}
    for e in eps:
        # Same host port as the local stack without Docker, so tools work against both.
        assert e.host_port == e.container_port, f"{e.service}: host port differs"
        if e.service in local:
            assert e.container_port == local[e.service], f"{e.service}: != runtime.stack port"
        svc = services()[e.service]
        test = [str(t) for t in svc["healthcheck"]["test"]]
        probe_port = int(test[-1]) if test[-1].isdigit() else None
        image_port = effective_env(svc).get(HEALTH_PORT_ENV)
        assert (probe_port or int(image_port or 0)) == e.container_port, f"{e.service}: probe port"


def test_services_listen_beyond_container_loopback() -> None:
    for e in metrics_endpoints():
        svc = services()[e.service]
        env = effective_env(svc)
        if e.service == "lob_engine":
            addr = env.get("MINIHFT_LOB_ENGINE_METRICS_ADDR") or lob_defaults()["metrics_addr"]
        else:
            addr = env.get("MINIHFT_HTTP_HOST") or ServiceConfig.model_fields["http_host"].default
        assert addr == "0.0.0.0", f"{e.service}: listens on {addr}; Prometheus cannot scrape it"


# ---------------------------------------------------------------- broker and topics


def test_kafka_image_matches_local_broker() -> None:
    pom = (DEPLOY / "kafka" / "pom.xml").read_text()
    m = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom)
    assert m
    image = services()["kafka"]["image"]
    assert image == f"apache/kafka:{m.group(1)}", f"{image} != broker {m.group(1)} of pom.xml"


def test_kafka_settings_match_server_properties() -> None:
    env = env_of(services()["kafka"])
    differ = {"listeners", "advertised.listeners", "controller.quorum.voters", "log.dirs"}
    differ |= {"listener.security.protocol.map", "inter.broker.listener.name"}
    props = (DEPLOY / "kafka" / "server.properties.in").read_text().splitlines()
    for line in props:
        if not line.strip() or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if key in differ:
            continue
        want = "KAFKA_" + key.upper().replace(".", "_")
        assert env.get(want) == value, f"compose kafka {want}={env.get(want)!r}, broker: {value}"
    cid = base64.urlsafe_b64decode(env["CLUSTER_ID"] + "==")
    assert len(cid) == 16 and len(env["CLUSTER_ID"]) == 22, "CLUSTER_ID is not a base64 UUID"


def test_bootstrap_agrees_with_broker_listeners() -> None:
    listen, adv = kafka_listeners()
    kafka = services()["kafka"]
    names = {"kafka", kafka.get("hostname")}
    internal = {v for v in adv.values() if v.split(":")[0] in names}
    assert internal, "kafka advertises no listener on its compose name"
    for name, svc in built_services().items():
        cmd = [str(c) for c in svc["command"]]
        env = effective_env(svc)
        if name == "lob_engine":
            boot = env.get("MINIHFT_LOB_ENGINE_BOOTSTRAP") or flag(cmd, "--bootstrap")
        else:
            boot = env.get("MINIHFT_KAFKA_BOOTSTRAP") or flag(cmd, "--kafka-bootstrap")
        assert boot in internal, f"{name}: bootstrap {boot} is none of kafka's {internal}"
        listener = next(k for k, v in adv.items() if v == boot)
        assert listen[listener].rsplit(":", 1)[1] == boot.rsplit(":", 1)[1], f"{name}: port"
        assert "kafka" in svc.get("depends_on", {}), f"{name} does not wait for kafka"
    # Host tools use the code's default bootstrap; it must reach the published HOST listener.
    default = ServiceConfig.model_fields["kafka_bootstrap"].default
    assert default == lob_defaults()["bootstrap"]
    host_listener = [k for k, v in adv.items() if v == default]
    assert host_listener, f"kafka advertises no {default} for tools on the host"
    port = int(default.rsplit(":", 1)[1])
    assert ("127.0.0.1", port, int(listen[host_listener[0]].rsplit(":", 1)[1])) in published(kafka)
    up = (DEPLOY / "kafka" / "kafka-up.sh").read_text()
    assert f"MINIHFT_KAFKA_PORT:-{port}" in up, "kafka-up.sh default port differs"


def test_topics_agree_with_bus_topics() -> None:
    svcs = services()
    lob = svcs["lob_engine"]
    cmd = [str(c) for c in lob["command"]]
    prefix = effective_env(lob).get("MINIHFT_LOB_ENGINE_TOPIC_PREFIX") or flag(
        cmd, "--topic-prefix"
    )
    assert (prefix or lob_defaults()["topic_prefix"]) == Topics().prefix, "lob_engine not live"
    for name, svc in built_services().items():
        c = [str(x) for x in svc["command"]]
        run_id = effective_env(svc).get("MINIHFT_RUN_ID") or flag(c, "--run-id")
        if run_id is not None:
            assert Topics.for_run(run_id).prefix.startswith("bt."), name
        elif name != "lob_engine":
            assert Topics().prefix == "", name
    # Lock-step replays wait on lob_engine's consumer group: the names must agree.
    bt = [str(c) for c in svcs["backtest_orchestrator"]["command"]]
    ns = build_parser().parse_args(bt[1:])
    group = effective_env(lob).get("MINIHFT_LOB_ENGINE_GROUP") or flag(cmd, "--group")
    assert (group or lob_defaults()["group"]) == ns.lob_group


# ---------------------------------------------------------------- Prometheus and Grafana


def test_prometheus_scrapes_every_service() -> None:
    compose_targets = scrape_targets(DEPLOY / "prometheus" / "prometheus.yml")
    local_targets = scrape_targets(DEPLOY / "prometheus" / "prometheus.local.yml")
    assert set(compose_targets) == set(local_targets), "the two Prometheus configs differ in jobs"
    for e in metrics_endpoints():
        want = f"{e.service}:{e.container_port}"
        assert any(want in ts for ts in compose_targets.values()), f"no scrape of {want}"
        local = f"127.0.0.1:{e.host_port}"
        assert local in local_targets.get(e.service, []), f"local config: no {local}"
    svcs = services()
    for job, ts in compose_targets.items():
        for t in ts:
            host = t.rsplit(":", 1)[0]
            assert host in svcs or host == "localhost", f"job {job}: {t} is no compose service"
    prom_port = published(svcs["prometheus"])[0][2]
    assert f"localhost:{prom_port}" in compose_targets.get("prometheus", [])


def test_grafana_datasource_points_at_prometheus() -> None:
    prov = ROOT / "grafana" / "provisioning"
    mounts = [str(v).split(":")[0] for v in services()["grafana"].get("volumes", [])]
    assert any((DEPLOY / m).resolve() == prov for m in mounts), "grafana/provisioning not mounted"
    ds = yaml.safe_load((prov / "datasources" / "prometheus.yml").read_text())["datasources"]
    port = published(services()["prometheus"])[0][2]
    urls = [d["url"] for d in ds if d["type"] == "prometheus"]
    assert f"http://prometheus:{port}" in urls, f"grafana datasource {urls}"
