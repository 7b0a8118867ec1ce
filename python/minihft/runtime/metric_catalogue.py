"""The catalogue of every metric the stack exports, generated from the code so it cannot drift.

- Python services: the `counter/gauge/histogram(what, unit, doc, labels)` calls of ServiceMetrics
  (runtime/metrics.py, registered in every service) and of each `services/<name>/` package are
  found in the source (arguments must be literals), then registered in a real ServiceMetrics so
  the exposed names and types are the ones prometheus_client produces.
- lob_engine (C++): read from `Metrics::render()` in services/lob_engine/service/metrics.cpp;
  the dashboards integration test checks that list against a live scrape of the binary.

    python -m minihft.runtime.metric_catalogue [--write | --check]   (docs/metrics-catalogue.md)
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from minihft.runtime.metrics import STANDARD_FAMILIES, ServiceMetrics
from minihft.runtime.stack import ROOT

SERVICES_DIR = ROOT / "services"
METRICS_PY = Path(__file__).resolve().with_name("metrics.py")
LOB_METRICS_CPP = SERVICES_DIR / "lob_engine" / "service" / "metrics.cpp"
DOC = ROOT / "docs" / "metrics-catalogue.md"

# The last word of every metric name. Counters end in `total`; a gauge or histogram names its
# unit (a rate is `per_second`, a flag `bool`, a count of things the thing counted).
UNITS = (
    "total", "seconds", "ns", "bool", "per_second", "messages", "items", "bytes", "ratio",
    "shares", "bps", "dollars",
)  # fmt: skip
KINDS = ("counter", "gauge", "histogram")
# The catalogue section of the standard process/platform/GC families every Python service has.
STANDARD_SECTION = "every Python service"


class CatalogueError(ValueError):
    pass


@dataclass(frozen=True)
class MetricDef:
    service: str
    name: str  # as exposed (counters with _total; histograms without _bucket/_sum/_count)
    type: str  # counter | gauge | histogram
    labels: tuple[str, ...]
    help: str
    source: str  # path:line relative to the repository


@dataclass(frozen=True)
class _Call:
    kind: str
    what: str
    unit: str
    doc: str
    labels: tuple[str, ...]
    source: str


def _rel(path: Path, line: int) -> str:
    p = path.resolve()
    return f"{p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}:{line}"


def _literal_str(node: ast.expr, where: str, field: str) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    raise CatalogueError(f"{where}: {field} of a metric must be a string literal")


def _calls(path: Path, receivers: tuple[str, ...] | None = None) -> Iterator[_Call]:
    """Metric registrations in one file: `<x>.counter|gauge|histogram(what, unit, doc, ...)`.

    `receivers` limits the object the method is called on (e.g. `self` in ServiceMetrics)."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in KINDS:
            continue
        recv = node.func.value
        if isinstance(recv, ast.Name) and recv.id in ("np", "numpy"):
            continue  # np.histogram is no metric
        if receivers is not None and not (isinstance(recv, ast.Name) and recv.id in receivers):
            continue
        where = _rel(path, node.lineno)
        args = list(node.args)
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        for i, field in enumerate(("what", "unit", "doc")):
            if len(args) <= i and field in kw:
                args.append(kw[field])
        if len(args) < 3:
            raise CatalogueError(f"{where}: {node.func.attr}() needs what, unit and doc")
        what, unit, doc = (
            _literal_str(a, where, f) for a, f in zip(args, ("what", "unit", "doc"), strict=False)
        )
        label_node = args[3] if len(args) > 3 else kw.get("labels")
        labels: tuple[str, ...] = ()
        if label_node is not None:
            if not isinstance(label_node, ast.List | ast.Tuple):
                raise CatalogueError(f"{where}: labels must be a literal list")
            labels = tuple(_literal_str(e, where, "label") for e in label_node.elts)
        yield _Call(node.func.attr, what, unit, doc, labels, where)


def python_services() -> list[str]:
    """services/<name>/ packages that run on the shared runtime (construct a `Service`)."""
    out = []
    for d in sorted(p for p in SERVICES_DIR.iterdir() if (p / "__init__.py").is_file()):
        if any("Service(" in f.read_text() for f in d.rglob("*.py")):
            out.append(d.name)
    return out


def _service_name_constant(d: Path) -> str | None:
    for f in sorted(d.rglob("*.py")):
        for node in ast.parse(f.read_text()).body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "NAME" for t in node.targets)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                return node.value.value
    return None


def exposed_types(registry_text: str) -> dict[str, str]:
    """name -> type from the `# TYPE` lines of a text exposition."""
    out = {}
    for line in registry_text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            out[name] = typ
    # prometheus_client writes a counter's or histogram's creation time as its own gauge family.
    created = [n for n in out if n.endswith("_created")]
    for n in created:
        stem = n.removesuffix("_created")
        if out.get(stem + "_total") == "counter" or out.get(stem) == "histogram":
            del out[n]
    return out


def _split_standard(exposed: dict[str, str], where: str) -> dict[str, str]:
    """`exposed` without the STANDARD_FAMILIES, which must all be there with their types."""
    std = {n: t for n, t in exposed.items() if n in STANDARD_FAMILIES}
    want = {n: t for n, (t, _, _) in STANDARD_FAMILIES.items()}
    if std != want:
        raise CatalogueError(f"{where}: standard families {std}, expected {want}")
    return {n: t for n, t in exposed.items() if n not in STANDARD_FAMILIES}


def standard_metrics() -> list[MetricDef]:
    lines = METRICS_PY.read_text().splitlines()
    src = _rel(METRICS_PY, next(i for i, x in enumerate(lines, 1) if x.startswith("STANDARD_FAM")))
    return [
        MetricDef(STANDARD_SECTION, n, t, labels, h, src)
        for n, (t, labels, h) in STANDARD_FAMILIES.items()
    ]


def python_metrics() -> list[MetricDef]:
    base = list(_calls(METRICS_PY, receivers=("self",)))
    defs: list[MetricDef] = []
    for svc in python_services():
        const = _service_name_constant(SERVICES_DIR / svc)
        if const is not None and const != svc:
            raise CatalogueError(f"services/{svc}: NAME = {const!r}, expected {svc!r}")
        calls = base + [c for f in sorted((SERVICES_DIR / svc).rglob("*.py")) for c in _calls(f)]
        # Register for real: names and types are what prometheus_client exposes.
        sm = ServiceMetrics(svc)
        where = f"services/{svc}"
        expected_before = _split_standard(exposed_types(sm.exposition().decode()), where)
        for c in calls[len(base) :]:
            getattr(sm, c.kind)(c.what, c.unit, c.doc, *([c.labels] if c.labels else []))
        exposed = _split_standard(exposed_types(sm.exposition().decode()), where)
        if len(expected_before) != len(base):
            raise CatalogueError(
                f"{_rel(METRICS_PY, 1)}: ServiceMetrics registers metrics the catalogue "
                "cannot see (names must be literal calls on self)"
            )
        prefix = f"minihft_{svc}_{{}}_{{}}"
        for c in calls:
            stem = prefix.format(c.what, c.unit)
            name = stem if c.kind != "counter" else stem.removesuffix("_total") + "_total"
            if exposed.get(name) != c.kind:
                raise CatalogueError(f"{c.source}: {name} is not exposed as a {c.kind}")
            defs.append(MetricDef(svc, name, c.kind, c.labels, c.doc, c.source))
        if len(exposed) != len(calls):
            raise CatalogueError(f"services/{svc}: registry has {sorted(exposed)}, source {calls}")
    return defs


# The help may be adjacent string literals (clang-format wraps long ones); _cpp_help joins them.
_CPP_BLOCK = re.compile(
    r'n = p \+ "(?P<name>\w+)";\s*head\(o, n, "(?P<type>\w+)",'
    r'\s*(?P<help>"(?:[^"\\]|\\.)*"(?:\s*"(?:[^"\\]|\\.)*")*)\);'
)
_CPP_STR = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _cpp_help(literals: str) -> str:
    return "".join(_CPP_STR.findall(literals))


_CPP_HIST = re.compile(r'\w+\.render\(o, p \+ "(?P<name>\w+)",\s*"(?P<help>(?:[^"\\]|\\.)*)"\);')
_CPP_LABEL = re.compile(r'(\w+)=\\"')


def lob_engine_metrics(path: Path = LOB_METRICS_CPP) -> list[MetricDef]:
    """The metrics `Metrics::render()` writes, read from its source."""
    text = path.read_text()
    prefix = re.search(r'kPrefix = "(\w+)"', text)
    body_at = text.find("std::string Metrics::render() const")
    if prefix is None or body_at < 0:
        raise CatalogueError(f"{path}: no kPrefix or Metrics::render() to read metrics from")
    body = text[body_at:]
    body = body[: body.find("\nint ")]  # render() ends before the next function
    marks = [(m.start(), m.end(), m, "block") for m in _CPP_BLOCK.finditer(body)]
    marks += [(m.start(), m.end(), m, "histogram") for m in _CPP_HIST.finditer(body)]
    marks.sort(key=lambda t: t[0])
    defs = []
    for i, (start, end, m, what) in enumerate(marks):
        nxt = marks[i + 1][0] if i + 1 < len(marks) else len(body)
        labels: tuple[str, ...] = ()
        typ = "histogram"
        if what == "block":
            typ = m["type"]
            labels = tuple(dict.fromkeys(_CPP_LABEL.findall(body[end:nxt])))
        line = text.count("\n", 0, body_at + start) + 1
        name = prefix[1] + m["name"]
        raw = _cpp_help(m["help"]) if what == "block" else m["help"]
        help_ = raw.replace('\\"', '"')
        defs.append(MetricDef("lob_engine", name, typ, labels, help_, _rel(path, line)))
    if not defs:
        raise CatalogueError(f"{path}: no metric found in Metrics::render()")
    return defs


def all_metrics() -> list[MetricDef]:
    return python_metrics() + standard_metrics() + lob_engine_metrics()


def naming_problem(m: MetricDef) -> str | None:
    """Why `m.name` breaks minihft_<service>_<what>_<unit>, or None.

    The standard process_/python_ families are accepted under their own names and types only."""
    std = STANDARD_FAMILIES.get(m.name)
    if std is not None:
        return None if std[0] == m.type else f"{m.name}: the standard family is a {std[0]}"
    if m.name.startswith(("process_", "python_")):
        return f"{m.name}: not a standard process_/python_ family; name it minihft_..."
    head = f"minihft_{m.service}_"
    if not m.name.startswith(head):
        return f"{m.name}: does not start with {head}"
    rest = m.name[len(head) :]
    unit = next((u for u in UNITS if rest.endswith("_" + u)), None)
    if unit is None:
        return f"{m.name}: does not end in a unit of {', '.join(UNITS)}"
    what = rest[: -len(unit) - 1]
    if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", what):
        return f"{m.name}: <what> {what!r} is not lower_snake_case"
    if (m.type == "counter") != (unit == "total"):
        return f"{m.name}: counters, and only counters, end in _total"
    return None


def render(metrics: Sequence[MetricDef]) -> str:
    out = [
        "# Metrics catalogue",
        "",
        "Generated by `python -m minihft.runtime.metric_catalogue --write` from the code; do not",
        "edit. `tests/unit/test_metric_names.py` fails when this file differs from the code, and",
        "`tests/integration/test_dashboards.py` checks the lob_engine list against a live scrape.",
        "",
        "Names are `minihft_<service>_<what>_<unit>`, unit one of:",
        ", ".join(f"`{u}`" for u in UNITS) + ".",
        "Histograms also expose `_bucket`, `_sum` and `_count`. Every Python service exports",
        "the ServiceMetrics base set (`up`, `ready`, `dead_letters`, `commit_failures`) besides",
        "its own, and the standard process, platform and GC families of prometheus_client",
        "(the only names without the `minihft_` prefix).",
    ]
    for svc in dict.fromkeys(m.service for m in metrics):
        out += ["", f"## {svc}", "", "| name | type | labels | meaning |", "|---|---|---|---|"]
        for m in metrics:
            if m.service == svc:
                labels = ", ".join(f"`{x}`" for x in m.labels) or "-"
                out.append(f"| `{m.name}` | {m.type} | {labels} | {m.help} |")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m minihft.runtime.metric_catalogue")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--write", action="store_true", help=f"write {DOC.relative_to(ROOT)}")
    g.add_argument("--check", action="store_true", help="exit 1 when the doc is stale")
    args = p.parse_args(argv)
    text = render(all_metrics())
    if args.write:
        DOC.write_text(text)
    elif args.check:
        if not DOC.is_file() or DOC.read_text() != text:
            print(f"{DOC} is stale: run python -m minihft.runtime.metric_catalogue --write")
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
