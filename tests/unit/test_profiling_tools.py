"""profiling/flame.py: callgrind parsing, stack reconstruction, py-spy raw reading, tables, SVG."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "minihft_profiling_flame", ROOT / "profiling" / "flame.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


flame = _load()

# Hand-written in callgrind's format with name compression, relative positions and an inlined
# file: main (self 10) calls f twice (30 + 20 inclusive) and g once (40); f (self 20, of which 5
# inlined from vec.h) calls g (30). So g's 70 inclusive splits 30 via f and 40 direct.
CALLGRIND = """# callgrind format
version: 1
creator: hand
positions: line
events: Ir Dr
summary: 100 7

ob=(1) /bin/prog
fl=(1) main.cpp
fn=(1) main(int, char**)
10 10 1
cfn=(2) ns::f(long) const [clone .part.0]
calls=2 20
+1 50 3
cfn=(3) g
calls=1 30
* 40 2

fl=(2) f.cpp
fn=(2)
20 15 1
fi=(3) /usr/include/vec.h
+3 5 0
fe=(2)
cfn=(3)
calls=1 30
-2 30 1

fn=(3)
30 70 1
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "callgrind.out"
    p.write_text(text)
    return p


def test_parse_callgrind_costs_and_names(tmp_path: Path) -> None:
    g = flame.parse_callgrind(_write(tmp_path, CALLGRIND))
    assert g.event == "Ir" and g.total == 100
    assert g.self_cost == {"main": 10, "ns::f [clone .part.0]": 20, "g": 70}
    assert g.calls["main"] == {"ns::f [clone .part.0]": 50, "g": 40}
    assert g.inlined["ns::f [clone .part.0]"] == {"/usr/include/vec.h": 5}
    assert g.inclusive("main") == 100
    dr = flame.parse_callgrind(_write(tmp_path, CALLGRIND), event="Dr")
    assert dr.self_cost["main"] == 1 and dr.calls["main"]["g"] == 2


def test_collapse_splits_shared_callee_by_caller(tmp_path: Path) -> None:
    stacks = flame.collapse(flame.parse_callgrind(_write(tmp_path, CALLGRIND)))
    f = "ns::f [clone .part.0]"
    assert stacks == {
        "main": 10,
        f"main;{f}": 15,
        f"main;{f};[inlined vec.h]": 5,
        f"main;{f};g": 30,
        "main;g": 40,
    }
    assert sum(stacks.values()) == 100
    assert flame.collapse(flame.parse_callgrind(_write(tmp_path, CALLGRIND)), root="g") == {"g": 70}


def test_collapse_unknown_root_and_bad_files(tmp_path: Path) -> None:
    g = flame.parse_callgrind(_write(tmp_path, CALLGRIND))
    with pytest.raises(flame.ProfileFormatError, match="root function 'nope'"):
        flame.collapse(g, root="nope")
    with pytest.raises(flame.ProfileFormatError, match="no 'events:' line"):
        flame.parse_callgrind(_write(tmp_path, "version: 1\n"))
    with pytest.raises(flame.ProfileFormatError, match=r"callgrind.out:3: cost line before"):
        flame.parse_callgrind(_write(tmp_path, "version: 1\nfn=(1) a\n1 2\n"))
    with pytest.raises(flame.ProfileFormatError, match=r":3: undefined name id \(7\)"):
        flame.parse_callgrind(_write(tmp_path, "events: Ir\nfn=(1) a\ncfn=(7)\n"))
    with pytest.raises(flame.ProfileFormatError, match="event 'Bc' not in"):
        flame.parse_callgrind(_write(tmp_path, CALLGRIND), event="Bc")


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("ns::f(int, long)", "ns::f"),
        ("ns::f(int) const [clone .part.0]", "ns::f [clone .part.0]"),
        ("S::operator()(std::pair<int, int>) const", "S::operator()"),
        ("S::operator()", "S::operator()"),
        ("f(void (*)(int))", "f"),
        ("malloc", "malloc"),
    ],
)
def test_short_name(name: str, short: str) -> None:
    assert flame.short_name(name) == short


def test_read_collapsed_merges_lines_and_rejects_garbage(tmp_path: Path) -> None:
    p = tmp_path / "raw.txt"
    p.write_text("main (a.py:3);f (a.py:10) 4\nmain (a.py:3);f (a.py:12) 2\n 1\n")
    assert flame.read_collapsed(p) == {"main (a.py);f (a.py)": 6, "[no Python frame]": 1}
    assert len(flame.read_collapsed(p, strip_lines=False)) == 3
    p.write_text("main (a.py:3) x\n")
    with pytest.raises(flame.ProfileFormatError, match=r"raw.txt:1: expected"):
        flame.read_collapsed(p)


def test_top_functions_self_and_inclusive_with_recursion() -> None:
    stacks = {"a;b;a": 3, "a;b": 2, "a": 1}
    rows = {f: (s, i) for f, s, i in flame.top_functions(stacks)}
    assert rows == {"a": (4, 6), "b": (2, 5)}
    assert [r[0] for r in flame.top_self(stacks)] == ["a", "b"]
    md = flame.markdown_table(flame.top_functions(stacks), 6, "samples")
    assert "| `a` | 4 | 66.7 | 6 | 100.0 |" in md


def test_flame_svg_widths_and_escaping() -> None:
    svg = flame.flame_svg({"main;a<b>": 3, "main;c": 1}, "t&t", width=400)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "a&lt;b&gt;" in svg and "t&amp;t" in svg and "a<b>" not in svg
    assert 'width="300.0"' in svg and 'width="100.0"' in svg and 'width="400.0"' in svg
