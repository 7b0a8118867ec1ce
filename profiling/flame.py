"""Profile post-processing without third-party tools: callgrind output -> collapsed stacks,
collapsed stacks -> flame graph SVG, and top-N function tables (self and inclusive).

Callgrind records caller -> callee edges with inclusive costs, not whole stacks, so the collapsed
stacks are reconstructed: a function reached from several callers has its own callees split in
proportion to the cost each caller spent in it. That is exact for a call tree and an estimate
where a function's behaviour depends on who called it (stated in the report).

py-spy's `--format raw` output is already collapsed stacks ("a;b;c count").
"""

from __future__ import annotations

import argparse
import hashlib
import html
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

_DEF = re.compile(r"^\((\d+)\)(?: (.*))?$")
_LINENO = re.compile(r":\d+\)$")


class ProfileFormatError(ValueError):
    pass


@dataclass
class CallGraph:
    """Self cost and outgoing call edges (inclusive cost) per function, one event type."""

    event: str
    self_cost: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    calls: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    total: int = 0
    # Part of self_cost spent in code inlined from another file (fi=/fe= lines): the only trace
    # of inlined callees in an -O3 build.
    inlined: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )

    def inclusive(self, fn: str) -> int:
        """Self plus callees, recursion into itself excluded so it is not counted twice."""
        return self.self_cost.get(fn, 0) + sum(
            c for callee, c in self.calls.get(fn, {}).items() if callee != fn
        )

    def functions(self) -> set[str]:
        out = set(self.self_cost)
        for caller, callees in self.calls.items():
            out.add(caller)
            out.update(callees)
        return out


def short_name(name: str) -> str:
    """Drop the parameter list of a demangled C++ name: `ns::f(int, long) const [clone .part.0]`
    -> `ns::f [clone .part.0]`; names without one are returned unchanged."""
    suffix = ""
    m = re.search(r"( \[clone [^\]]*\])+$", name)
    if m:
        suffix, name = m.group(0), name[: m.start()]
    body = name.removesuffix(" const")
    if body.endswith(")"):
        depth = 0
        for i in range(len(body) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(body[i], 0)
            if depth == 0:
                # `X::operator()` without parameters: those parentheses are the name.
                if i > 0 and not body[:i].endswith("operator"):
                    name = body[:i]
                break
    return name + suffix


def parse_callgrind(path: Path, event: str | None = None) -> CallGraph:
    """Read a callgrind.out file (compressed names and relative positions allowed)."""
    names: dict[str, dict[str, str]] = {"fn": {}, "fl": {}, "ob": {}}
    kind_of = {"fn": "fn", "cfn": "fn", "fl": "fl", "fi": "fl", "fe": "fl", "cfi": "fl",
               "cfl": "fl", "ob": "ob", "cob": "ob"}  # fmt: skip
    n_pos = 1
    events: list[str] = []
    ev_idx = 0
    graph: CallGraph | None = None
    fn = cfn = fl = fi = ""
    pending_call = False
    with path.open(encoding="utf-8", errors="replace") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            c0 = line[0]
            if c0.isdigit() or c0 in "+-*":
                if graph is None:
                    raise ProfileFormatError(f"{path}:{lineno}: cost line before 'events:'")
                parts = line.split()
                costs = parts[n_pos:]
                cost = int(costs[ev_idx]) if ev_idx < len(costs) else 0
                if pending_call:
                    graph.calls[fn][cfn] += cost
                    pending_call = False
                else:
                    graph.self_cost[fn] += cost
                    if fi and fi != fl:
                        graph.inlined[fn][fi] += cost
                continue
            key, sep, val = line.partition("=")
            if sep and key in kind_of:
                table = names[kind_of[key]]
                m = _DEF.match(val)
                if m:
                    if m.group(2) is not None:
                        table[m.group(1)] = m.group(2)
                    elif m.group(1) not in table:
                        raise ProfileFormatError(
                            f"{path}:{lineno}: undefined name id ({m.group(1)})"
                        )
                    val = table[m.group(1)]
                if key == "fn":
                    fn = short_name(val)
                    fi = ""
                elif key == "fl":
                    fl, fi = val, ""
                elif key in ("fi", "fe"):
                    fi = val
                elif key == "cfn":
                    cfn = short_name(val)
                continue
            if sep and key == "calls":
                pending_call = True
                continue
            head, colon, rest = line.partition(":")
            if colon:
                if head == "positions":
                    n_pos = len(rest.split())
                elif head == "events":
                    events = rest.split()
                    want = event or events[0]
                    if want not in events:
                        raise ProfileFormatError(f"{path}: event {want!r} not in {events}")
                    ev_idx = events.index(want)
                    graph = CallGraph(want)
                elif head in ("totals", "summary") and graph is not None:
                    vals = rest.split()
                    if ev_idx < len(vals):
                        graph.total = int(vals[ev_idx])
    if graph is None:
        raise ProfileFormatError(f"{path}: no 'events:' line; not a callgrind output file")
    if graph.total == 0:
        graph.total = sum(graph.self_cost.values())
    return graph


def collapse(graph: CallGraph, root: str | None = None, min_frac: float = 1e-4) -> dict[str, int]:
    """Collapsed stacks from a call graph. `root`: start at functions whose short name equals it
    (the toggle-collected function) instead of at functions nobody calls."""
    fns = graph.functions()
    if root is not None:
        roots = [f for f in fns if f == root]
        if not roots:
            raise ProfileFormatError(f"root function {root!r} not in the profile")
    else:
        called = {c for cs in graph.calls.values() for c in cs}
        roots = sorted(f for f in fns if f not in called)
    floor = graph.total * min_frac
    out: dict[str, float] = defaultdict(float)

    def walk(f: str, stack: list[str], scale: float) -> None:
        stack = [*stack, f]
        key = ";".join(stack)
        inl = graph.inlined.get(f, {})
        out[key] += (graph.self_cost.get(f, 0) - sum(inl.values())) * scale
        for file, cost in inl.items():
            out[f"{key};[inlined {Path(file).name}]"] += cost * scale
        for callee, cost in graph.calls.get(f, {}).items():
            share = cost * scale
            if callee in stack or share < floor:  # recursion or too thin to draw: keep as a leaf
                out[f"{key};{callee}"] += share
                continue
            inc = graph.inclusive(callee)
            walk(callee, stack, scale * cost / inc if inc else 0.0)

    for r in roots:
        walk(r, [], 1.0)
    return {k: round(v) for k, v in out.items() if round(v) > 0}


def read_collapsed(path: Path, strip_lines: bool = True) -> dict[str, int]:
    """py-spy raw output; `strip_lines` merges frames of one function at different lines."""
    out: dict[str, int] = defaultdict(int)
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        stack, _, n = line.rpartition(" ")
        stack = stack.strip() or "[no Python frame]"
        if not n.isdigit():
            raise ProfileFormatError(f"{path}:{lineno}: expected 'frame;frame count', got {line!r}")
        if strip_lines:
            stack = ";".join(_LINENO.sub(")", fr) for fr in stack.split(";"))
        out[stack] += int(n)
    return dict(out)


def top_functions(stacks: dict[str, int], n: int = 20) -> list[tuple[str, int, int]]:
    """(function, self, inclusive) sorted by inclusive; a frame repeated in one stack
    (recursion) counts once toward its inclusive total."""
    self_c: dict[str, int] = defaultdict(int)
    incl: dict[str, int] = defaultdict(int)
    for stack, c in stacks.items():
        frames = stack.split(";")
        self_c[frames[-1]] += c
        for fr in set(frames):
            incl[fr] += c
    rows = [(f, self_c.get(f, 0), incl[f]) for f in incl]
    rows.sort(key=lambda r: (-r[2], -r[1], r[0]))
    return rows[:n]


def top_self(stacks: dict[str, int], n: int = 20) -> list[tuple[str, int, int]]:
    rows = top_functions(stacks, n=1 << 30)
    rows.sort(key=lambda r: (-r[1], -r[2], r[0]))
    return rows[:n]


def markdown_table(rows: list[tuple[str, int, int]], total: int, unit: str) -> str:
    lines = [
        f"| function | self {unit} | self % | inclusive {unit} | incl % |",
        "|---|---:|---:|---:|---:|",
    ]
    for f, s, i in rows:
        name = f.replace("|", "\\|")
        lines.append(
            f"| `{name}` | {s:,} | {100 * s / total:.1f} | {i:,} | {100 * i / total:.1f} |"
        )
    return "\n".join(lines)


def _color(name: str) -> str:
    h = int(hashlib.md5(name.encode()).hexdigest()[:6], 16)
    return f"rgb({200 + h % 55},{80 + (h >> 8) % 120},{(h >> 16) % 60})"


def flame_svg(stacks: dict[str, int], title: str, width: int = 1200, min_px: float = 0.3) -> str:
    """A static flame graph (root at the bottom); hover titles give cost and share."""
    total = sum(stacks.values())
    root: dict[str, object] = {"n": total, "kids": {}}
    for stack, c in stacks.items():
        node = root
        for fr in stack.split(";"):
            kids = node["kids"]
            assert isinstance(kids, dict)
            child = kids.setdefault(fr, {"n": 0, "kids": {}})
            child["n"] = int(child["n"]) + c
            node = child
    rows: list[tuple[int, float, float, str, int]] = []  # depth, x, w, name, n

    def lay(node: dict[str, object], depth: int, x: float) -> None:
        kids = node["kids"]
        assert isinstance(kids, dict)
        for name in sorted(kids):
            k = kids[name]
            n = int(k["n"])
            w = width * n / total if total else 0.0
            if w >= min_px:
                rows.append((depth, x, w, name, n))
                lay(k, depth + 1, x)
            x += w

    lay(root, 0, 0.0)
    fh = 16
    depth = max((r[0] for r in rows), default=0) + 1
    height = (depth + 2) * fh
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="monospace" font-size="11">',
        f'<text x="4" y="12">{html.escape(title)} (total {total:,})</text>',
    ]
    for d, x, w, name, n in rows:
        y = height - (d + 1) * fh
        label = html.escape(name)
        out.append(
            f"<g><title>{label} {n:,} ({100 * n / total:.2f}%)</title>"
            f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{fh - 1}" fill="{_color(name)}"/>'
        )
        chars = int((w - 4) / 6.6)
        if chars >= 3:
            text = name if len(name) <= chars else name[: chars - 2] + ".."
            out.append(f'<text x="{x + 2:.1f}" y="{y + 11}">{html.escape(text)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="callgrind/py-spy raw -> flame graph SVG + top table")
    p.add_argument("kind", choices=["callgrind", "collapsed"])
    p.add_argument("input", type=Path)
    p.add_argument("--svg", type=Path, required=True)
    p.add_argument("--table", type=Path, required=True, help="markdown top functions")
    p.add_argument("--collapsed-out", type=Path, help="write the collapsed stacks too")
    p.add_argument("--root", help="callgrind: start stacks at this function")
    p.add_argument("--title", default="")
    p.add_argument("--top", type=int, default=20)
    a = p.parse_args(argv)
    if a.kind == "callgrind":
        g = parse_callgrind(a.input)
        stacks = collapse(g, root=a.root)
        unit = g.event
    else:
        stacks = read_collapsed(a.input)
        unit = "samples"
    total = sum(stacks.values())
    if total == 0:
        raise SystemExit(f"{a.input}: empty profile")
    if a.collapsed_out:
        a.collapsed_out.write_text("".join(f"{k} {v}\n" for k, v in sorted(stacks.items())))
    a.svg.write_text(flame_svg(stacks, a.title or a.input.name))
    md = [
        f"Total: {total:,} {unit}.",
        "",
        f"Top {a.top} by inclusive cost:",
        "",
        markdown_table(top_functions(stacks, a.top), total, unit),
        "",
        f"Top {a.top} by self cost:",
        "",
        markdown_table(top_self(stacks, a.top), total, unit),
        "",
    ]
    a.table.write_text("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
