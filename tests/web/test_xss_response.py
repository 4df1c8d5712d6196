"""The views the response, public alerts and exposure added show every text from configuration
or people as text: a scenario whose plan, task, template, asset, region, unit and indicator
names and whose people's reasons and notes are all an HTML payload, visited by a browser with
the content security policy switched off: no dialog fires and no payload element appears, on
the incident board and detail, "My tasks", the scorecard, the public alert desk and its public
page, the exposure view and the situation report's HTML."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import BENCHDATA
from tests.web.conftest import Served, T, guarded_page, serve
from tests.web.test_xss import PAYLOAD, poison_names
from tocsin.adapters.vulnerability_feeds import parse_feed
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.exposure.advisories import Feed
from tocsin.core.reports import HandlingAction
from tocsin.core.users import Role, User, UserName
from tocsin.services.access import TokenRequest
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import (
    exposure_config,
    small_cap_config,
    small_plans,
    write_small_config,
)

pytestmark = pytest.mark.browser
FEEDS = Path(__file__).parent.parent / "fixtures" / "exposure"
DESK = {"width": 1366, "height": 900}
OPEN311_KEY = "xss-probe-key-0123456789"


@dataclass
class World:
    """The poisoned scenario served: its URL, a national duty officer's token, the incident."""

    url: str
    token: str
    supervisor: str
    crew: str
    incident: str
    container: Container


def _poisoned_docs() -> dict[str, Any]:
    docs = poison_names(exposure_config())
    for asset in docs["assets.yaml"]["assets"]:
        asset["name"] = f"{PAYLOAD} {asset['code']}"
    plans = small_plans()
    for plan in plans["plans"]:
        plan["name"] = f"{PAYLOAD} plan"
        for level in plan["levels"]:
            for task in level["tasks"]:
                task["title"] = f"{PAYLOAD} {task['id']}"
                task["checklist"] = [PAYLOAD for _ in task["checklist"]]
    cap = small_cap_config()
    for texts in cap["templates"]["default"].values():
        texts["instruction"] = PAYLOAD
        texts["headline"] = PAYLOAD + " " + texts["headline"]
    cap["sender_name"] = PAYLOAD
    return docs | {"plans.yaml": plans, "cap.yaml": cap}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    config = write_small_config(tmp_path / "config", **_poisoned_docs())
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'xss-response.db'}",
        config_dir=config,
        benchdata=BENCHDATA,
        open311_api_keys=f"city-app:{OPEN311_KEY}",
    )
    clock = FakeClock()
    container = build(settings, clock=clock)
    tokens = []
    for name in ("duty", "supervisor"):
        container.admin.add_user(name, Role.DUTY_OFFICER, unit="NAT", actor="test")
        tokens.append(container.access.issue(name, TokenRequest("test"), actor="test")[1])
    container.admin.add_user("crew", Role.UNIT_MEMBER, unit="D11-FLOOD", actor="test")
    tokens.append(container.access.issue("crew", TokenRequest("test"), actor="test")[1])
    for feed in Feed:
        text = (FEEDS / f"{feed.value}.json").read_text(encoding="utf-8")
        advisories = parse_feed(feed, text, where=feed.value)
        container.exposure.import_advisories(
            advisories, principal=system_principal("test"), where=feed.value
        )
    Served("", container, tokens[0]).ingest([("D11.river_level", T, 4.5)])  # orange: the plan
    container.response.responder.tick(clock.now())
    (incident,) = container.response.incidents.find(principal=system_principal("test"))
    with serve(container) as url:
        _people_write_payloads(url, tokens[0], incident.id)
        yield World(url, tokens[0], tokens[1], tokens[2], incident.id, container)
    container.close()


def _people_write_payloads(url: str, token: str, incident: str) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        for task in client.get("/api/v1/tasks").json():
            noted = client.post(f"/api/v1/tasks/{task['id']}/note", json={"reason": PAYLOAD})
            assert noted.status_code == 200, noted.text
        linked = client.post(
            f"/api/v1/incidents/{incident}/lead", json={"unit": "P1-CP", "reason": PAYLOAD}
        )
        assert linked.status_code == 200, linked.text
        (warning,) = [
            w for w in client.get("/api/v1/warnings").json() if w["domain"] == "natural.flood"
        ]
        drafted = client.post(
            "/api/v1/cap/alerts", json={"warning_id": warning["id"], "reason": PAYLOAD}
        )
        assert drafted.status_code == 201, drafted.text
        by_hand = {"regions": ["D12"], "domain": "natural.flood", "level": "yellow"}
        assert client.post("/api/v1/cap/alerts", json=by_hand | {"reason": PAYLOAD}).is_success


def _recorder(dialogs: list[str]) -> Any:
    """A dialog handler that records the dialog's message and dismisses it."""

    def record(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    return record


def _no_payload_ran(page: Any, dialogs: list[str]) -> None:
    page.wait_for_timeout(300)  # a late onerror would have fired by now
    assert page.locator("img[src='x']").count() == 0
    assert dialogs == []


def test_no_response_alert_or_exposure_view_runs_a_payload(world: World, browser: Any) -> None:
    dialogs: list[str] = []
    with guarded_page(
        browser,
        sign_in=(world.url, world.token),
        bypass_csp=True,
        viewport=DESK,
    ) as (page, _):
        page.on("dialog", _recorder(dialogs))
        page.goto(world.url + "/#/incidents")
        card = page.locator("#incident-wall li.card")
        expect(card).to_have_count(1)
        expect(card).to_contain_text(PAYLOAD)  # the plan's name, as text
        page.goto(world.url + f"/#/incidents/{world.incident}")
        detail = page.locator("#incident-detail")
        expect(detail.locator(".unit-tasks").first).to_contain_text(PAYLOAD)
        expect(detail.locator("#incident-timeline")).to_contain_text(PAYLOAD)
        _no_payload_ran(page, dialogs)
        page.goto(world.url + "/#/scorecard")
        page.fill("#sc-start", "2025-12-31")
        page.fill("#sc-end", "2026-01-02")
        page.get_by_role("button", name="Show").click()
        expect(page.locator("#scorecard tbody tr[data-unit='D11-FLOOD']")).to_be_visible()
        _no_payload_ran(page, dialogs)
        page.goto(world.url + "/#/cap")
        expect(page.locator("#view-cap")).to_contain_text(PAYLOAD)
        page.locator("#cap-list li", has_text=PAYLOAD).first.click()
        expect(page.locator("#cap-detail")).to_contain_text(PAYLOAD)
        page.locator("#cap-detail summary", has_text="CAP XML").click()
        _no_payload_ran(page, dialogs)
        page.goto(world.url + "/#/exposure")
        expect(page.locator("#exposure-assets")).to_contain_text(PAYLOAD)
        page.locator("#kev-list tbody tr").first.get_by_role("link").first.click()
        expect(page.locator("#cascade-title")).to_contain_text(PAYLOAD)
        _no_payload_ran(page, dialogs)
        page.goto(world.url + f"/api/v1/incidents/{world.incident}/situation?format=html")
        expect(page.locator("body")).to_contain_text(PAYLOAD)
        _no_payload_ran(page, dialogs)
    with guarded_page(browser, sign_in=(world.url, world.crew), bypass_csp=True, viewport=DESK) as (
        page,
        _,
    ):
        page.on("dialog", _recorder(dialogs))
        page.goto(world.url + "/#/tasks")
        expect(page.locator("#view-tasks")).to_contain_text(PAYLOAD)  # titles and notes
        _no_payload_ran(page, dialogs)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _publish_and_report(world: World) -> str:
    """Publish the drafted alerts (duty submits, the supervisor approves) and take a public
    report whose description is a payload, answered with a payload; the report's id."""
    with httpx.Client(base_url=world.url) as client:
        for alert in client.get("/api/v1/cap/alerts", headers=_bearer(world.token)).json():
            one = f"/api/v1/cap/alerts/{alert['identifier']}"
            submitted = client.post(one + "/submit", json={}, headers=_bearer(world.token))
            assert submitted.is_success, submitted.text
            approved = client.post(
                one + "/approve", json={"reason": PAYLOAD}, headers=_bearer(world.supervisor)
            )
            assert approved.is_success, approved.text
        form = {
            "api_key": OPEN311_KEY,
            "service_code": "gas_smell",
            "lat": "45.5123",
            "long": "10.5123",
            "attribute[strength]": "strong",
            "description": PAYLOAD,
        }
        posted = client.post("/open311/v2/requests.json", data=form)
        assert posted.status_code == 200, posted.text
        rid = str(posted.json()[0]["service_request_id"])
    with world.container.store.transaction() as tx:
        stored = tx.reports.get(rid)
    assert stored is not None
    assert stored.unit is not None
    handler = User(UserName("handler"), Role.UNIT_MEMBER, stored.unit)  # the report's unit
    for action in (HandlingAction.ACKNOWLEDGE, HandlingAction.CLOSE):
        world.container.reports.act(rid, action, user=handler, note=PAYLOAD)
    return rid


def test_the_public_pages_show_published_texts_as_text(world: World, browser: Any) -> None:
    """Published alerts whose headline, instruction and sender are payloads, on the public
    page; a public report answered with a payload, on its public tracking view."""
    rid = _publish_and_report(world)
    dialogs: list[str] = []
    with guarded_page(browser, bypass_csp=True, viewport={"width": 390, "height": 844}) as (
        page,
        _,
    ):
        page.on("dialog", _recorder(dialogs))
        page.goto(world.url + "/cap/")
        expect(page.locator("article.alert")).to_have_count(2)
        expect(page.locator("article.alert").first).to_contain_text(PAYLOAD)
        _no_payload_ran(page, dialogs)
        page.goto(world.url + f"/report#track={rid}")
        expect(page.locator("#track-updates")).to_contain_text(PAYLOAD)
        _no_payload_ran(page, dialogs)
