"""Readers for the deploy/ files (compose, Dockerfiles, .dockerignore) and the code defaults
they are checked against; used by test_deploy_static.py."""

from __future__ import annotations

import argparse
import fnmatch
import importlib
import importlib.util
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from minihft.runtime.config import ServiceConfig

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
LOB_CONFIG = ROOT / "services" / "lob_engine" / "service" / "config.hpp"
LOB_CMAKE = ROOT / "services" / "lob_engine" / "service" / "CMakeLists.txt"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
HEALTH_PORT_ENV = "MINIHFT_HEALTH_PORT"  # read by deploy/docker/healthz.sh, not by a service


@dataclass
class Stage:
    base: str
    alias: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, op: str) -> list[str]:
        return [arg for o, arg in self.instructions if o == op]

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for arg in self.all("ENV"):
            for tok in shlex.split(arg):
                k, _, v = tok.partition("=")
                out[k] = v
        return out


def parse_dockerfile(path: Path) -> list[Stage]:
    text = re.sub(r"\\\n", " ", path.read_text())
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        op, _, arg = line.partition(" ")
        op, arg = op.upper(), arg.strip()
        if op == "FROM":
            m = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", arg, re.I)
            assert m, f"{path}: cannot parse FROM {arg!r}"
            stages.append(Stage(m.group(1), m.group(2)))
        else:
            assert stages, f"{path}: {op} before the first FROM"
            stages[-1].instructions.append((op, arg))
    return stages


def exec_form(arg: str) -> list[str]:
    arg = re.sub(r"^(--\S+\s+)*", "", arg.strip())
    if arg.startswith("["):
        return list(yaml.safe_load(arg))
    return shlex.split(arg)


def compose() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(doc, dict) and isinstance(doc.get("services"), dict), (
        f"{COMPOSE}: no services"
    )
    return doc


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def env_of(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {str(k): str(v) for k, v in env.items()}


def dockerfile_of(svc: dict[str, Any]) -> Path | None:
    build = svc.get("build")
    if build is None:
        return None
    return (DEPLOY / build["context"]).resolve() / build.get("dockerfile", "Dockerfile")


def effective_env(svc: dict[str, Any]) -> dict[str, str]:
    df = dockerfile_of(svc)
    image_env = parse_dockerfile(df)[-1].env() if df else {}
    return {**image_env, **env_of(svc)}


def published(svc: dict[str, Any]) -> list[tuple[str, int, int]]:
    out = []
    for p in svc.get("ports", []):
        parts = str(p).split(":")
        assert len(parts) == 3, f"port {p!r}: want HOST_IP:HOST_PORT:CONTAINER_PORT"
        out.append((parts[0], int(parts[1]), int(parts[2])))
    return out


def flag(cmd: list[str], name: str) -> str | None:
    for i, a in enumerate(cmd):
        if a == name and i + 1 < len(cmd):
            return cmd[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def lob_defaults() -> dict[str, str]:
    """Field defaults of the lob_engine Config struct (config.hpp)."""
    text = LOB_CONFIG.read_text()
    out = {}
    for m in re.finditer(r"^\s+(?:std::string|int|bool)\s+(\w+)(?:\s*=\s*([^;]+))?;", text, re.M):
        out[m.group(1)] = (m.group(2) or '""').strip().strip('"')
    return out


def lob_flags() -> set[str]:
    return set(re.findall(r'set\["([a-z-]+)"\]', LOB_CONFIG.read_text()))


def lob_target() -> str:
    m = re.search(r"add_executable\((\w+)", LOB_CMAKE.read_text())
    assert m, f"{LOB_CMAKE}: no add_executable"
    return m.group(1)


def python_module(cmd: list[str]) -> str | None:
    if len(cmd) >= 3 and cmd[0] in ("python", "python3") and cmd[1] == "-m":
        return cmd[2]
    return None


def config_class(module: str) -> type[ServiceConfig] | None:
    """The ServiceConfig subclass a `python -m minihft.services.X` service runs with."""
    try:
        app = importlib.import_module(module + ".app")
    except ModuleNotFoundError:
        return None
    found = [
        v
        for v in vars(app).values()
        if isinstance(v, type) and issubclass(v, ServiceConfig) and v.__module__ == app.__name__
    ]
    assert len(found) == 1, f"{module}.app: want one ServiceConfig subclass, found {found}"
    return found[0]


@dataclass(frozen=True)
class Endpoint:
    service: str
    container_port: int
    host_port: int


def metrics_endpoints() -> list[Endpoint]:
    """minihft services with an HTTP port (/metrics, /healthz), with the port their code uses."""
    out = []
    for name, svc in services().items():
        cmd = [str(c) for c in svc.get("command", [])]
        env = effective_env(svc)
        if name == "lob_engine":
            port = int(
                env.get("MINIHFT_LOB_ENGINE_METRICS_PORT")
                or flag(cmd, "--metrics-port")
                or lob_defaults()["metrics_port"]
            )
        elif (mod := python_module(cmd)) and (cls := config_class(mod)):
            default = cls.model_fields["http_port"].default
            port = int(env.get("MINIHFT_HTTP_PORT") or flag(cmd, "--http-port") or default)
        else:
            continue
        host = [h for _, h, c in published(svc) if c == port]
        assert host, f"compose {name}: its HTTP port {port} (from the code) is not published"
        out.append(Endpoint(name, port, host[0]))
    return out


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [ln.strip().rstrip("/") for ln in lines if ln.strip() and not ln.startswith("#")]


def ignored(rel: str, patterns: list[str]) -> bool:
    parts = rel.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pat in patterns:
        for pre in prefixes:
            if fnmatch.fnmatch(pre, pat) or (
                pat.startswith("**/") and fnmatch.fnmatch(pre.split("/")[-1], pat[3:])
            ):
                return True
    return False


def built_services() -> dict[str, dict[str, Any]]:
    return {n: s for n, s in services().items() if "build" in s}


def container_path(svc: dict[str, Any], path: str) -> Path | None:
    for v in svc.get("volumes", []):
        src, dst = str(v).split(":")[:2]
        if src.startswith((".", "/")) and (path == dst or path.startswith(dst + "/")):
            return (DEPLOY / src).resolve() / path[len(dst) :].lstrip("/")
    return None


def module_exists(mod: str) -> bool:
    try:
        return importlib.util.find_spec(mod) is not None
    except ModuleNotFoundError:
        return False


def parse_exactly(name: str, parser: argparse.ArgumentParser, args: list[str]) -> Any:
    """Parse like the service does, but refuse abbreviated flags: argparse accepts `--strat`
    for `--strategy` until some new flag shares the prefix, so a deployment must spell them out.
    """
    try:
        ns = parser.parse_args(args)
    except SystemExit:
        pytest.fail(f"compose {name}: command {args} does not parse")
    known = set(parser._option_string_actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            sub = action.choices[getattr(ns, action.dest)]
            known |= set(sub._option_string_actions)
    for a in args:
        if a.startswith("--"):
            assert a.split("=")[0] in known, f"compose {name}: {a} is not a flag of {parser.prog}"
    return ns


def kafka_listeners() -> tuple[dict[str, str], dict[str, str]]:
    env = env_of(services()["kafka"])

    def split(v: str) -> dict[str, str]:
        return dict(x.split("://", 1) for x in v.split(","))

    return split(env["KAFKA_LISTENERS"]), split(env["KAFKA_ADVERTISED_LISTENERS"])


def scrape_targets(path: Path) -> dict[str, list[str]]:
    doc = yaml.safe_load(path.read_text())
    return {
        job["job_name"]: [t for sc in job.get("static_configs", []) for t in sc["targets"]]
        for job in doc["scrape_configs"]
    }
