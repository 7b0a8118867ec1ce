"""Shared service runtime: config, clock, logging, metrics, HTTP probes and the service loop.

Every Python service imports this package; no service imports another service.
"""

from minihft.runtime.clock import Clock, ManualClock, WallClock
from minihft.runtime.config import ServiceConfig
from minihft.runtime.log import get_logger
from minihft.runtime.metrics import ServiceMetrics
from minihft.runtime.service import Service

__all__ = [
    "Clock",
    "ManualClock",
    "Service",
    "ServiceConfig",
    "ServiceMetrics",
    "WallClock",
    "get_logger",
]
