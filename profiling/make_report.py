"""Index report.md of one `make profile` run directory; the hand-written findings.md beside it
(kept across re-runs) is linked at the top and inlined at the end."""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path


def _read(p: Path) -> str:
    return p.read_text(encoding="utf-8") if p.exists() else f"({p.name} missing)\n"


def build(out: Path, rev: str) -> str:
    cpp_in = (
        json.loads(_read(out / "cpp_inputs.json")) if (out / "cpp_inputs.json").exists() else {}
    )
    run = (
        json.loads(_read(out / "pipeline_run.json")) if (out / "pipeline_run.json").exists() else {}
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    parts = [
        f"# Profile {out.name} (core and services @ {rev})",
        "",
        "Produced by `make profile` (profiling/profile.sh). Findings and what changed because of "
        "them: [findings.md](findings.md) (also inlined at the end).",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average at report time "
        f"{load} (a shared box: wall-clock figures below carry that contention; callgrind "
        "instruction counts do not).",
        "",
        "## C++ core under callgrind (instructions, Ir)",
        "",
        "`profiling/profile_driver.cpp` built -O3 -g from the committed core headers; "
        "collection toggled on inside `run_book` / `run_match` only (file reading excluded). "
        "Inlined code shows as `[inlined <header>]` frames under the function it was inlined into.",
        "",
        f"Inputs: {json.dumps(cpp_in)}",
        "",
        "### Book building: real LOBSTER events through BookBuilder::apply",
        "",
        "Flame graph: [cpp_book.svg](cpp_book.svg); collapsed stacks: cpp_book.collapsed.txt",
        "",
        _read(out / "cpp_book.md"),
        "### Matching: `minihft bench match` stream through MatchingEngine::process",
        "",
        "Flame graph: [cpp_match.svg](cpp_match.svg); collapsed stacks: cpp_match.collapsed.txt",
        "",
        _read(out / "cpp_match.md"),
        "## Python services under py-spy (real sample through the real broker and lob_engine)",
        "",
        f"Run: {json.dumps(run)}",
        "",
        "### feed_handler",
        "",
        "Flame graph: [py_feed_handler.svg](py_feed_handler.svg); raw: feed_handler.pyspy.txt",
        "",
        _read(out / "py_feed_handler.md"),
        "### strategy_runner",
        "",
        "Flame graph: [py_strategy_runner.svg](py_strategy_runner.svg); raw: "
        "strategy_runner.pyspy.txt",
        "",
        _read(out / "py_strategy_runner.md"),
        "## Per-hop latency (hop stamps, CLOCK_REALTIME, same host)",
        "",
        _read(out / "hop_latency.md"),
        "## Findings",
        "",
        _read(out / "findings.md"),
    ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("out", type=Path)
    p.add_argument("--rev", default="?")
    a = p.parse_args(argv)
    (a.out / "report.md").write_text(build(a.out, a.rev), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
