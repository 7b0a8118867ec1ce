"""strategy_runner control API on InProcBus: auth, validation, run lifecycle, kill switch,
per-run metrics and accounting. Orders are read back from the orders topic, as the venue would."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from minihft import codec
from minihft.bus import InProcBus, Topics
from minihft.bus.base import Message
from minihft.records import CommandType, ExecType, Side
from minihft.runtime import ManualClock
from minihft.services.strategy_runner.app import Runner, StrategyRunnerConfig
from minihft.services.strategy_runner.control_api import ApiService, create_app
from minihft.services.strategy_runner.runs import Run, RunSpec
from minihft.strategy import LoggingStrategy, StrategyContext
from minihft.strategy.risk import RiskChecker

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
T0 = 1_000_000_000_000
SYM = 7
BID, ASK = 1_000_000, 1_000_200  # $100.00 / $100.02


@dataclass
class Rig:
    client: TestClient
    runner: Runner
    bus: InProcBus
    topics: Topics
    clock: ManualClock
    seen: int = 0

    def book(self, bid: int = BID, ask: int = ASK) -> None:
        u = np.zeros(1, codec.BOOK_UPDATE)
        u["bids"][0, 0] = (bid, 500, 1, 0)
        u["asks"][0, 0] = (ask, 500, 1, 0)
        value = codec.encode(codec.MD_BOOK, u, symbol_id=SYM, batch_seq=0)
        self.runner.handle(Message(self.topics.md_book, 0, 0, b"7", value, 0))

    def reports(self, rows: list[tuple[int, int, int, int, int, int]]) -> None:
        """rows: (order_id, type, side, price, qty, leaves)."""
        r = np.zeros(len(rows), codec.EXEC_REPORTS.dtype)
        for i, (oid, typ, side, px, qty, leaves) in enumerate(rows):
            r[i] = (self.clock.now_ns(), oid, 0, px, qty, leaves, 1, SYM, typ, side, 0, 0)
        value = codec.encode(codec.EXEC_REPORTS, r, symbol_id=SYM, batch_seq=0)
        self.runner.handle(Message(self.topics.exec_reports, 0, 0, b"7", value, 0))

    def new_commands(self) -> Any:
        """Order commands published since the last call, as one array."""
        msgs = self.bus.subscribe([self.topics.orders], f"g{self.seen}").poll(10_000)
        parts = [codec.decode(m.value, codec.ORDERS).records for m in msgs]
        cmds = np.concatenate(parts) if parts else np.zeros(0, codec.ORDERS.dtype)
        out = cmds[self.seen :]
        self.seen = len(cmds)
        return out

    def create(self, **kw: Any) -> dict[str, Any]:
        body = {
            "strategy": "twap", "symbol_id": SYM, "side": "buy", "qty": 1000,
            "start_ns": T0, "end_ns": T0 + 60_000_000_000, "params": {"slices": 4},
        } | kw  # fmt: skip
        r = self.client.post("/runs", json=body, headers=AUTH)
        assert r.status_code == 201, r.text
        return dict(r.json())


def make_rig(token: str | None = TOKEN) -> Rig:
    bus = InProcBus()
    topics = Topics.for_run("u1")
    bus.create_topics(topics.all(), 1)
    clock = ManualClock(T0)
    cfg = StrategyRunnerConfig(http_port=0, run_id="u1", strategy="logging", control_token=None)
    svc = ApiService("strategy_runner", cfg, bus=bus, clock=clock)
    runner = Runner(svc, LoggingStrategy(), account=1)
    app = create_app(svc, runner.registry, runner.flush, token)
    return Rig(TestClient(app), runner, bus, topics, clock)


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = make_rig()
    yield r
    r.client.close()


# ---- auth --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "method,path",
    [("post", "/runs"), ("post", "/runs/main/pause"), ("post", "/runs/main/stop"),
     ("post", "/kill-switch"), ("post", "/kill-switch/reset")],
)  # fmt: skip
def test_state_changes_need_the_token(rig: Rig, method: str, path: str) -> None:
    body = {"strategy": "logging"}
    assert getattr(rig.client, method)(path, json=body).status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert getattr(rig.client, method)(path, json=body, headers=bad).status_code == 401
    assert rig.client.get("/runs/main").json()["state"] == "running"
    assert rig.client.get("/kill-switch").json() == {"engaged": False, "cancelled_order_ids": []}


def test_without_a_configured_token_state_changes_are_refused_not_open() -> None:
    rig = make_rig(token=None)
    r = rig.client.post("/kill-switch", headers=AUTH)
    assert r.status_code == 503 and "control token not configured" in r.json()["detail"]
    assert rig.client.post("/runs", json={"strategy": "logging"}).status_code == 503
    assert rig.client.get("/runs").status_code == 200  # reads stay open
    assert not rig.runner.registry.killed


def test_probes_metrics_and_openapi_on_the_same_app(rig: Rig) -> None:
    assert rig.client.get("/healthz").json()["status"] == "ok"
    assert rig.client.get("/readyz").status_code == 200
    assert "minihft_strategy_runner_up_bool" in rig.client.get("/metrics").text
    spec = rig.client.get("/openapi.json").json()
    assert {"/runs", "/runs/{run_id}/pause", "/kill-switch"} <= set(spec["paths"])


# ---- validation names the field ------------------------------------------------------------
@pytest.mark.parametrize(
    "change,field",
    [({"end_ns": T0}, "end_ns"), ({"end_ns": T0 - 1}, "end_ns"),
     ({"strategy": "nope"}, "strategy"), ({"qty": -5}, "qty"), ({"side": "up"}, "side"),
     ({"params": {"slices": 0}}, "params"), ({"params": {"bogus": 1}}, "params"),
     ({"qty": 0}, "qty"), ({"risk": {"max_position": 0}}, "max_position"),
     ({"extra": 1}, "extra")],
)  # fmt: skip
def test_invalid_requests_get_422_naming_the_field(
    rig: Rig, change: dict[str, Any], field: str
) -> None:
    body = {"strategy": "twap", "symbol_id": SYM, "qty": 100, "start_ns": T0,
            "end_ns": T0 + 10**9} | change  # fmt: skip
    r = rig.client.post("/runs", json=body, headers=AUTH)
    assert r.status_code == 422, r.text
    locs = [d["loc"] for d in r.json()["detail"]]
    assert any(field in loc for loc in locs), locs
    assert len(rig.runner.registry.runs) == 1  # only main


def test_unknown_run_is_404_and_bad_transition_409(rig: Rig) -> None:
    assert rig.client.get("/runs/zzz").status_code == 404
    assert rig.client.post("/runs/zzz/pause", headers=AUTH).status_code == 404
    assert rig.client.post("/runs/main/resume", headers=AUTH).status_code == 409


# ---- lifecycle -------------------------------------------------------------------------------
def test_lifecycle_create_pause_resume_stop(rig: Rig) -> None:
    rig.book()
    run = rig.create()
    rid = run["id"]
    assert run["state"] == "running" and run["metrics"]["arrival_mid"] == (BID + ASK) / 2
    sent = rig.new_commands()
    assert sent["type"].tolist() == [int(CommandType.SUBMIT_ORDER)]  # passive child at the bid
    child = int(sent[0]["order_id"])
    assert int(sent[0]["price"]) == BID and int(sent[0]["qty"]) == 250

    assert rig.client.post(f"/runs/{rid}/pause", headers=AUTH).json()["state"] == "paused"
    assert rig.client.post(f"/runs/{rid}/pause", headers=AUTH).status_code == 409
    # Paused: the fill is booked at once but the strategy only sees it on resume.
    rig.reports([(child, int(ExecType.ORDER_FILLED), int(Side.BUY), BID, 250, 0)])
    rig.book(BID + 100, ASK + 100)
    assert len(rig.new_commands()) == 0
    view = rig.client.get(f"/runs/{rid}").json()
    assert view["metrics"]["filled_qty"] == 250 and view["metrics"]["position"] == 250
    assert view["fills"][0]["order_id"] == child

    rig.clock.advance(16_000_000_000)  # into the 2nd of 4 slices: target 500
    rig.runner.on_idle()  # timers of a paused run wait
    assert len(rig.new_commands()) == 0
    assert rig.client.post(f"/runs/{rid}/resume", headers=AUTH).json()["state"] == "running"
    sent = rig.new_commands()
    # The fill made while paused is known before the next child is sized: 500 - 250.
    assert sent["type"].tolist() == [int(CommandType.SUBMIT_ORDER)]
    assert int(sent[0]["qty"]) == 250
    second = int(sent[0]["order_id"])

    r = rig.client.post(f"/runs/{rid}/stop", headers=AUTH)
    assert r.json()["state"] == "stopped"
    sent = rig.new_commands()
    assert sent["type"].tolist() == [int(CommandType.CANCEL_ORDER)]  # once, not twice
    assert sent["order_id"].tolist() == [second]
    assert rig.client.post(f"/runs/{rid}/resume", headers=AUTH).status_code == 409


def test_a_strategy_that_raises_fails_its_run_only(rig: Rig) -> None:
    rig.book()
    rid = rig.create()["id"]
    run = rig.runner.registry.get(rid)

    def boom(*a: Any) -> None:
        raise RuntimeError("bad strategy")

    run.strategy.on_book = boom  # type: ignore[method-assign]
    rig.book(BID - 100, ASK)
    view = rig.client.get(f"/runs/{rid}").json()
    assert view["state"] == "failed" and "bad strategy" in view["error"]
    assert rig.client.get("/runs/main").json()["state"] == "running"
    # Its child was pulled.
    assert rig.new_commands()["type"].tolist()[-1] == int(CommandType.CANCEL_ORDER)


# ---- kill switch --------------------------------------------------------------------------
def test_kill_switch_cancels_every_open_order_and_blocks_new_ones(rig: Rig) -> None:
    rig.book()
    a = rig.create()["id"]
    b = rig.create(side="sell", qty=300)["id"]
    sent = rig.new_commands()
    assert len(sent) == 2 and set(sent["type"].tolist()) == {int(CommandType.SUBMIT_ORDER)}
    open_ids = set(sent["order_id"].tolist())

    r = rig.client.post("/kill-switch", headers=AUTH)
    assert r.status_code == 200 and r.json()["engaged"]
    assert set(r.json()["cancelled_order_ids"]) == open_ids
    cancels = rig.new_commands()
    assert set(cancels["type"].tolist()) == {int(CommandType.CANCEL_ORDER)}
    assert sorted(cancels["order_id"].tolist()) == sorted(open_ids)

    # The venue confirms; the algos want new children but the switch holds.
    rig.reports([(o, int(ExecType.ORDER_CANCELLED), 0, 0, 0, 0) for o in open_ids])
    rig.book(BID + 100, ASK + 100)
    rig.create(qty=50)  # a run created while killed is blocked too
    assert len(rig.new_commands()) == 0
    for rid in (a, b):
        assert rig.client.get(f"/runs/{rid}").json()["risk_rejects"]["kill_switch"] >= 1
    assert "KILL SWITCH ENGAGED" in rig.client.get("/status").text
    metrics = rig.client.get("/metrics").text
    assert "minihft_strategy_runner_kill_switch_bool 1.0" in metrics
    rejects = "minihft_strategy_runner_run_risk_rejects_total"
    assert _sample(metrics, rejects, run=a, strategy="twap", check="kill_switch") >= 1

    assert rig.client.post("/kill-switch/reset", headers=AUTH).json() == {
        "engaged": False, "cancelled_order_ids": [],
    }  # fmt: skip
    rig.book(BID, ASK)
    assert int(CommandType.SUBMIT_ORDER) in rig.new_commands()["type"].tolist()


# ---- metrics and accounting -----------------------------------------------------------------
def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} {labels} not in /metrics")


def test_per_run_metrics_carry_the_run_label(rig: Rig) -> None:
    rig.book()
    rid = rig.create(params={"slices": 2})["id"]
    child = int(rig.new_commands()[0]["order_id"])
    rig.reports([(child, int(ExecType.ORDER_FILLED), int(Side.BUY), ASK, 200, 300)])
    text = rig.client.get("/metrics").text
    lab = {"run": rid, "strategy": "twap"}
    assert _sample(text, "minihft_strategy_runner_run_position_shares", **lab) == 200
    assert _sample(text, "minihft_strategy_runner_run_filled_shares", **lab) == 200
    assert _sample(text, "minihft_strategy_runner_run_target_shares", **lab) == 1000
    assert _sample(text, "minihft_strategy_runner_run_progress_ratio", **lab) == 0.2
    assert _sample(text, "minihft_strategy_runner_run_fills_total", **lab) == 1
    assert _sample(text, "minihft_strategy_runner_run_orders_sent_total", **lab) == 1
    # Bought at the ask, arrival mid 1 tick below: +1 bp of shortfall (1e4 * 100 / 1_000_100).
    is_bps = _sample(text, "minihft_strategy_runner_run_implementation_shortfall_bps", **lab)
    assert is_bps == pytest.approx(1e4 * 100 / ((BID + ASK) / 2))
    # 200 shares marked at the mid, bought 100 price units ($0.01) above it: -$2.00.
    assert _sample(text, "minihft_strategy_runner_run_unrealized_pnl_dollars", **lab) == -2.0
    assert _sample(text, "minihft_strategy_runner_run_risk_rejects_total", check="max_position",
                   **lab) == 0  # fmt: skip
    assert _sample(text, "minihft_strategy_runner_run_active_bool", run="main") == 1


def _run() -> Run:
    ctx = StrategyContext(ManualClock(), __import__("logging").getLogger("t"), account=1)
    return Run("r", 0, RunSpec("logging"), LoggingStrategy(), ctx, RiskChecker(), 0)


def test_average_cost_pnl_through_a_position_flip() -> None:
    run = _run()

    def fill(side: Side, px: int, qty: int) -> None:
        r = np.zeros(1, codec.EXEC_REPORTS.dtype)
        r[0] = (0, 1, 0, px, qty, 0, 1, SYM, int(ExecType.ORDER_FILLED), int(side), 0, 0)
        run.book_fills(r)

    fill(Side.BUY, 100_0000, 10)
    fill(Side.BUY, 102_0000, 10)  # avg cost 101.00
    fill(Side.SELL, 103_0000, 15)  # realize 15 x 2.00 = 30, 5 left at 101.00
    assert run.position == 5 and run.realized / 1e4 == pytest.approx(30.0)
    fill(Side.SELL, 99_0000, 8)  # close 5 at -2.00 each (-10), 3 short opened at 99.00
    assert run.position == -3 and run.avg_cost == 99_0000
    assert run.realized / 1e4 == pytest.approx(20.0)
    run.last_mid = 98_0000
    assert run.metrics()["unrealized_pnl"] == pytest.approx(3.0)  # short 3 from 99 to 98
    assert run.metrics()["filled_qty"] == 43 and run.metrics()["fills"] == 4


def test_status_page_lists_runs_without_external_assets(rig: Rig) -> None:
    rig.book()
    rid = rig.create()["id"]
    html = rig.client.get("/status").text
    assert f'data-run="{rid}"' in html and 'data-run="main"' in html
    assert "kill switch off" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
