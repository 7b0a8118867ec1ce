"""`minihft replay FILE`: play an ITCH file (raw or .gz) onto a MoldUDP64 or SoupBinTCP socket.

MoldUDP64 sends to --host:--port (or --group:--port, multicast on the interface --host) and
answers retransmission requests on --rerequest-port until --linger seconds after the end.
SoupBinTCP listens on --host:--port and serves each client that logs in, until --serve-s
seconds pass or Ctrl-C. Prints one JSON line of counters when it ends.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from minihft.marketdata.live import MoldUdp64Replayer, SoupBinTcpReplayer, read_itch


def _speed(text: str) -> float:
    if text == "max":
        return 0.0
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--speed must be a number or 'max', got {text!r}"
        ) from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"--speed must be > 0 (or 'max'), got {text!r}")
    return v


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("replay", help="play an ITCH file onto a MoldUDP64 or SoupBinTCP socket")
    p.add_argument("file", type=Path, help="ITCH 5.0 file, 2-byte length framing, raw or .gz")
    p.add_argument("--proto", choices=("moldudp64", "soupbintcp"), required=True)
    p.add_argument("--speed", type=_speed, default=1.0, help="X times recorded pace, or max")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--group", default="", help="multicast group (MoldUDP64)")
    p.add_argument("--session", default="MINIHFT")
    p.add_argument("--rerequest-port", type=int, default=0, help="MoldUDP64 re-request port")
    p.add_argument("--history", type=int, default=1 << 20, help="retransmittable messages")
    p.add_argument("--linger", type=float, default=5.0, help="MoldUDP64: s to serve after end")
    p.add_argument("--user", default="", help="SoupBinTCP login username")
    p.add_argument("--password", default="", help="SoupBinTCP login password")
    p.add_argument("--serve-s", type=float, default=0.0, help="SoupBinTCP: stop after s (0: never)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        data = read_itch(path)
    except OSError as e:
        print(f"minihft replay: {path}: {e}", file=sys.stderr)
        return 2
    start = time.monotonic()
    try:
        if args.proto == "moldudp64":
            mold = MoldUdp64Replayer(
                data,
                args.port,
                host=args.host,
                group=args.group,
                session=args.session,
                speed=args.speed,
                rerequest_port=args.rerequest_port,
                history=args.history,
                linger_ms=int(args.linger * 1000),
                name=str(path),
            )
            print(
                f"replay: {mold.message_count} messages -> {args.group or args.host}:{args.port}, "
                f"retransmissions on {args.host}:{mold.rerequest_port}",
                file=sys.stderr,
            )
            with mold.start():
                while not mold.done:
                    time.sleep(0.05)
                counters = mold.counters()
        else:
            soup = SoupBinTcpReplayer(
                data,
                args.port,
                host=args.host,
                user=args.user,
                password=args.password,
                session=args.session,
                speed=args.speed,
                name=str(path),
            )
            with soup.start():
                print(f"replay: SoupBinTCP on {args.host}:{soup.port}", file=sys.stderr)
                while args.serve_s <= 0 or time.monotonic() - start < args.serve_s:
                    time.sleep(0.05)
                counters = soup.counters()
    except ValueError as e:
        print(f"minihft replay: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    out = {"replay": args.proto, "file": str(path), "seconds": round(time.monotonic() - start, 3)}
    print(json.dumps({**out, **counters}))
    return 0
