"""Property-based checks of the control API against its own OpenAPI spec (schemathesis), on the
live ASGI app: no 5xx, responses match the documented status codes, content types and schemas,
and auth is enforced (the same request without the token must be refused). Bounded: < 60 s."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)
from test_control_api import AUTH, make_rig

RIG = make_rig()
RIG.book()
schema = schemathesis.openapi.from_asgi("/openapi.json", RIG.client.app)
CHECKS = [
    not_a_server_error, status_code_conformance, content_type_conformance,
    response_schema_conformance, ignored_auth,
]  # fmt: skip


@schema.parametrize()
@settings(
    max_examples=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)  # fmt: skip
def test_api_conforms_to_its_schema(case: Any) -> None:
    # The rig has no poll loop: beat as the loop would, or /healthz rightly reports a stalled
    # service (503) once the suite has run longer than the liveness window before this test.
    RIG.runner.svc.beat()
    if case.path == "/kill-switch" and case.method == "POST":
        RIG.runner.registry.reset_kill()  # let later examples still create orders
    case.call_and_validate(headers=AUTH, checks=CHECKS)


def test_every_state_change_is_guarded_in_the_spec() -> None:
    spec = RIG.client.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method != "get":
                assert {"401", "503"} <= set(op["responses"]), f"{method} {path}"
            else:
                assert "401" not in op["responses"], f"{method} {path}: reads are open"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
def test_posts_without_the_token_change_nothing(headers: dict[str, str]) -> None:
    before = len(RIG.runner.registry.runs)
    r = RIG.client.post("/runs", json={"strategy": "logging"}, headers=headers)
    assert r.status_code == 401 and len(RIG.runner.registry.runs) == before
