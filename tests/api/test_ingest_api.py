"""The REST API: OpenAPI document, auth, all-or-nothing batches, idempotence, warnings."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api

T = 1_767_225_600  # 2026-01-01T00:00:00Z


def obs(indicator: str, minute: int, value: float) -> dict[str, Any]:
    return {"indicator": indicator, "time": T + 60 * minute, "value": value}


def stored(api: Api) -> int:
    with api.container.store.transaction() as tx:
        return tx.observations.count()


def test_openapi_is_3_1_and_lists_the_ingest_routes(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert "/api/v1/observations" in doc["paths"]
    assert "/api/v1/warnings/{warning_id}/acknowledge" in doc["paths"]


def test_writes_need_a_token(api: Api) -> None:
    body = {"observations": [obs("D11.river_level", 0, 1.0)]}
    assert api.client.post("/api/v1/observations", json=body).status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert api.client.post("/api/v1/observations", json=body, headers=bad).status_code == 401
    assert stored(api) == 0


def test_a_malformed_batch_is_rejected_whole_and_names_the_field(api: Api) -> None:
    body = {
        "observations": [
            obs("D11.river_level", 0, 1.0),
            {"indicator": "D11.river_level", "time": T, "value": "high"},
        ]
    }
    response = api.client.post("/api/v1/observations", json=body, headers=api.headers)
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert problems[0]["where"] == "observations[1]"
    assert problems[0]["field"] == "value"
    assert stored(api) == 0


def test_an_unknown_indicator_rejects_the_batch(api: Api) -> None:
    body = {"observations": [obs("D11.river_level", 0, 1.0), obs("nope", 1, 2.0)]}
    response = api.client.post("/api/v1/observations", json=body, headers=api.headers)
    assert response.status_code == 422
    assert response.json()["problems"] == [
        {"where": "observations[1]", "field": "indicator", "reason": "unknown indicator 'nope'"}
    ]
    assert stored(api) == 0


def test_a_naive_time_is_rejected(api: Api) -> None:
    body = {
        "observations": [
            {"indicator": "D11.river_level", "time": "2026-01-01T00:00:00", "value": 1.0}
        ]
    }
    response = api.client.post("/api/v1/observations", json=body, headers=api.headers)
    assert response.status_code == 422
    assert response.json()["problems"][0]["where"] == "observations[0].time"


def test_a_batch_sent_twice_is_stored_once_and_raises_once(api: Api) -> None:
    body = {
        "observations": [
            obs("D11.river_level", m, v) for m, v in enumerate([1.0, 2.5, 3.5, 4.2, 5.5])
        ]
    }
    first = api.client.post("/api/v1/observations", json=body, headers=api.headers)
    second = api.client.post("/api/v1/observations", json=body, headers=api.headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["warnings_changed"] == 4  # raised blue, upgraded to yellow, orange, red
    assert second.json() == {"received": 5, "evaluated": 0, "warnings_changed": 0}
    assert stored(api) == 5
    warnings = api.client.get("/api/v1/warnings").json()
    assert len(warnings) == 1
    w = warnings[0]
    assert (w["level"], w["cap_severity"], w["region"], w["domain"]) == (
        "red",
        "Extreme",
        "D11",
        "natural.flood",
    )
    assert w["cause"]["value"] == 5.5
    assert w["cause"]["threshold"] == 5.0
    assert w["first_seen_at"].startswith("2026-01-01T00:01")


def test_a_warning_is_lifted_when_back_to_normal_and_keeps_its_history(api: Api) -> None:
    values = [3.2, 4.1, 1.0]
    body = {"observations": [obs("D11.river_level", m, v) for m, v in enumerate(values)]}
    api.client.post("/api/v1/observations", json=body, headers=api.headers)
    assert api.client.get("/api/v1/warnings").json() == []
    lifted = api.client.get("/api/v1/warnings", params={"state": "all"}).json()
    assert [w["state"] for w in lifted] == ["lifted"]
    history = api.client.get(f"/api/v1/warnings/{lifted[0]['id']}/history").json()
    assert [h["kind"] for h in history] == ["warning.raised", "warning.upgraded", "warning.lifted"]
    assert all(h["actor"] == "rule:threshold" for h in history)
    assert "back to normal" in history[-1]["reason"]


def test_acknowledge_records_who_and_why(api: Api) -> None:
    body = {"observations": [obs("D21.reservoir", 0, 15.0)]}
    api.client.post("/api/v1/observations", json=body, headers=api.headers)
    (w,) = api.client.get("/api/v1/warnings").json()
    assert w["level"] == "orange"  # lower is worse: 15 % is below the orange threshold 20 %
    url = f"/api/v1/warnings/{w['id']}/acknowledge"
    done = api.client.post(url, json={"reason": "tankers ordered"}, headers=api.headers)
    assert done.status_code == 200
    assert (done.json()["state"], done.json()["acknowledged_by"]) == ("acknowledged", "duty")
    again = api.client.post(url, json={}, headers=api.headers)
    assert again.status_code == 409
    history = api.client.get(f"/api/v1/warnings/{w['id']}/history").json()
    assert history[-1]["actor"] == "duty"
    assert history[-1]["reason"] == "tankers ordered"


def test_warnings_filter_by_region_subtree_level_and_domain(api: Api) -> None:
    body = {
        "observations": [
            obs("D11.river_level", 0, 3.5),
            obs("D21.reservoir", 0, 5.0),
            obs("P1.substation_load", 0, 95.0),
        ]
    }
    api.client.post("/api/v1/observations", json=body, headers=api.headers)

    def subjects(**params: Any) -> list[str]:
        return [w["subject"] for w in api.client.get("/api/v1/warnings", params=params).json()]

    everything = subjects()
    assert everything[0] == "D21.reservoir"  # red first; the two yellows tie on age
    assert sorted(everything[1:]) == ["D11.river_level", "P1.substation_load"]
    assert sorted(subjects(region="P1")) == ["D11.river_level", "P1.substation_load"]
    assert subjects(level="red") == ["D21.reservoir"]
    assert subjects(domain="natural") == ["D11.river_level"]
    assert api.client.get("/api/v1/warnings", params={"region": "X"}).status_code == 404


def test_events_are_stored_once(api: Api) -> None:
    event = {
        "source": "operator",
        "external_id": "F-17",
        "occurred_at": "2026-01-01T10:00:00Z",
        "region": "D12",
        "domain": "fire",
        "severity": "orange",
        "title": "Warehouse fire",
    }
    url = "/api/v1/events"
    assert api.client.post(url, json={"events": [event]}, headers=api.headers).json() == {
        "received": 1,
        "stored": 1,
    }
    assert api.client.post(url, json={"events": [event]}, headers=api.headers).json() == {
        "received": 1,
        "stored": 0,
    }
    bad = {**event, "external_id": "F-18", "region": "MARS"}
    response = api.client.post(url, json={"events": [bad]}, headers=api.headers)
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "region"


def test_model_endpoints(api: Api) -> None:
    regions = api.client.get("/api/v1/regions").json()
    assert {r["code"] for r in regions} == {"N", "P1", "P2", "D11", "D12", "D21"}
    geo = api.client.get("/api/v1/regions.geojson", params={"parent": "P1"}).json()
    assert [f["id"] for f in geo["features"]] == ["D11", "D12"]
    assert geo["features"][0]["geometry"]["type"] == "Polygon"
    domains = {d["code"]: d["cap_category"] for d in api.client.get("/api/v1/domains").json()}
    assert domains["production.chemicals"] == "CBRNE"
    body = {"observations": [obs("D11.river_level", 0, 1.5), obs("D11.river_level", 1, 1.7)]}
    api.client.post("/api/v1/observations", json=body, headers=api.headers)
    series = api.client.get("/api/v1/indicators/D11.river_level/observations").json()
    assert series["values"] == [1.5, 1.7]
    assert "tocsin_open_warnings" in api.client.get("/metrics").text
