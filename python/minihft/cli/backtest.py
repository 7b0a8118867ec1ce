"""`minihft backtest` (one parent order, several strategies) and `minihft sweep` (many).

Times are the data's time of day (LOBSTER: seconds after midnight, exchange local time).
`minihft backtest --bus kafka --lockstep` runs each strategy through the real broker in
lock-step (services/backtest_orchestrator/kafka_backtest.py) and writes the same results.json
as the in-process run. A paced (not lock-step) Kafka backtest would not be reproducible, and a
Kafka sweep would only be slower than the in-process one: both are refused with a clear error.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from minihft.records import Side
from minihft.strategy.algos import ALGOS

if TYPE_CHECKING:
    from minihft.backtest.inprocess import RunResult
    from minihft.backtest.sweep import Job

DEFAULT_STRATEGIES = "twap,twap_aggr,vwap,pov,naive"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("backtest", help="execute one parent order with several algorithms")
    _common(p)
    p.add_argument("--symbol", required=True, help="symbol, e.g. GOOG (picks the --data file)")
    p.add_argument("--side", choices=["buy", "sell"], required=True)
    p.add_argument("--qty", type=int, required=True)
    p.add_argument("--start", required=True, help="HH:MM[:SS] of the data's day")
    p.add_argument("--end", required=True, help="HH:MM[:SS]")
    p.add_argument("--limit", type=float, default=None, help="limit price in dollars")
    p.add_argument("--kafka-bootstrap", default="127.0.0.1:9092", help="(kafka bus) broker")
    p.add_argument("--run-id", default=None, help="(kafka bus) topic prefix bt.<run-id>-...")
    p.add_argument("--keep-topics", action="store_true", help="(kafka bus) keep the run's topics")
    p.set_defaults(handler=run_backtest)

    s = sub.add_parser("sweep", help="many parent orders (rolling windows, sides, sizes, symbols)")
    _common(s)
    s.add_argument("--symbols", default="GOOG,AMZN", help="comma list; each needs a --data file")
    s.add_argument("--from", dest="first", default="10:00", help="first window start")
    s.add_argument("--to", dest="last", default="15:30", help="last window end")
    s.add_argument("--window", type=float, default=30.0, help="window length, minutes")
    s.add_argument("--step", type=float, default=30.0, help="window start step, minutes")
    s.add_argument("--sizes", default="1000,5000", help="comma list of parent quantities")
    s.add_argument("--sides", default="buy,sell")
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--report-parents", type=int, default=8, help="parents plotted in the report")
    s.set_defaults(handler=run_sweep)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data", required=True, nargs="+", help="LOBSTER *_message_<L>.csv[.gz] files "
        "(the matching *_orderbook_<L> file must sit next to each)",
    )  # fmt: skip
    p.add_argument("--strategy", default=DEFAULT_STRATEGIES, help=f"comma list of {ALGOS}")
    p.add_argument("--slices", type=int, default=10, help="slices of TWAP/VWAP")
    p.add_argument(
        "--vwap-profile", default=None, metavar="FILE",
        help="VWAP volume profile from this LOBSTER message file's prints at the same time of "
        "day (another day; default: the window before start, see docs/backtest.md)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="latency jitter seed")
    p.add_argument("--bus", choices=["inproc", "kafka"], default="inproc")
    p.add_argument("--lockstep", action="store_true", help="(kafka bus) lock-step replay")
    p.add_argument("--out", required=True, help="output directory")


def _strategies(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    bad = [n for n in names if n not in ALGOS]
    if bad or not names:
        raise ValueError(f"--strategy: unknown {bad or text!r}; choose from {', '.join(ALGOS)}")
    return names


def _files(paths: list[str], symbols: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for sym in symbols:
        hits = [p for p in paths if Path(p).name.split("_")[0] == sym]
        if not hits:
            raise ValueError(f"--data: no file for symbol {sym} among {paths}")
        for p in hits:
            if not Path(p).is_file():
                raise ValueError(f"--data: {p}: no such file")
        out[sym] = sorted(hits)[-1]
    return out


def _profile(path: str | None) -> str | None:
    if path is not None and not Path(path).is_file():
        raise ValueError(f"--vwap-profile: {path}: no such file")
    return path


def _kafka_refused(args: argparse.Namespace) -> bool:
    if args.bus != "kafka":
        if args.lockstep:
            print(f"minihft {args.command}: --lockstep needs --bus kafka", file=sys.stderr)
            return True
        return False
    if args.command == "sweep":
        why = "sweeps run in-process (--bus inproc); `minihft backtest --bus kafka --lockstep` " \
            "replays one parent order through the broker"  # fmt: skip
    elif not args.lockstep:
        why = "a backtest through Kafka must be --lockstep (paced replay is not reproducible)"
    else:
        return False
    print(f"minihft {args.command}: {why}", file=sys.stderr)
    return True


def run_backtest(args: argparse.Namespace) -> int:
    from minihft.backtest import inprocess, sweep

    if _kafka_refused(args):
        return 2
    try:
        strategies = _strategies(args.strategy)
        files = _files(args.data, [args.symbol])
        start, end = sweep.parse_clock(args.start), sweep.parse_clock(args.end)
        if args.qty <= 0:
            raise ValueError(f"--qty must be > 0, got {args.qty}")
        limit = None if args.limit is None else round(args.limit * 10_000)
        side = Side.BUY if args.side == "buy" else Side.SELL
        req = inprocess.ParentRequest(args.symbol, side, args.qty, start, end, limit)
        config = replace(inprocess.DEFAULT_CONFIG, seed=args.seed)
        job = sweep.Job(
            files[args.symbol], req, tuple(strategies), config, inprocess.DEFAULT_LIMITS,
            args.slices, _profile(args.vwap_profile),
        )  # fmt: skip
        t0 = time.perf_counter()
        results = _run_kafka(args, job) if args.bus == "kafka" else sweep.run_job(job)
    except ValueError as e:
        print(f"minihft backtest: {e}", file=sys.stderr)
        return 2
    el = time.perf_counter() - t0
    meta = sweep.meta_for([job], config, inprocess.DEFAULT_LIMITS, args.seed)
    # One parent: no paired bootstrap (a CI over one order means nothing).
    comparison, rj, rh = sweep.write_outputs(args.out, results, meta, baseline=None)
    from minihft.analytics import format_table

    print(format_table(comparison))
    for r in results:
        st = r.status
        print(
            f"  {r.strategy:<10} {st['state']:<10} filled {st['filled']}/{st['qty']} {st['reason']}"
        )
    print(f"backtest {el:.2f}s; results: {rj}\nreport: {rh}")
    return 0


def _run_kafka(args: argparse.Namespace, job: Job) -> list[RunResult]:
    import os

    from minihft.services.backtest_orchestrator import kafka_backtest

    run_id = args.run_id or f"bt{os.getpid()}-{int(time.time())}"
    runner = kafka_backtest.LockstepRunner(
        args.kafka_bootstrap, run_id, log_dir=Path(args.out) / "logs", keep_topics=args.keep_topics
    )
    print(f"lock-step through Kafka at {args.kafka_bootstrap}, topics bt.{run_id}-*", flush=True)
    return kafka_backtest.run_job_kafka(job, runner)


def run_sweep(args: argparse.Namespace) -> int:
    from minihft.backtest import inprocess, sweep

    if _kafka_refused(args):
        return 2
    try:
        strategies = _strategies(args.strategy)
        symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
        files = _files(args.data, symbols)
        first, last = sweep.parse_clock(args.first), sweep.parse_clock(args.last)
        spans = sweep.windows(
            first,
            last,
            round(args.window * 60 * inprocess.NS),
            round(args.step * 60 * inprocess.NS),
        )
        if not spans:
            raise ValueError(f"no {args.window}-minute window fits in {args.first}-{args.last}")
        sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
        sides = [Side.BUY if s.strip() == "buy" else Side.SELL for s in args.sides.split(",")]
        profile = _profile(args.vwap_profile)
    except ValueError as e:
        print(f"minihft sweep: {e}", file=sys.stderr)
        return 2
    return sweep_main(
        files, spans, sides, sizes, strategies, args.out, seed=args.seed, slices=args.slices,
        workers=args.workers, report_parents=args.report_parents, profile_path=profile,
    )  # fmt: skip


def sweep_main(
    files: dict[str, str],
    spans: list[tuple[int, int]],
    sides: list[Side],
    sizes: list[int],
    strategies: list[str],
    out: str,
    *,
    seed: int = 0,
    slices: int = 10,
    workers: int = 2,
    report_parents: int = 8,
    profile_path: str | None = None,
) -> int:
    from minihft.analytics import format_table
    from minihft.backtest import inprocess, sweep

    config = replace(inprocess.DEFAULT_CONFIG, seed=seed)
    jobs = sweep.make_jobs(
        files, spans, sides, sizes, strategies, config=config, slices=slices,
        profile_path=profile_path,
    )  # fmt: skip
    print(
        f"sweep: {len(jobs)} parent orders x {len(strategies)} strategies "
        f"({', '.join(files)}; {len(spans)} windows {sweep.fmt_clock(spans[0][0])}-"
        f"{sweep.fmt_clock(spans[-1][1])}; sizes {sizes}; {workers} workers)",
        flush=True,
    )
    t0 = time.perf_counter()
    try:
        results = sweep.run_jobs(jobs, workers)
    except ValueError as e:
        print(f"minihft sweep: {e}", file=sys.stderr)
        return 2
    el = time.perf_counter() - t0
    meta = sweep.meta_for(jobs, config, inprocess.DEFAULT_LIMITS, seed)
    t1 = time.perf_counter()
    print(f"writing results.json and report.html ({report_parents} parents plotted)...", flush=True)
    comparison, rj, rh = sweep.write_outputs(out, results, meta, max_report_parents=report_parents)
    incomplete = sum(r.status["state"] != "complete" for r in results)
    print(format_table(comparison))
    print(
        f"{len(results)} runs in {el:.1f}s ({len(results) / el:.1f} runs/s), "
        f"{incomplete} incomplete (see status in results.json); "
        f"outputs in {time.perf_counter() - t1:.1f}s"
    )
    print(f"results: {rj}\nreport: {rh}")
    return 0
