"""The OpenAPI 3.1 document: the same operations as before the routers were split, a schema for
every response (Problem for every error), security declared on every operation but the public
ones, and the limits of the request bodies stated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import build_container
from tocsin.web.app import create_web_app

# The operations of the web app (API + dashboard endpoints) before the API was split into
# routers (commit c9eccfd): clients keep every one of them.
BEFORE = {
    "GET /api/v1/domains",
    "GET /api/v1/indicators",
    "GET /api/v1/indicators/{code}/observations",
    "GET /api/v1/indicators/{code}/scores",
    "GET /api/v1/notifications",
    "GET /api/v1/regions",
    "GET /api/v1/regions.geojson",
    "GET /api/v1/silences",
    "GET /api/v1/silences/{silence_id}",
    "GET /api/v1/warnings",
    "GET /api/v1/warnings/{warning_id}",
    "GET /api/v1/warnings/{warning_id}/delivery",
    "GET /api/v1/warnings/{warning_id}/history",
    "GET /api/v1/web/indicators/{code}/chart",
    "GET /api/v1/web/indicators/{code}/scores",
    "GET /api/v1/web/live",
    "GET /api/v1/web/map",
    "GET /api/v1/web/risk",
    "GET /api/v1/web/risk/{region}",
    "GET /api/v1/web/summary",
    "GET /healthz",
    "GET /metrics",
    "POST /api/v1/events",
    "POST /api/v1/observations",
    "POST /api/v1/silences",
    "POST /api/v1/silences/{silence_id}/expire",
    "POST /api/v1/warnings/{warning_id}/acknowledge",
    "POST /api/v2/alerts",
}
# Open311 GeoReport v2 (issue 18): public, in the spec's own error form (JSON or XML)
OPEN311 = {
    "GET /open311/v2/discovery.{fmt}",
    "GET /open311/v2/services.{fmt}",
    "GET /open311/v2/services/{service_code}.{fmt}",
    "POST /open311/v2/requests.{fmt}",
    "GET /open311/v2/requests.{fmt}",
    "GET /open311/v2/requests/{service_request_id}.{fmt}",
    "GET /open311/v2/tokens/{token}.{fmt}",
    "GET /open311/v2/media/{service_request_id}",
}
CAP = {  # public alerts (issue 17)
    "GET /api/v1/cap/alerts",
    "POST /api/v1/cap/alerts",
    "GET /api/v1/cap/alerts/{identifier}",
    "GET /api/v1/cap/alerts/{identifier}/preview",
    "GET /api/v1/cap/alerts/{identifier}/history",
    "POST /api/v1/cap/alerts/{identifier}/edit",
    "POST /api/v1/cap/alerts/{identifier}/submit",
    "POST /api/v1/cap/alerts/{identifier}/approve",
    "POST /api/v1/cap/alerts/{identifier}/reject",
    "POST /api/v1/cap/alerts/{identifier}/publish",
    "POST /api/v1/cap/alerts/{identifier}/withdraw",
    "GET /api/v1/cap/imports",
    "POST /api/v1/cap/imports",
    "POST /api/v1/cap/validate",
    "GET /cap/feed.atom",
    "GET /cap/{identifier}.xml",
}
RESPONSE = {  # the response (issue 16): incidents, tasks, plans, situation reports, scorecard
    "GET /api/v1/incidents",
    "POST /api/v1/incidents",
    "GET /api/v1/incidents/linked/{kind}/{ref}",
    "GET /api/v1/incidents/{incident_id}",
    "POST /api/v1/incidents/{incident_id}/activate",
    "POST /api/v1/incidents/{incident_id}/links",
    "POST /api/v1/incidents/{incident_id}/lead",
    "POST /api/v1/incidents/{incident_id}/stand-down",
    "POST /api/v1/incidents/{incident_id}/close",
    "POST /api/v1/incidents/{incident_id}/merge",
    "POST /api/v1/incidents/{incident_id}/split",
    "GET /api/v1/plans",
    "GET /api/v1/tasks",
    "GET /api/v1/tasks/{task_id}",
    "POST /api/v1/tasks/{task_id}/reassign",
    "POST /api/v1/tasks/{task_id}/{action}",
    "GET /api/v1/incidents/{incident_id}/situation",
    "GET /api/v1/regions/{region}/situation",
    "POST /api/v1/incidents/{incident_id}/situation-reports",
    "GET /api/v1/incidents/{incident_id}/situation-reports",
    "GET /api/v1/situation-reports/{report_id}",
    "GET /api/v1/scorecard",
}
ADDED = {
    *CAP,
    *RESPONSE,
    "GET /api/v1/levels",
    "GET /api/v1/sources",  # what sources sent
    # access (issue 12): sign-in, tokens, users
    "POST /api/v1/session",
    "GET /api/v1/session",
    "DELETE /api/v1/session",
    "GET /api/v1/tokens",
    "POST /api/v1/tokens",
    "POST /api/v1/tokens/{token_id}/revoke",
    "POST /api/v1/tokens/{token_id}/rotate",
    "GET /api/v1/users",
    "GET /api/v1/users/{name}/tokens",
    "POST /api/v1/silences/{silence_id}/approve",
    "POST /api/v1/silences/{silence_id}/refuse",
    "GET /api/v1/session/oidc",
    "GET /api/v1/session/oidc/callback",
    # cyber exposure (issue 19)
    "GET /api/v1/exposure/assets",
    "GET /api/v1/exposure/known-exploited",
    "GET /api/v1/exposure/regions",
    "POST /api/v1/exposure/advisories",
    "POST /api/v1/exposure/inventory",
    "POST /api/v1/exposure/patches",
    "POST /api/v1/security-alerts",
    "GET /api/v1/web/exposure/{asset}",
    # public hazard reports (issue 18)
    "GET /api/v1/reports",
    "GET /api/v1/reports/{report_id}",
    "POST /api/v1/reports/{report_id}/actions",
    "POST /api/v1/reports/clusters/{cluster}/incident",
    "GET /api/v1/public/reports/{report_id}",
    "GET /api/v1/public/regions.geojson",
    "GET /report/unsubscribe",
    "POST /report/unsubscribe",
    *OPEN311,
    # observation summaries left by retention (issue 21)
    "GET /api/v1/indicators/{code}/rollups",
    # Alertmanager's API v2 reads, for amtool (issues 15, 22)
    "GET /api/v2/alerts",
    "GET /api/v2/silences",
    "POST /api/v2/silences",
    "DELETE /api/v2/silence/{silence_id}",
    # InfluxDB 1.x's ping, asked by its clients before they write to /write (issue 15)
    "GET /ping",
    "HEAD /ping",
}
PUBLIC = {
    "GET /healthz",
    "GET /ping",
    "HEAD /ping",
    "GET /cap/feed.atom",
    "GET /cap/{identifier}.xml",
    "POST /api/v1/session",
    "GET /api/v1/session/oidc",
    "GET /api/v1/session/oidc/callback",
    "GET /api/v1/public/reports/{report_id}",
    "GET /api/v1/public/regions.geojson",
    "GET /report/unsubscribe",
    "POST /report/unsubscribe",
    *OPEN311,
}
OPEN311_ERROR = {"items": {"$ref": "#/components/schemas/Open311Error"}, "type": "array"}
PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _document(tmp_path: Path, **settings: Any) -> dict[str, Any]:
    container, _ = build_container(f"sqlite:///{tmp_path / 't.db'}", tmp_path, **settings)
    try:
        return create_web_app(container, risk=None).openapi()
    finally:
        container.close()


@pytest.fixture
def doc(tmp_path: Path) -> dict[str, Any]:
    return _document(tmp_path)


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield f"{method.upper()} {path}", op


def test_every_operation_of_before_is_kept_and_only_the_level_table_and_cap_are_new(
    doc: dict[str, Any],
) -> None:
    assert doc["openapi"].startswith("3.1")
    assert {name for name, _ in _operations(doc)} == BEFORE | ADDED | RESPONSE


# Alertmanager's API answers a bad filter, and Tocsin a silence made through it, with a JSON
# string, which Alertmanager's clients (amtool) show; a Problem object they would not
ALERTMANAGER_STRINGS = {("GET /api/v2/alerts", "400"), ("POST /api/v2/silences", "400")}


def test_every_response_has_a_schema_and_every_error_is_a_problem(doc: dict[str, Any]) -> None:
    for name, op in _operations(doc):
        statuses = set(op["responses"])
        assert any(s[0] in "23" for s in statuses), name  # a success, or a redirect (sign-in)
        for status, response in op["responses"].items():
            if status.startswith("3"):
                continue  # a redirect has no body
            content = response.get("content")
            if status == "204":  # no content (InfluxDB's ping)
                assert not content, name
                continue
            assert content, f"{name} {status} has no body schema"
            for media, body in content.items():
                assert body.get("schema"), f"{name} {status} {media} has no schema"
            if status.startswith("2"):
                continue
            if (name, status) in ALERTMANAGER_STRINGS:  # as Alertmanager answers (its clients)
                assert content == {"application/json": {"schema": {"type": "string"}}}, name
            elif name in OPEN311 and status not in ("413", "422", "503"):  # framework, guard
                schema = content["application/json"]["schema"]
                assert {k: schema[k] for k in OPEN311_ERROR} == OPEN311_ERROR, (name, status)
            else:
                assert content == {"application/json": {"schema": PROBLEM}}, (name, status)


def test_the_statuses_an_operation_can_answer_are_documented(doc: dict[str, Any]) -> None:
    for name, op in _operations(doc):
        statuses = set(op["responses"])
        if name in OPEN311:  # parameters are read as text and checked here: a bad one is a 400
            assert "404" in statuses, name
            assert "400" in statuses or name.startswith("GET /open311/v2/media"), name
            continue
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in statuses, name
        if op.get("requestBody"):
            assert {"400", "413"} <= statuses, name
        if name not in PUBLIC:
            assert {"401", "403"} <= statuses, name
        if "{" in name:
            assert "404" in statuses, name


def test_security_is_declared_on_every_operation_but_the_public_ones(tmp_path: Path) -> None:
    private = _document(tmp_path / "private")
    opened = _document(tmp_path / "open", open_reads=True)
    for doc in (private, opened):
        schemes = doc["components"]["securitySchemes"]
        assert (schemes["bearer"]["type"], schemes["bearer"]["scheme"]) == ("http", "bearer")
        assert (schemes["session"]["type"], schemes["session"]["in"]) == ("apiKey", "cookie")
    for (name, op), (_, loose) in zip(_operations(private), _operations(opened), strict=True):
        if name in PUBLIC:
            assert "security" not in op, name
            continue
        # private by default: every operation takes a token or the session cookie
        assert op["security"] == [{"bearer": []}, {"session": []}], name
        reads_open = name.startswith("GET ")
        expected: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]
        expected += [{}] if reads_open else []
        assert loose["security"] == expected, name


def _schema(doc: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = doc["components"]["schemas"][name]
    return schema


def test_request_bodies_state_their_types_and_limits(doc: dict[str, Any]) -> None:
    observation = _schema(doc, "ObservationIn")
    assert observation["additionalProperties"] is False
    assert observation["properties"]["value"]["type"] == "number"
    time = observation["properties"]["time"]["anyOf"]
    assert time[0] == {"type": "string", "format": "date-time"}
    assert (time[1]["type"], time[1]["minimum"], time[1]["maximum"]) == (
        "integer",
        -2_208_988_800,
        253_402_300_799,
    )
    assert observation["properties"]["indicator"]["maxLength"] == 256
    assert _schema(doc, "ObservationBatchIn")["properties"]["observations"]["maxItems"] == 1_000_000
    event = _schema(doc, "EventIn")["properties"]
    assert (event["title"]["maxLength"], event["description"]["maxLength"]) == (1_000, 10_000)
    assert event["attributes"]["maxProperties"] == 64
    assert _schema(doc, "EventBatchIn")["properties"]["events"]["maxItems"] == 100_000
    alert = _schema(doc, "PromAlertIn")["properties"]
    assert alert["labels"]["maxProperties"] == 64
    labels = alert["labels"]["patternProperties"]
    assert next(iter(labels.values()))["maxLength"] == 2_048
    assert alert["startsAt"]["anyOf"][0]["format"] == "date-time"
    alerts_body = doc["paths"]["/api/v2/alerts"]["post"]["requestBody"]["content"]
    assert alerts_body["application/json"]["schema"]["maxItems"] == 10_000
    problem = _schema(doc, "Problem")
    assert set(problem["properties"]) == {"detail", "problems"}
