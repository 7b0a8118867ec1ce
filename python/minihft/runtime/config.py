"""One typed config object per service; environment variables MINIHFT_<FIELD> override defaults.

Command-line flags are passed as constructor arguments and win over the environment, so a
deployment's env sets the baseline and an operator's flag the exception.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from minihft.bus.topics import Topics


class ServiceConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINIHFT_", extra="forbid")

    kafka_bootstrap: str = "127.0.0.1:9092"
    run_id: str | None = Field(None, description="backtest run: topics bt.<run_id>.*")
    http_host: str = "127.0.0.1"
    http_port: int = Field(0, ge=0, le=65535, description="/metrics, /healthz, /readyz; 0 = any")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    instance: int = Field(0, ge=0, le=65535, description="replica number in hop stamps")
    group: str | None = Field(None, description="consumer group; default: the service name")
    poll_max: int = Field(512, ge=1, description="messages per poll")
    poll_timeout_s: float = Field(0.05, gt=0)
    broker_probe_s: float = Field(1.0, gt=0, description="broker reachability probe period")

    def topics(self) -> Topics:
        return Topics.for_run(self.run_id) if self.run_id else Topics()
