"""Public alerts over HTTP: drafting, four-eyes approval and refusals as Problem bodies; the
public CAP documents and Atom feed without a token, with ETags and conditional GET; pushes
and validation of XML bodies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Api, assert_problem, obs, serve_api, table_counts
from tests.cap_support import read_independently
from tests.conftest import BENCHDATA
from tocsin.adapters.config_yaml import dump_yaml
from tocsin.core.users import Role
from tocsin.testing.scenario import small_cap_config

CAP = BENCHDATA / "cap"
XML = {"Content-Type": "application/cap+xml"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    config = tmp_path / "config"
    config.mkdir()
    (config / "cap.yaml").write_text(dump_yaml(small_cap_config()), encoding="utf-8")
    with serve_api(f"sqlite:///{tmp_path / 't.db'}", tmp_path, benchdata=BENCHDATA) as served:
        yield served


def _red_warning(api: Api) -> str:
    api.client.post("/api/v1/observations", json={"observations": [obs("D11.river_level", 0, 5.5)]})
    (warning,) = api.client.get("/api/v1/warnings").json()
    return str(warning["id"])


def test_a_draft_is_approved_by_a_second_person_and_served_to_anyone(api: Api) -> None:
    warning_id = _red_warning(api)
    supervisor = api.token_for("sup", Role.DUTY_OFFICER)
    made = api.client.post("/api/v1/cap/alerts", json={"warning_id": warning_id})
    assert made.status_code == 201, made.text
    alert = made.json()
    ident = alert["identifier"]
    assert (alert["state"], alert["authors"], alert["level"]) == ("draft", ["duty"], "red")
    assert [i["language"] for i in alert["infos"]] == ["en-GB", "fr-FR"]
    preview = api.client.get(f"/api/v1/cap/alerts/{ident}/preview").json()
    assert (preview["valid"], preview["problems"]) == (True, [])
    read_independently(preview["xml"])
    assert api.client.post(f"/api/v1/cap/alerts/{ident}/submit", json={}).status_code == 200
    own = api.client.post(f"/api/v1/cap/alerts/{ident}/approve", json={})
    assert_problem(own, 403)
    assert "second person" in own.json()["detail"]
    done = api.client.post(
        f"/api/v1/cap/alerts/{ident}/approve", json={"reason": "ok"}, headers=supervisor
    )
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["approved_by"]) == ("published", "sup")
    document = api.anonymous.get(f"/cap/{ident}.xml")
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/cap+xml"
    read_independently(document.text)
    unchanged = api.anonymous.get(
        f"/cap/{ident}.xml", headers={"If-None-Match": document.headers["etag"]}
    )
    assert unchanged.status_code == 304
    feed = api.anonymous.get("/cap/feed.atom?region=P1&level=red&lang=fr-FR")
    assert feed.status_code == 200
    assert feed.headers["content-type"] == "application/atom+xml"
    assert ident in feed.text
    full = api.anonymous.get("/cap/feed.atom?full=true")
    assert '<content type="application/cap+xml"><alert' in full.text
    assert api.anonymous.get("/cap/feed.atom?region=P2").text.count("<entry>") == 0
    again = api.anonymous.get(
        "/cap/feed.atom?region=P1&level=red&lang=fr-FR",
        headers={"If-None-Match": feed.headers["etag"]},
    )
    assert (again.status_code, again.content) == (304, b"")
    page = api.anonymous.get("/cap/")  # the API alone does not serve the page
    assert page.status_code == 404
    by_warning = api.client.get(f"/api/v1/cap/alerts?warning_id={warning_id}").json()
    assert [a["identifier"] for a in by_warning] == [ident]
    history = api.client.get(f"/api/v1/cap/alerts/{ident}/history").json()
    assert [h["kind"] for h in history][-1] == "public_alert.published"


def test_refusals_are_problems_and_drafts_are_not_public(api: Api) -> None:
    warning_id = _red_warning(api)
    member = api.token_for("member", Role.UNIT_MEMBER)
    assert_problem(
        api.client.post("/api/v1/cap/alerts", json={"warning_id": warning_id}, headers=member), 403
    )
    assert_problem(api.client.post("/api/v1/cap/alerts", json={"warning_id": "nope"}), 404)
    problems = [
        ("body", "regions", "required"),
        ("body", "domain", "required"),
        ("body", "level", "required"),
    ]
    assert_problem(api.client.post("/api/v1/cap/alerts", json={}), 422, problems)
    unknown = api.client.post(
        "/api/v1/cap/alerts", json={"regions": ["ZZ"], "domain": "fire", "level": "red"}
    )
    assert_problem(unknown, 422, [("regions", "region", "unknown region(s) ZZ")])
    ident = api.client.post("/api/v1/cap/alerts", json={"warning_id": warning_id}).json()[
        "identifier"
    ]
    for command in ("approve", "publish", "submit"):  # a member may neither approve nor draft
        assert_problem(
            api.client.post(f"/api/v1/cap/alerts/{ident}/{command}", json={}, headers=member), 403
        )
    assert_problem(api.anonymous.get(f"/cap/{ident}.xml"), 404)
    assert_problem(api.anonymous.get(f"/api/v1/cap/alerts/{ident}"), 401)
    assert_problem(api.client.post(f"/api/v1/cap/alerts/{ident}/reject", json={"reason": ""}), 422)
    assert_problem(api.client.post(f"/api/v1/cap/alerts/{ident}/publish", json={}), 409)
    late = api.client.post(
        f"/api/v1/cap/alerts/{ident}/edit", json={"expires": "2025-01-01T00:00:00Z"}
    )
    assert late.status_code == 200
    refused = api.client.post(f"/api/v1/cap/alerts/{ident}/submit", json={})
    body = assert_problem(refused, 422)
    assert {(p["where"], p["field"]) for p in body["problems"]} >= {
        ("alert.info[0].expires", "expires")
    }
    assert_problem(api.anonymous.get("/cap/feed.atom?region=ZZ"), 422)
    assert_problem(api.anonymous.get("/cap/feed.atom?level=purple"), 422)


def test_pushed_alerts_are_imported_and_bad_documents_refused_whole(api: Api) -> None:
    good = (CAP / "oasis-spec-examples" / "example3.xml").read_bytes()
    imported = api.client.post("/api/v1/cap/imports", content=good, headers=XML)
    assert imported.status_code == 200, imported.text
    assert (imported.json()["read"], imported.json()["new"]) == (1, 1)
    listed = api.client.get("/api/v1/cap/imports").json()
    assert [i["identifier"] for i in listed] == ["TRI13970876.2"]
    before = table_counts(api.container)
    for name in ("xee.cap", "sweden.cap", "no_link.atom"):
        bad = (CAP / "invalid" / name).read_bytes()
        assert_problem(api.client.post("/api/v1/cap/imports", content=bad, headers=XML), 422)
    assert table_counts(api.container) == before
    wrong_type = api.client.post(
        "/api/v1/cap/imports", content=good, headers={"Content-Type": "application/json"}
    )
    assert_problem(wrong_type, 422, [("headers", "content-type", "send the XML itself")])
    checked = api.client.post(
        "/api/v1/cap/validate", content=(CAP / "invalid" / "invalid.cap").read_bytes(), headers=XML
    )
    assert checked.status_code == 200
    assert checked.json()["valid"] is False
    assert "scope" in checked.json()["problems"][0]["reason"]
    valid = api.client.post("/api/v1/cap/validate", content=good, headers=XML).json()
    assert (valid["valid"], valid["alerts"]) == (True, 1)
