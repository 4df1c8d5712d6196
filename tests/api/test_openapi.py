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
ADDED = {"GET /api/v1/levels", "GET /api/v1/sources"}  # the level table; what sources sent
PUBLIC = {"GET /healthz", "GET /metrics"}
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


def test_every_operation_of_before_is_kept_and_only_the_added_ones_are_new(
    doc: dict[str, Any],
) -> None:
    assert doc["openapi"].startswith("3.1")
    assert {name for name, _ in _operations(doc)} == BEFORE | ADDED


def test_every_response_has_a_schema_and_every_error_is_a_problem(doc: dict[str, Any]) -> None:
    for name, op in _operations(doc):
        statuses = set(op["responses"])
        assert any(s.startswith("2") for s in statuses), name
        for status, response in op["responses"].items():
            content = response.get("content")
            assert content, f"{name} {status} has no body schema"
            for media, body in content.items():
                assert body.get("schema"), f"{name} {status} {media} has no schema"
            if not status.startswith("2"):
                assert content == {"application/json": {"schema": PROBLEM}}, (name, status)


def test_the_statuses_an_operation_can_answer_are_documented(doc: dict[str, Any]) -> None:
    for name, op in _operations(doc):
        statuses = set(op["responses"])
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in statuses, name
        if op.get("requestBody"):
            assert {"400", "413"} <= statuses, name
        if name not in PUBLIC:
            assert {"401", "403"} <= statuses, name
        if "{" in name:
            assert "404" in statuses, name


def test_security_is_declared_on_every_operation_but_the_public_ones(tmp_path: Path) -> None:
    open_reads = _document(tmp_path / "open")
    closed = _document(tmp_path / "closed", require_token_for_reads=True)
    for doc in (open_reads, closed):
        scheme = doc["components"]["securitySchemes"]["bearer"]
        assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for (name, op), (_, strict) in zip(_operations(open_reads), _operations(closed), strict=True):
        if name in PUBLIC:
            assert "security" not in op, name
            continue
        # EventSource cannot send headers: the live stream takes its token as ?token=
        scheme = "query_token" if name == "GET /api/v1/web/live" else "bearer"
        assert strict["security"] == [{scheme: []}], name
        reads_open = name.startswith("GET ")
        assert op["security"] == ([{scheme: []}, {}] if reads_open else [{scheme: []}]), name


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
