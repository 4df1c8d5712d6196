"""A silence broader than one person may make (a whole nation, every region, every level for
long) waits for a second user's approval and suppresses nothing until then; its creator cannot
approve it, nor can a user whose scope does not hold it."""

from __future__ import annotations

from datetime import timedelta

from tests.api.conftest import Api, assert_problem, obs
from tocsin.core.users import Role


def _ends(api: Api, hours: float) -> str:
    return (api.clock.now() + timedelta(hours=hours)).isoformat()


def test_a_nation_wide_silence_waits_for_a_second_user(api: Api) -> None:
    rain = {"observations": [obs("P1.rainfall", 0, 70.0)]}
    assert api.client.post("/api/v1/observations", json=rain).status_code == 202
    wide = {"region": "N", "ends_at": _ends(api, 720), "reason": "quiet month"}
    made = api.client.post("/api/v1/silences", json=wide)
    assert made.status_code == 201, made.text
    silence = made.json()
    assert silence["state"] == "awaiting_approval"
    assert silence["needs_approval"] == ["wide_region", "all_levels_long"]
    (warning,) = api.client.get("/api/v1/warnings").json()
    delivery = api.client.get(f"/api/v1/warnings/{warning['id']}/delivery").json()
    assert delivery["suppressed_by"] == []  # not approved: it silences nothing
    same = api.client.post(f"/api/v1/silences/{silence['id']}/approve")
    assert_problem(same, 403, [])
    assert "another user" in same.json()["detail"]
    province = api.token_for("pia", Role.DUTY_OFFICER, unit="P1-CP")
    assert_problem(
        api.client.post(f"/api/v1/silences/{silence['id']}/approve", headers=province), 403
    )
    member = api.token_for("uma", Role.UNIT_MEMBER)
    assert_problem(
        api.client.post(f"/api/v1/silences/{silence['id']}/approve", headers=member), 403
    )
    second = api.token_for("sam", Role.DUTY_OFFICER)
    approved = api.client.post(f"/api/v1/silences/{silence['id']}/approve", headers=second)
    assert approved.status_code == 200
    assert (approved.json()["state"], approved.json()["approved_by"]) == ("active", "sam")
    delivery = api.client.get(f"/api/v1/warnings/{warning['id']}/delivery").json()
    assert delivery["suppressed_by"] == [f"silence:{silence['id']}"]
    again = api.client.post(f"/api/v1/silences/{silence['id']}/approve", headers=second)
    assert_problem(again, 409, [])
    trail = [
        e["kind"] for e in api.client.get(f"/api/v1/silences/{silence['id']}").json()["history"]
    ]
    assert trail == ["silence.created", "silence.approved"]


def test_a_district_silence_for_a_few_hours_needs_nobody_else(api: Api) -> None:
    narrow = {"region": "D11", "ends_at": _ends(api, 4), "reason": "gauge maintenance"}
    made = api.client.post("/api/v1/silences", json=narrow).json()
    assert (made["state"], made["needs_approval"]) == ("active", [])
    long = {"region": "D11", "ends_at": _ends(api, 48), "reason": "gauge maintenance"}
    assert api.client.post("/api/v1/silences", json=long).json()["needs_approval"] == [
        "all_levels_long"
    ]
    red_only = {**long, "levels": ["red"]}
    assert api.client.post("/api/v1/silences", json=red_only).json()["needs_approval"] == []


def test_a_silence_outside_the_scope_is_refused_with_the_reason(api: Api) -> None:
    province = api.token_for("pia", Role.DUTY_OFFICER, unit="P1-CP")
    other = {"region": "D21", "ends_at": _ends(api, 2), "reason": "not mine"}
    refused = api.client.post("/api/v1/silences", json=other, headers=province)
    body = assert_problem(refused, 403, [])
    assert "outside the scope of pia (region P1 and below; every domain)" in body["detail"]
    everywhere = {"domain": "natural.flood", "ends_at": _ends(api, 2), "reason": "all floods"}
    assert_problem(api.client.post("/api/v1/silences", json=everywhere, headers=province), 403)
