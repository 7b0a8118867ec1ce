"""The strategy_runner's HTTP face: control API (FastAPI), status page, /metrics and probes.

Served by uvicorn in a daemon thread on the port the plain probe server used, so Prometheus,
compose and the probes see no change. Every state-changing endpoint needs
`Authorization: Bearer $MINIHFT_CONTROL_TOKEN`; with no token configured they answer 503
rather than run open. Reads (runs, status page, metrics, probes) need none.
"""

from __future__ import annotations

import hmac
import socket
import threading
from collections.abc import Callable
from typing import Annotated, Any, Literal

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from minihft.bus.kafka import KafkaBus
from minihft.records import Side
from minihft.runtime import Service
from minihft.services.strategy_runner.runs import (
    Run,
    RunError,
    RunRegistry,
    RunSpec,
    strategy_names,
)
from minihft.services.strategy_runner.status_page import render_status
from minihft.strategy.risk import RiskLimits
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

I64 = 2**63 - 1
U32 = 2**32 - 1
Flush = Callable[[], None]
# Module level: annotations are strings here, resolved against the module's globals.
bearer = HTTPBearer(auto_error=False)


# ---- request / response models --------------------------------------------------------------
class RiskLimitsModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_order_qty: int | None = Field(None, gt=0, le=I64)
    max_position: int | None = Field(None, gt=0, le=I64)
    collar_bps: float | None = Field(None, gt=0, le=1e6, allow_inf_nan=False)
    max_msgs_per_s: int | None = Field(None, gt=0, le=10**9)


class CreateRun(BaseModel):
    """A parent order for an execution algorithm, or a built-in strategy (qty 0)."""

    model_config = ConfigDict(extra="forbid")
    strategy: str = Field(description="a name from GET /strategies")
    symbol_id: int = Field(0, ge=0, le=U32)
    side: Literal["buy", "sell"] = "buy"
    qty: int = Field(0, ge=0, le=10**12, description="parent quantity; 0 for built-ins")
    start_ns: int = Field(0, ge=0, le=I64)
    end_ns: int = Field(0, ge=0, le=I64)
    limit_price: int | None = Field(None, gt=0, le=I64, description="price units (x 10,000)")
    params: dict[str, float | int | bool | list[float]] = Field(default_factory=dict)
    risk: RiskLimitsModel = Field(default_factory=lambda: RiskLimitsModel.model_validate({}))

    @field_validator("strategy")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in strategy_names():
            raise ValueError(f"unknown strategy {v!r}; known: {', '.join(strategy_names())}")
        return v

    @field_validator("end_ns")
    @classmethod
    def _after_start(cls, v: int, info: ValidationInfo) -> int:
        start = info.data.get("start_ns")
        if start is not None and (v or start) and v <= start:
            raise ValueError(f"end_ns ({v}) must be after start_ns ({start})")
        return v


class FillView(BaseModel):
    ts: int
    order_id: int
    side: str
    price: int
    qty: int


class RunMetrics(BaseModel):
    orders_sent: int
    fills: int
    filled_qty: int
    target_qty: int
    progress: float
    avg_price: float | None
    arrival_mid: float | None
    implementation_shortfall_bps: float | None
    position: int
    realized_pnl: float
    unrealized_pnl: float
    open_orders: int


class RunView(BaseModel):
    id: str
    strategy: str
    state: str
    error: str
    symbol_id: int
    side: str
    qty: int
    start_ns: int
    end_ns: int
    limit_price: int | None
    params: dict[str, Any]
    created_ns: int
    metrics: RunMetrics
    risk_rejects: dict[str, int]
    fills: list[FillView]


class KillSwitchView(BaseModel):
    engaged: bool
    cancelled_order_ids: list[int] = Field(default_factory=list)


class Problem(BaseModel):
    detail: str


def run_view(run: Run) -> RunView:
    s = run.spec
    return RunView(
        id=run.id, strategy=s.strategy, state=run.state.value, error=run.error,
        symbol_id=s.symbol_id, side="buy" if s.side == Side.BUY else "sell", qty=s.qty,
        start_ns=s.start_ns, end_ns=s.end_ns, limit_price=s.limit_price, params=s.params,
        created_ns=run.created_ns, metrics=RunMetrics(**run.metrics()),
        risk_rejects=dict(sorted(run.risk.rejects.items())),
        fills=[FillView(**vars(f)) for f in run.fills[-50:]],
    )  # fmt: skip


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "missing or wrong bearer token"},
    503: {"model": Problem, "description": "control token not configured"},
}


# ---- the app ---------------------------------------------------------------------------------
def create_app(svc: Service, registry: RunRegistry, flush: Flush, token: str | None) -> FastAPI:
    """flush(): publishes whatever commands the registry queued (caller holds registry.lock)."""
    # No /docs or /redoc: their pages load scripts from a CDN, and the stack runs offline.
    app = FastAPI(
        title="minihft strategy_runner control API", version="1", docs_url=None, redoc_url=None
    )

    def authorized(
        cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if not token:
            raise HTTPException(503, "control token not configured (MINIHFT_CONTROL_TOKEN)")
        given = cred.credentials if cred is not None else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(
                401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
            )

    Auth = Depends(authorized)

    @app.exception_handler(RunError)
    def _run_error(request: Request, exc: RunError) -> JSONResponse:
        if exc.status == 422:  # the shape FastAPI's own validation errors have
            loc = ["body", exc.field] if exc.field else ["body"]
            body: Any = {"detail": [{"loc": loc, "msg": str(exc), "type": "value_error"}]}
        else:
            body = {"detail": str(exc)}
        return JSONResponse(body, status_code=exc.status)

    def probe(result: tuple[bool, dict[str, object]]) -> JSONResponse:
        ok, detail = result
        return JSONResponse({"status": "ok" if ok else "unavailable", **detail}, 200 if ok else 503)

    @app.get("/metrics", response_class=PlainTextResponse, tags=["probes"])
    def metrics() -> PlainTextResponse:
        with registry.lock:
            registry.publish_metrics()
        return PlainTextResponse(svc.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    probe_responses: dict[int | str, dict[str, Any]] = {503: {"description": "not ok"}}

    @app.get("/healthz", tags=["probes"], responses=probe_responses)
    def healthz() -> JSONResponse:
        return probe(svc._health())

    @app.get("/readyz", tags=["probes"], responses=probe_responses)
    def readyz() -> JSONResponse:
        return probe(svc._readiness())

    @app.get("/strategies", tags=["runs"])
    def strategies() -> list[str]:
        return strategy_names()

    @app.get("/runs", tags=["runs"])
    def list_runs() -> list[RunView]:
        with registry.lock:
            return [run_view(r) for r in registry.runs.values()]

    @app.post(
        "/runs", status_code=201, tags=["runs"], dependencies=[Auth],
        responses={
            **ERRORS, 400: {"model": Problem, "description": "body is not JSON"},
            409: {"model": Problem, "description": "too many runs"},
        },
    )  # fmt: skip
    def create_run(req: CreateRun) -> RunView:
        lim = req.risk
        spec = RunSpec(
            req.strategy, req.symbol_id, Side.BUY if req.side == "buy" else Side.SELL, req.qty,
            req.start_ns, req.end_ns, req.limit_price, dict(req.params),
            RiskLimits(lim.max_order_qty, lim.max_position, lim.collar_bps, lim.max_msgs_per_s),
        )  # fmt: skip
        with registry.lock:
            run = registry.create(spec)
            flush()
            return run_view(run)

    not_found: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "no run"}}

    @app.get("/runs/{run_id}", tags=["runs"], responses=not_found)
    def get_run(run_id: str) -> RunView:
        with registry.lock:
            return run_view(registry.get(run_id))

    def action(name: str) -> Callable[[str], RunView]:
        def act(run_id: str) -> RunView:
            with registry.lock:
                run = registry.act(run_id, name)
                flush()
                return run_view(run)

        act.__name__ = f"{name}_run"
        return act

    conflict: dict[int | str, dict[str, Any]] = {
        409: {"model": Problem, "description": "not allowed in the run's state"}
    }
    for name in ("pause", "resume", "stop"):
        app.post(
            f"/runs/{{run_id}}/{name}", tags=["runs"], dependencies=[Auth],
            responses={**ERRORS, **not_found, **conflict}, summary=f"{name} a run",
        )(action(name))  # fmt: skip

    @app.get("/kill-switch", tags=["kill switch"])
    def kill_state() -> KillSwitchView:
        return KillSwitchView(engaged=registry.killed)

    @app.post("/kill-switch", tags=["kill switch"], dependencies=[Auth], responses=ERRORS)
    def kill() -> KillSwitchView:
        """Cancels every open order of every run; new orders are refused until reset."""
        with registry.lock:
            ids = registry.kill()
            flush()
            return KillSwitchView(engaged=True, cancelled_order_ids=ids)

    @app.post("/kill-switch/reset", tags=["kill switch"], dependencies=[Auth], responses=ERRORS)
    def reset() -> KillSwitchView:
        with registry.lock:
            registry.reset_kill()
            return KillSwitchView(engaged=False)

    @app.get("/status", response_class=HTMLResponse, tags=["status"])
    def status() -> HTMLResponse:
        with registry.lock:
            views = [run_view(r) for r in registry.runs.values()]
            killed = registry.killed
        return HTMLResponse(render_status(svc.name, views, killed))

    return app


# ---- serving -------------------------------------------------------------------------------
class ApiServer:
    """uvicorn on a socket bound here, so the port is known (and a clash fails) at once."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(128)
        cfg = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(cfg)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5.0)
        self._sock.close()


class ApiService(Service):
    """A Service whose HTTP endpoint is the control API instead of the plain probe server."""

    app: FastAPI | None = None
    _api: ApiServer | None = None

    def start(self) -> None:
        # Service.start() minus its probe server (this app serves the probes); a constructor
        # hook in Service for the HTTP server would remove this copy.
        assert self.app is not None, "set .app before start()"
        self._api = ApiServer(self.app, self.config.http_host, self.config.http_port)
        self._api.start()
        if threading.current_thread() is threading.main_thread():
            self.install_signal_handlers()
        if isinstance(self.bus, KafkaBus):
            threading.Thread(target=self._probe_broker, daemon=True).start()
        self.metrics.up.set(1)
        self.log.info(
            "started",
            extra={"fields": {"http_port": self._api.port, "topics_prefix": self.topics.prefix}},
        )

    @property
    def http_port(self) -> int:
        return self._api.port if self._api else 0

    def close(self) -> None:
        if self._api is not None:
            self._api.stop()
        super().close()
