"""Many parent orders x strategies, in parallel processes; results.json, table and report.

A job is one parent order run with every strategy (they share the loaded day). Workers load
each file once (per-process cache). Results are ordered by job, never by completion, and hold
no wall-clock values, so the same inputs and seed give the same results.json bytes.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from minihft.analytics import compare
from minihft.analytics.report import ParentRun, write_report
from minihft.backtest.inprocess import (
    DEFAULT_CONFIG,
    DEFAULT_LIMITS,
    NS,
    MarketData,
    ParentRequest,
    RunResult,
    load_lobster,
    run_parent,
)
from minihft.backtest_core import BacktestConfig
from minihft.records import Side
from minihft.strategy.risk import RiskLimits

_CACHE: dict[str, MarketData] = {}


def cached(path: str) -> MarketData:
    if path not in _CACHE:
        _CACHE[path] = load_lobster(path)
    return _CACHE[path]


def parse_clock(text: str) -> int:
    """'10:00', '10:00:30' or '10:00:30.5' (time of day, the data's clock) -> ns after midnight."""
    parts = text.strip().split(":")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        h, m = int(parts[0]), int(parts[1])
        s = float(parts[2]) if len(parts) == 3 else 0.0
        if not (0 <= h < 24 and 0 <= m < 60 and 0 <= s < 60):
            raise ValueError
    except ValueError:
        raise ValueError(f"time {text!r}: expected HH:MM or HH:MM:SS[.f]") from None
    return (h * 3600 + m * 60) * NS + round(s * NS)


def fmt_clock(ns: int) -> str:
    s = ns // NS
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


@dataclass(frozen=True)
class Job:
    path: str
    request: ParentRequest
    strategies: tuple[str, ...]
    config: BacktestConfig
    limits: RiskLimits
    slices: int
    profile_path: str | None = None  # VWAP time-of-day profile from this file, if given


def run_job(job: Job) -> list[RunResult]:
    data = cached(job.path)
    prof = cached(job.profile_path) if job.profile_path else None
    out = []
    for s in job.strategies:
        r = run_parent(
            data, job.request, s, config=job.config, limits=job.limits, slices=job.slices,
            profile=prof,
        )  # fmt: skip
        out.append(r)
    return out


def windows(first_ns: int, last_end_ns: int, length_ns: int, step_ns: int) -> list[tuple[int, int]]:
    out = []
    t = first_ns
    while t + length_ns <= last_end_ns:
        out.append((t, t + length_ns))
        t += step_ns
    return out


def make_jobs(
    files: dict[str, str],
    spans: Sequence[tuple[int, int]],
    sides: Sequence[Side],
    sizes: Sequence[int],
    strategies: Sequence[str],
    *,
    config: BacktestConfig = DEFAULT_CONFIG,
    limits: RiskLimits = DEFAULT_LIMITS,
    slices: int = 10,
    profile_path: str | None = None,
) -> list[Job]:
    """files: symbol -> message file. Order: symbol, window, side, size."""
    jobs = []
    for sym, path in files.items():
        for start, end in spans:
            for side in sides:
                for qty in sizes:
                    req = ParentRequest(sym, side, qty, start, end)
                    jobs.append(
                        Job(path, req, tuple(strategies), config, limits, slices, profile_path)
                    )
    return jobs


class Progress:
    """A one-line progress bar on stderr (no dependency); silent when stderr is not a tty."""

    def __init__(self, total: int, what: str, enabled: bool | None = None) -> None:
        self.total, self.what, self.done = total, what, 0
        self.t0 = time.perf_counter()
        self.enabled = sys.stderr.isatty() if enabled is None else enabled

    def step(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        w = 30
        k = w * self.done // max(self.total, 1)
        el = time.perf_counter() - self.t0
        eta = el / self.done * (self.total - self.done) if self.done else 0.0
        sys.stderr.write(
            f"\r{self.what} [{'#' * k}{'.' * (w - k)}] {self.done}/{self.total} "
            f"{el:5.1f}s eta {eta:5.1f}s"
        )
        if self.done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def run_jobs(
    jobs: Sequence[Job], workers: int = 2, progress: bool | None = None
) -> list[RunResult]:
    bar = Progress(len(jobs), "parents", progress)
    out: list[list[RunResult]] = []
    if workers <= 1:
        for j in jobs:
            out.append(run_job(j))
            bar.step()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            # map keeps job order; chunks keep a worker on one file so its cache is reused.
            for res in pool.map(run_job, jobs, chunksize=max(1, len(jobs) // (4 * workers))):
                out.append(res)
                bar.step()
    return [r for rs in out for r in rs]


def summarize(results: Iterable[RunResult], baseline: str | None) -> dict[str, Any]:
    by: dict[str, list[Any]] = {}
    for r in results:
        by.setdefault(r.strategy, []).append(r.metrics)
    base = baseline if baseline in by else None
    return compare(by, baseline=base)


def write_outputs(
    out_dir: str | Path,
    results: Sequence[RunResult],
    meta: dict[str, Any],
    *,
    baseline: str | None = "naive",
    max_report_parents: int = 8,
) -> tuple[dict[str, Any], Path, Path]:
    """results.json (deterministic bytes) and report.html; returns (comparison, paths)."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    comparison = summarize(results, baseline)
    doc = {
        "meta": meta,
        "comparison": comparison,
        "runs": [r.to_dict() for r in results],
    }
    rj = d / "results.json"
    rj.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    runs = [
        ParentRun(r.strategy, r.parent, r.fills, r.metrics, cached_mids(r), r.schedule)
        for r in results
    ]
    rh = write_report(
        d / "report.html", runs, comparison=comparison, max_parents=max_report_parents
    )
    return comparison, rj, rh


def cached_mids(r: RunResult) -> Any:
    """The mid series around a run (for the report), from the per-process cache."""
    if not r.data_path:
        raise ValueError(f"run {r.parent.parent_id}/{r.strategy}: no data path recorded")
    m = cached(r.data_path).mids
    lo = r.parent.start_ns - 30 * NS
    hi = r.parent.end_ns + 60 * NS
    sel = (m.ts >= lo) & (m.ts <= hi)
    return type(m)(m.ts[sel], m.mid[sel])


def meta_for(
    jobs: Sequence[Job], config: BacktestConfig, limits: RiskLimits, seed: int
) -> dict[str, Any]:
    return {
        "files": sorted({Path(j.path).name for j in jobs}),
        "parents": len(jobs),
        "strategies": list(jobs[0].strategies) if jobs else [],
        "slices": jobs[0].slices if jobs else None,
        "vwap_profile": Path(jobs[0].profile_path).name if jobs and jobs[0].profile_path else None,
        "config": replace(config, seed=seed).as_dict(),
        "risk_limits": limits.as_dict(),
        "times": "ns after midnight of the data's day (LOBSTER: exchange local time)",
    }
