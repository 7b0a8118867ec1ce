"""Command-line glue shared by the services: flags -> typed config, explicit flags only.

A flag left out stays absent from the namespace (argparse.SUPPRESS), so the environment
(MINIHFT_<FIELD>) and then the config's default decide it.
"""

from __future__ import annotations

import argparse
from typing import Any, TypeVar

from pydantic import ValidationError

from minihft.runtime.config import ServiceConfig

C = TypeVar("C", bound=ServiceConfig)


def common_arguments(p: argparse.ArgumentParser) -> None:
    s = argparse.SUPPRESS
    p.add_argument("--kafka-bootstrap", dest="kafka_bootstrap", default=s, help="HOST:PORT")
    p.add_argument("--run-id", dest="run_id", default=s, help="backtest run: topics bt.<id>.*")
    p.add_argument("--http-host", dest="http_host", default=s)
    p.add_argument("--http-port", dest="http_port", type=int, default=s, help="0 = any free")
    p.add_argument("--log-level", dest="log_level", default=s)
    p.add_argument("--instance", type=int, default=s)
    p.add_argument("--group", default=s, help="consumer group (default: service name)")


def make_config(cls: type[C], args: argparse.Namespace) -> C:
    given: dict[str, Any] = {k: v for k, v in vars(args).items() if k not in ("handler",)}
    try:
        return cls(**given)
    except ValidationError as exc:
        raise SystemExit(f"invalid configuration: {exc}") from None
