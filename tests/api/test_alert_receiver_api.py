"""POST /api/v2/alerts: Prometheus alerts become warnings; strict times, bounded labels."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.api.conftest import Api, assert_problem, table_counts


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
    assert api.anonymous.post("/api/v2/alerts", json=[good]).status_code == 401


LABELS = {"alertname": "A", "region": "D12", "domain": "natural.flood"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"startsAt": "2026-01-01T00:00:00"}, ("[0]", "startsAt", "RFC 3339")),
        ({"endsAt": "2026-01-01T00:00:00.000"}, ("[0]", "endsAt", "RFC 3339")),
        ({"startsAt": 1767225600}, ("[0]", "startsAt", "RFC 3339")),
        ({"labels": {**LABELS, "big": "x" * 1_000_000}}, ("[0].labels", "big", "at most 2048")),
        ({"labels": {**LABELS, **{f"l{i}": "v" for i in range(64)}}}, ("[0]", "labels", "64")),
        ({"labels": {**LABELS, "bad-name": "v"}}, ("[0].labels", "bad-name", "name: String")),
        ({"labels": {**LABELS, "n": 5}}, ("[0].labels", "n", "valid string")),
        ({"annotations": {"summary": "x" * 10_001}}, ("[0].annotations", "summary", "10000")),
        ({"labels": None}, ("[0]", "labels", "valid dictionary")),
    ],
)
def test_a_bad_alert_rejects_the_post_whole_naming_the_field(
    api: Api, change: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    before = table_counts(api.container)
    body = [{"labels": LABELS}, {"labels": LABELS, **change}]
    where, field, reason = expected
    response = api.client.post("/api/v2/alerts", json=body, headers=api.headers)
    assert_problem(response, 422, [(where.replace("[0]", "body[1]", 1), field, reason)])
    assert table_counts(api.container) == before


def test_fields_alertmanager_does_not_define_are_ignored(api: Api) -> None:
    body = [{"labels": LABELS, "status": {"state": "active"}, "fingerprint": "abc"}]
    response = api.client.post("/api/v2/alerts", json=body, headers=api.headers)
    assert response.json() == {"accepted": 1, "warnings_changed": 1, "rejected": []}


def test_go_zero_times_are_unset_times_as_alertmanager_reads_them(api: Api) -> None:
    # the body amtool 0.25 posts for `amtool alert add X region=D12 domain=natural.flood`
    # (no --start, no --end): Go's zero time in both fields
    zero = "0001-01-01T00:00:00.000Z"
    firing = [{"endsAt": zero, "startsAt": zero, "labels": {**LABELS, "alertname": "X"}}]
    response = api.client.post("/api/v2/alerts", json=firing, headers=api.headers)
    assert response.json() == {"accepted": 1, "warnings_changed": 1, "rejected": []}
    (w,) = api.client.get("/api/v1/warnings").json()  # raised, not lifted at year 1
    assert (w["subject"], w["level"]) == ("X", "yellow")
    # with a real end in the past and a zero start, it is resolved
    api.clock.advance(timedelta(minutes=1))
    now = api.clock.now().isoformat()
    ended = [{**firing[0], "endsAt": now, "startsAt": "0001-01-01T00:00:00Z"}]
    response = api.client.post("/api/v2/alerts", json=ended, headers=api.headers)
    assert response.json()["warnings_changed"] == 1
    assert api.client.get("/api/v1/warnings").json() == []
    # any other time before 1900 is still refused whole
    early = [{"labels": LABELS, "startsAt": "0001-01-01T00:00:01Z"}]
    response = api.client.post("/api/v2/alerts", json=early, headers=api.headers)
    assert_problem(response, 422, [("body[0]", "startsAt", "RFC 3339")])
