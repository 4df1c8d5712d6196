"""The response over HTTP: the incident board, an incident's detail, tasks worked by their unit,
commands by the duty officer, situation reports (JSON, HTML, PDF), the scorecard (JSON, CSV),
every bad input refused whole, everything out of scope refused."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import assert_problem, obs, table_counts
from tocsin.api.app import create_app
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.users import Role
from tocsin.services.access import TokenRequest
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import small_plans, write_small_config


@dataclass
class Desk:
    """The API over the small scenario with plans, a national duty officer's token, and an
    orange flood incident in D11."""

    client: TestClient
    container: Container
    clock: FakeClock
    headers: dict[str, str]

    def token(self, name: str, role: Role, unit: str) -> dict[str, str]:
        self.container.admin.add_user(name, role, unit=unit, actor="test")
        token = self.container.access.issue(name, TokenRequest("test"), actor="test")[1]
        return {"Authorization": f"Bearer {token}"}

    def respond(self) -> None:
        self.container.response.responder.tick(self.clock.now())

    def incident(self) -> dict[str, Any]:
        board = self.client.get("/api/v1/incidents").json()
        assert len(board) == 1
        detail: dict[str, Any] = self.client.get(f"/api/v1/incidents/{board[0]['id']}").json()
        return detail

    def task(self, title: str) -> dict[str, Any]:
        return next(t for t in self.incident()["tasks"] if t["title"] == title)


@pytest.fixture
def desk(db_url: str, tmp_path: Path) -> Iterator[Desk]:
    config = write_small_config(tmp_path / "config", **{"plans.yaml": small_plans()})
    clock = FakeClock()
    container = build(Settings(database_url=db_url, config_dir=config), clock=clock)
    container.admin.add_user("duty", Role.DUTY_OFFICER, unit="NAT", actor="test")
    headers = {
        "Authorization": f"Bearer {container.access.issue('duty', TokenRequest('t'), actor='t')[1]}"
    }
    try:
        with TestClient(create_app(container), headers=headers) as client:
            desk = Desk(client, container, clock, headers)
            sent = client.post(
                "/api/v1/observations", json={"observations": [obs("D11.river_level", 0, 4.5)]}
            )
            assert sent.status_code == 202, sent.text
            desk.respond()
            yield desk
    finally:
        container.close()


def test_the_board_and_an_incident_with_its_tasks_and_timeline(desk: Desk) -> None:
    detail = desk.incident()
    assert (detail["state"], detail["plan"], detail["plan_level"]) == ("active", "flood", "orange")
    assert (detail["response_level"], detail["lead_unit"]) == ("III", "P1-CP")
    assert [link["kind"] for link in detail["links"]] == ["warning"]
    assert {(t["title"], t["unit"], t["state"]) for t in detail["tasks"]} == {
        ("Inspect the levees", "D11-FLOOD", "assigned"),
        ("Prepare shelters", "P1-CP", "assigned"),
    }
    assert [r["kind"] for r in detail["timeline"]][:2] == ["incident.opened", "incident.activated"]
    warning = detail["links"][0]["ref"]
    linked = desk.client.get(f"/api/v1/incidents/linked/warning/{warning}").json()
    assert [x["id"] for x in linked] == [detail["id"]]
    assert desk.client.get("/api/v1/incidents/linked/warning/nope").json() == []
    plans = desk.client.get("/api/v1/plans").json()
    assert [(p["id"], [x["level"] for x in p["levels"]]) for p in plans] == [
        ("flood", ["orange", "red"])
    ]


def test_a_unit_works_its_tasks_and_the_next_one_follows(desk: Desk) -> None:
    d11 = desk.token("crew", Role.UNIT_MEMBER, "D11-FLOOD")
    mine = desk.client.get("/api/v1/tasks", params={"mine": "true"}, headers=d11).json()
    assert [t["title"] for t in mine] == ["Inspect the levees"]
    levees = mine[0]["id"]
    desk.clock.advance(timedelta(minutes=3))
    done = desk.client.post(
        f"/api/v1/tasks/{levees}/accept", json={"reason": "crew out"}, headers=d11
    )
    assert done.status_code == 200
    assert done.json()["state"] == "accepted"
    note = desk.client.post(
        f"/api/v1/tasks/{levees}/note", json={"reason": "north bank ok"}, headers=d11
    )
    assert note.json()["state"] == "accepted"
    assert_problem(
        desk.client.post(f"/api/v1/tasks/{levees}/complete", json={}, headers=d11),
        409,
    )
    finished = desk.client.post(
        f"/api/v1/tasks/{levees}/complete", json={"outcome": "levees hold"}, headers=d11
    )
    assert finished.json()["state"] == "done"
    assert finished.json()["outcome"] == "levees hold"
    history = desk.client.get(f"/api/v1/tasks/{levees}", headers=d11).json()["history"]
    assert [r["kind"] for r in history] == [
        "task.assigned",
        "task.accepted",
        "task.noted",
        "task.completed",
    ]
    # a unit member may not reassign nor work on another unit's task
    shelters = desk.task("Prepare shelters")["id"]
    assert_problem(desk.client.post(f"/api/v1/tasks/{shelters}/accept", json={}, headers=d11), 403)
    assert_problem(
        desk.client.post(
            f"/api/v1/tasks/{levees}/reassign", json={"unit": "P1-CP", "reason": "x"}, headers=d11
        ),
        403,
    )
    moved = desk.client.post(
        f"/api/v1/tasks/{shelters}/reassign", json={"unit": "D11-FLOOD", "reason": "P1 busy"}
    )
    assert (moved.json()["unit"], moved.json()["state"]) == ("D11-FLOOD", "assigned")


def test_commands_of_the_duty_officer(desk: Desk) -> None:
    incident = desk.incident()["id"]
    up = desk.client.post(
        f"/api/v1/incidents/{incident}/activate",
        json={"plan": "flood", "level": "red", "reason": "levee breach reported"},
    )
    assert (up.json()["plan_level"], up.json()["response_level"]) == ("red", "I")
    assert_problem(
        desk.client.post(
            f"/api/v1/incidents/{incident}/activate",
            json={"plan": "flood", "level": "red", "reason": "again"},
        ),
        409,
    )
    linked = desk.client.post(
        f"/api/v1/incidents/{incident}/links",
        json={"links": [{"kind": "public_alert", "ref": "cap-42"}], "reason": "issued"},
    )
    assert {"kind": "public_alert", "ref": "cap-42"} in linked.json()["links"]
    split = desk.client.post(
        f"/api/v1/incidents/{incident}/split",
        json={
            "title": "Shelters",
            "tasks": [desk.task("Prepare shelters")["id"]],
            "reason": "run apart",
        },
    )
    assert split.status_code == 201
    assert split.json()["state"] == "active"
    merged = desk.client.post(
        f"/api/v1/incidents/{split.json()['id']}/merge",
        json={"into": incident, "reason": "back together"},
    )
    assert merged.json()["id"] == incident
    assert_problem(
        desk.client.post(f"/api/v1/incidents/{incident}/close", json={"reason": "x"}), 409
    )
    stood = desk.client.post(
        f"/api/v1/incidents/{incident}/stand-down",
        json={"reason": "over", "cancel_open": True},
    )
    assert stood.json()["state"] == "stabilised"
    reports = desk.client.get(f"/api/v1/incidents/{incident}/situation-reports").json()
    assert reports == []


def test_situation_reports_as_json_html_and_pdf(desk: Desk) -> None:
    incident = desk.incident()["id"]
    facts = desk.client.get(f"/api/v1/incidents/{incident}/situation").json()
    assert facts["by_level"] == {"red": 0, "orange": 1, "yellow": 0, "blue": 0}
    assert [r["code"] for r in facts["map"]["regions"] if r["affected"]] == ["D11"]
    assert [i["code"] for i in facts["indicators"]] == ["D11.river_level"]
    page = desk.client.get(f"/api/v1/incidents/{incident}/situation", params={"format": "html"})
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="fig-map"' in page.text
    assert "Prepare shelters" in page.text
    pdf = desk.client.get(f"/api/v1/incidents/{incident}/situation", params={"format": "pdf"})
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content[:5] == b"%PDF-"
    issued = desk.client.post(f"/api/v1/incidents/{incident}/situation-reports", json={})
    assert issued.status_code == 201
    stored = desk.client.get(f"/api/v1/situation-reports/{issued.json()['id']}").json()
    assert stored["by_level"] == facts["by_level"]
    listed = desk.client.get(f"/api/v1/incidents/{incident}/situation-reports").json()
    assert [r["id"] for r in listed] == [issued.json()["id"]]
    timeline = desk.incident()["timeline"]
    assert timeline[-1]["kind"] == "incident.report_issued"
    region = desk.client.get("/api/v1/regions/P1/situation").json()
    assert [i["id"] for i in region["incidents"]] == [incident]
    assert_problem(desk.client.get("/api/v1/regions/NOPE/situation"), 404)


def test_the_scorecard_as_json_and_csv(desk: Desk) -> None:
    start, end = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"
    got = desk.client.get("/api/v1/scorecard", params={"start": start, "end": end}).json()
    assert got["region"] is None
    units = {(r["unit"], r["tasks_received"]) for r in got["rows"]}
    assert ("D11-FLOOD", 1) in units
    assert ("P1-CP", 1) in units
    csv = desk.client.get(
        "/api/v1/scorecard", params={"start": start, "end": end, "region": "P1", "format": "csv"}
    )
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("unit,domain,warnings_received")
    assert_problem(desk.client.get("/api/v1/scorecard", params={"start": end, "end": start}), 422)
    assert_problem(
        desk.client.get("/api/v1/scorecard", params={"start": "yesterday", "end": end}), 422
    )


def test_bad_input_is_refused_whole_and_stores_nothing(desk: Desk) -> None:
    before = table_counts(desk.container)
    refused = desk.client.post(
        "/api/v1/incidents",
        json={"title": "x", "region": "NOPE", "domain": "nope", "reason": "r", "lead": "X"},
    )
    assert_problem(
        refused,
        422,
        [
            ("body", "region", "unknown region"),
            ("body", "domain", "unknown domain"),
            ("body", "lead", "unknown unit"),
        ],
    )
    assert_problem(desk.client.post("/api/v1/incidents", json={"title": "x"}), 422)
    assert_problem(desk.client.post("/api/v1/tasks/nope/accept", json={}), 404)
    assert_problem(desk.client.post("/api/v1/tasks/nope/explode", json={}), 422)
    assert table_counts(desk.container) == before


def test_another_province_sees_nothing_and_may_do_nothing(desk: Desk) -> None:
    p2 = desk.token("p2", Role.DUTY_OFFICER, "P2-CP")
    incident = desk.incident()["id"]
    assert desk.client.get("/api/v1/incidents", headers=p2).json() == []
    assert desk.client.get("/api/v1/tasks", headers=p2).json() == []
    assert_problem(desk.client.get(f"/api/v1/incidents/{incident}", headers=p2), 403)
    assert_problem(desk.client.get(f"/api/v1/incidents/{incident}/situation", headers=p2), 403)
    assert_problem(
        desk.client.post(
            f"/api/v1/incidents/{incident}/stand-down", json={"reason": "x"}, headers=p2
        ),
        403,
    )
    anonymous = TestClient(desk.client.app)
    assert_problem(anonymous.get("/api/v1/incidents"), 401)
