"""The pipeline's REST routes: silences, notification log, delivery status, /api/v2/alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api.conftest import Api


def _dispatch(api: Api) -> None:
    api.container.dispatcher.tick(api.clock.now())


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
    anonymous = api.client.post("/api/v1/silences", json={"region": "D11", "ends_at": past})
    assert anonymous.status_code == 401


def test_prometheus_alerts_raise_upgrade_and_resolve_warnings(api: Api) -> None:
    alert: dict[str, Any] = {
        "labels": {
            "alertname": "SubstationHot",
            "region": "D11",
            "domain": "infrastructure.power",
            "severity": "warning",
        },
        "annotations": {"summary": "transformer temperature high"},
        "startsAt": api.clock.now().isoformat(),
        "generatorURL": "http://prometheus/graph",
    }
    r = api.client.post("/api/v2/alerts", json=[alert], headers=api.headers)
    assert r.status_code == 200, r.text
    assert r.json()["warnings_changed"] == 1
    (w,) = api.client.get("/api/v1/warnings").json()
    assert (w["source"], w["level"], w["subject"]) == ("prometheus", "yellow", "SubstationHot")
    # the same alert again changes nothing; with severity critical it is upgraded to red
    assert (
        api.client.post("/api/v2/alerts", json=[alert], headers=api.headers).json()[
            "warnings_changed"
        ]
        == 0
    )
    critical = {**alert, "labels": {**alert["labels"], "severity": "critical"}}
    # a different label set is a different alert (Alertmanager identity): a second warning
    api.client.post("/api/v2/alerts", json=[critical], headers=api.headers)
    levels = sorted(w["level"] for w in api.client.get("/api/v1/warnings").json())
    assert levels == ["red", "yellow"]
    api.clock.advance(timedelta(minutes=5))
    resolved = {**alert, "endsAt": api.clock.now().isoformat()}
    api.client.post("/api/v2/alerts", json=[resolved], headers=api.headers)
    levels = sorted(w["level"] for w in api.client.get("/api/v1/warnings").json())
    assert levels == ["red"]
    history = api.client.get(f"/api/v1/warnings/{w['id']}/history").json()
    assert [h["kind"] for h in history] == ["warning.raised", "warning.lifted"]


def test_prometheus_alerts_without_place_are_rejected_one_by_one(api: Api) -> None:
    good = {"labels": {"alertname": "A", "region": "D12", "domain": "natural.flood"}}
    bad = {"labels": {"alertname": "B", "region": "nowhere"}}
    r = api.client.post("/api/v2/alerts", json=[good, bad], headers=api.headers)
    assert r.status_code == 200
    out = r.json()
    assert out["accepted"] == 1
    assert {(p["where"], p["field"]) for p in out["rejected"]} == {
        ("alerts[1]", "labels.region"),
        ("alerts[1]", "labels.domain"),
    }
    assert api.client.post("/api/v2/alerts", json=[good]).status_code == 401


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
