"""Silences: owner, reason, end, scope and permission; strict and bounded fields."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.api.conftest import Api, assert_problem, table_counts
from tocsin.core.users import Role


def test_silence_create_list_expire_with_owner_and_audit(api: Api) -> None:
    ends = (api.clock.now() + timedelta(hours=2)).isoformat()
    body = {"region": "D11", "domain": "natural.flood", "ends_at": ends, "reason": "works"}
    created = api.client.post("/api/v1/silences", json=body, headers=api.headers)
    assert created.status_code == 201, created.text
    silence = created.json()
    assert (silence["created_by"], silence["state"]) == ("duty", "active")
    listed = api.client.get("/api/v1/silences").json()
    assert [s["id"] for s in listed] == [silence["id"]]
    api.clock.advance(timedelta(minutes=10))
    expired = api.client.post(
        f"/api/v1/silences/{silence['id']}/expire", json={"reason": "done"}, headers=api.headers
    )
    assert expired.status_code == 200
    assert expired.json()["state"] == "expired"
    assert api.client.get("/api/v1/silences").json() == []
    assert len(api.client.get("/api/v1/silences?state=all").json()) == 1
    detail = api.client.get(f"/api/v1/silences/{silence['id']}").json()
    assert [h["kind"] for h in detail["history"]] == ["silence.created", "silence.expired"]
    again = api.client.post(
        f"/api/v1/silences/{silence['id']}/expire", json={}, headers=api.headers
    )
    assert again.status_code == 409
    # both the creation and the expiry were put in the outbox for D11's flood unit
    log = api.client.get("/api/v1/notifications").json()
    assert sorted(n["reason"] for n in log) == ["silence created", "silence expired"]
    assert {n["receiver"] for n in log} == {"D11-FLOOD"}


def test_silence_needs_reason_future_end_scope_and_permission(api: Api) -> None:
    past = (api.clock.now() - timedelta(minutes=1)).isoformat()
    bad = api.client.post(
        "/api/v1/silences", json={"ends_at": past, "reason": "x"}, headers=api.headers
    )
    assert bad.status_code == 422
    fields = {p["field"] for p in bad.json()["problems"]}
    assert {"ends_at", "matchers"} <= fields
    no_reason = api.client.post(
        "/api/v1/silences", json={"region": "D11", "ends_at": past}, headers=api.headers
    )
    assert no_reason.status_code == 422
    unknown = api.client.post(
        "/api/v1/silences",
        json={
            "region": "XX",
            "ends_at": (api.clock.now() + timedelta(hours=1)).isoformat(),
            "reason": "r",
        },
        headers=api.headers,
    )
    assert unknown.status_code == 422
    anonymous = api.anonymous.post("/api/v1/silences", json={"region": "D11", "ends_at": past})
    assert anonymous.status_code == 401


def _future(api: Api, hours: int = 1) -> str:
    return (api.clock.now() + timedelta(hours=hours)).isoformat()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"region": "XX"}, ("body", "region", "unknown region 'XX'")),
        ({"matchers": ["not a matcher"]}, ("matchers[0]", "matchers", "not a matcher")),
        ({"matchers": ["x" * 1_001]}, ("matchers[0]", "matchers", "at most 1000 characters")),
        ({"matchers": ["a=b"] * 33}, ("body", "matchers", "at most 32 items")),
        ({"levels": ["purple"]}, ("levels[0]", "levels", "'blue', 'yellow', 'orange' or 'red'")),
        ({"ends_at": "2030-01-01T00:00:00"}, ("body", "ends_at", "RFC 3339")),
        ({"ends_at": 1893456000}, ("body", "ends_at", "RFC 3339")),
        ({"reason": ""}, ("body", "reason", "at least 1 character")),
        ({"reason": "x" * 2_001}, ("body", "reason", "at most 2000 characters")),
        ({"owner": "me"}, ("body", "owner", "Extra inputs are not permitted")),
    ],
)
def test_a_bad_silence_is_refused_naming_the_field(
    api: Api, change: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    before = table_counts(api.container)
    body = {"region": "D11", "ends_at": _future(api), "reason": "works", **change}
    response = api.client.post("/api/v1/silences", json=body, headers=api.headers)
    assert_problem(response, 422, [expected])
    assert table_counts(api.container) == before


def test_a_unit_member_may_read_silences_but_not_create_them(api: Api) -> None:
    member = api.token_for("uma", Role.UNIT_MEMBER)
    before = table_counts(api.container)
    body = {"region": "D11", "ends_at": _future(api), "reason": "works"}
    refused = api.client.post("/api/v1/silences", json=body, headers=member)
    assert_problem(refused, 403, [])
    assert refused.json()["detail"] == "role unit_member may not silence"
    assert table_counts(api.container) == before
    assert api.client.get("/api/v1/silences", headers=member).status_code == 200
    assert_problem(api.client.get("/api/v1/silences/nope"), 404, [])
    assert_problem(api.client.get("/api/v1/silences", params={"state": "old"}), 422)
