"""A silence broader than one person may make (a whole nation, every region, every level for
long) waits for a second user's approval and suppresses nothing until then; its creator cannot
approve or refuse it, nor can a user whose scope does not hold it; refused, it ends for good; never
decided, it expires at its end."""

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
    assert silence["approval"]["needs"] == ["wide_region", "all_levels_long"]
    assert silence["approval"]["decision"] is None
    waiting = api.client.get("/api/v1/silences", params={"state": "awaiting_approval"}).json()
    assert [s["id"] for s in waiting] == [silence["id"]]
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
    decided = approved.json()["approval"]
    assert (approved.json()["state"], decided["decision"], decided["decided_by"]) == (
        "active",
        "approved",
        "sam",
    )
    assert api.client.get("/api/v1/silences", params={"state": "awaiting_approval"}).json() == []
    delivery = api.client.get(f"/api/v1/warnings/{warning['id']}/delivery").json()
    assert delivery["suppressed_by"] == [f"silence:{silence['id']}"]
    again = api.client.post(f"/api/v1/silences/{silence['id']}/approve", headers=second)
    assert_problem(again, 409, [])
    trail = [
        e["kind"] for e in api.client.get(f"/api/v1/silences/{silence['id']}").json()["history"]
    ]
    assert trail == ["silence.created", "silence.approved"]
    assert _silence_notices(api) == ["[SILENCE APPROVED]", "[SILENCE CREATED]"]


def test_a_district_silence_for_a_few_hours_needs_nobody_else(api: Api) -> None:
    narrow = {"region": "D11", "ends_at": _ends(api, 4), "reason": "gauge maintenance"}
    made = api.client.post("/api/v1/silences", json=narrow).json()
    assert (made["state"], made["approval"]) == ("active", None)
    long = {"region": "D11", "ends_at": _ends(api, 48), "reason": "gauge maintenance"}
    assert api.client.post("/api/v1/silences", json=long).json()["approval"]["needs"] == [
        "all_levels_long"
    ]
    red_only = {**long, "levels": ["red"]}
    assert api.client.post("/api/v1/silences", json=red_only).json()["approval"] is None
    every = {"domain": "natural.flood", "ends_at": _ends(api, 2), "reason": "all floods"}
    assert api.client.post("/api/v1/silences", json=every).json()["approval"]["needs"] == [
        "no_region"
    ]


def test_a_silence_outside_the_scope_is_refused_with_the_reason(api: Api) -> None:
    province = api.token_for("pia", Role.DUTY_OFFICER, unit="P1-CP")
    other = {"region": "D21", "ends_at": _ends(api, 2), "reason": "not mine"}
    refused = api.client.post("/api/v1/silences", json=other, headers=province)
    body = assert_problem(refused, 403, [])
    assert "outside the scope of pia (region P1 and below; every domain)" in body["detail"]
    everywhere = {"domain": "natural.flood", "ends_at": _ends(api, 2), "reason": "all floods"}
    assert_problem(api.client.post("/api/v1/silences", json=everywhere, headers=province), 403)


def _silence_notices(api: Api) -> list[str]:
    listed = api.client.get("/api/v1/notifications").json()
    return sorted(n["subject"].split("]")[0] + "]" for n in listed if n["kind"] == "silence")


def test_a_refused_silence_never_suppresses_and_ends_with_the_reason(api: Api) -> None:
    rain = {"observations": [obs("P1.rainfall", 0, 70.0)]}
    assert api.client.post("/api/v1/observations", json=rain).status_code == 202
    wide = {"region": "N", "ends_at": _ends(api, 720), "reason": "quiet month"}
    silence = api.client.post("/api/v1/silences", json=wide).json()
    path = f"/api/v1/silences/{silence['id']}/refuse"
    no_reason = api.client.post(
        path, json={"reason": ""}, headers=api.token_for("sam", Role.DUTY_OFFICER)
    )
    assert no_reason.status_code == 422
    assert_problem(api.client.post(path, json={"reason": "mine"}), 403)  # its creator
    province = api.token_for("pia", Role.DUTY_OFFICER, unit="P1-CP")
    assert_problem(api.client.post(path, json={"reason": "no"}, headers=province), 403)
    second = api.token_for("ray", Role.DUTY_OFFICER)
    refused = api.client.post(path, json={"reason": "a month is too long"}, headers=second)
    assert refused.status_code == 200, refused.text
    body = refused.json()
    assert (body["state"], body["approval"]["decision"], body["approval"]["note"]) == (
        "refused",
        "refused",
        "a month is too long",
    )
    approve = f"/api/v1/silences/{silence['id']}/approve"
    assert_problem(api.client.post(approve, headers=second), 409)
    assert_problem(api.client.post(path, json={"reason": "again"}, headers=second), 409)
    assert api.client.get("/api/v1/silences").json() == []  # it has ended
    (warning,) = api.client.get("/api/v1/warnings").json()
    api.clock.advance(timedelta(minutes=5))
    api.container.leases.dispatch.require()  # only the owner dispatches
    api.container.dispatcher.tick(api.clock.now())
    delivery = api.client.get(f"/api/v1/warnings/{warning['id']}/delivery").json()
    assert delivery["suppressed_by"] == []
    detail = api.client.get(f"/api/v1/silences/{silence['id']}").json()
    kinds = [(e["kind"], e["actor"]) for e in detail["history"]]
    assert kinds == [("silence.created", "duty"), ("silence.refused", "ray")]
    assert "a month is too long" in detail["history"][1]["reason"]
    assert _silence_notices(api) == ["[SILENCE CREATED]", "[SILENCE REFUSED]"]


def test_a_silence_never_approved_expires_at_its_end(api: Api) -> None:
    wide = {"region": "N", "levels": ["yellow"], "ends_at": _ends(api, 2), "reason": "drill"}
    silence = api.client.post("/api/v1/silences", json=wide).json()
    assert silence["state"] == "awaiting_approval"
    api.clock.advance(timedelta(hours=3))
    api.container.leases.dispatch.require()  # only the owner dispatches
    api.container.dispatcher.tick(api.clock.now())
    ended = api.client.get(f"/api/v1/silences/{silence['id']}").json()
    assert (ended["state"], ended["approval"]["decision"]) == ("expired", None)
    second = api.token_for("sam", Role.DUTY_OFFICER)
    late = api.client.post(f"/api/v1/silences/{silence['id']}/approve", headers=second)
    assert_problem(late, 409)
    assert _silence_notices(api) == ["[SILENCE CREATED]", "[SILENCE EXPIRED]"]
