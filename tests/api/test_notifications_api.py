"""The notification log and a warning's delivery status."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.api.conftest import Api, assert_problem, table_counts


def _dispatch(api: Api) -> None:
    api.container.leases.dispatch.require()
    api.container.dispatcher.tick(api.clock.now())


def test_delivery_status_shows_routes_suppression_and_notifications(api: Api) -> None:
    obs = {
        "observations": [
            {"indicator": "P1.rainfall", "time": api.clock.now().isoformat(), "value": 70},
            {"indicator": "D11.river_level", "time": api.clock.now().isoformat(), "value": 3.5},
        ]
    }
    assert api.client.post("/api/v1/observations", json=obs, headers=api.headers).status_code == 202
    _dispatch(api)
    api.clock.advance(timedelta(minutes=1))
    _dispatch(api)
    warnings = {w["subject"]: w for w in api.client.get("/api/v1/warnings").json()}
    red, yellow = warnings["P1.rainfall"], warnings["D11.river_level"]
    status = api.client.get(f"/api/v1/warnings/{yellow['id']}/delivery").json()
    assert status["suppressed_by"] == [f"warning:{red['id']}"]
    assert status["responsible_chain"] == ["D11-FLOOD", "P1-CP", "NAT"]
    assert status["notifications"] == []
    red_status = api.client.get(f"/api/v1/warnings/{red['id']}/delivery").json()
    assert [n["receiver"] for n in red_status["notifications"]] == ["P1-CP"]
    assert red_status["routes"][0]["receiver"] == "P1-CP"
    log = api.client.get(f"/api/v1/notifications?warning={red['id']}").json()
    assert [n["status"] for n in log] == ["pending"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"warning": "nope"}, ("query", "warning", "no warning 'nope'")),
        ({"status": "lost"}, ("query", "status", "'pending', 'delivered' or 'failed'")),
        ({"limit": 10_001}, ("query", "limit", "less than or equal to 10000")),
    ],
)
def test_a_bad_log_filter_is_a_422_naming_it(
    api: Api, params: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    assert_problem(api.client.get("/api/v1/notifications", params=params), 422, [expected])
    assert table_counts(api.container)["notifications"] == 0
