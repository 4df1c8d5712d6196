"""The response in a real browser (Debian's Chromium), as a duty officer and a unit would use
it: the incident board, one incident with its tasks by unit and its timeline, an upgrade and a
stand-down each confirmed with a reason, the situation report downloaded as a PDF, a unit's
own tasks worked from "My tasks", and the scorecard with its CSV."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Served, T, guarded_page, serve
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.users import Role
from tocsin.services.access import TokenRequest
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import small_plans, write_small_config

pytestmark = pytest.mark.browser
SYSTEM = system_principal("test")


@dataclass
class Desk:
    """The served dashboard, the duty officer's token and a D11 flood crew member's."""

    served: Served
    crew: str


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    config = write_small_config(tmp_path / "config", **{"plans.yaml": small_plans()})
    clock = FakeClock()
    container = build(
        Settings(database_url=f"sqlite:///{tmp_path / 'tocsin.db'}", config_dir=config),
        clock=clock,
    )
    tokens = {}
    for name, role, unit in (
        ("duty", Role.DUTY_OFFICER, "NAT"),
        ("crew", Role.UNIT_MEMBER, "D11-FLOOD"),
    ):
        container.admin.add_user(name, role, unit=unit, actor="test")
        tokens[name] = container.access.issue(name, TokenRequest("test"), actor="test")[1]
    served = Served("", container, tokens["duty"])
    served.ingest([("D11.river_level", T, 4.5)])
    container.response.responder.tick(clock.now())
    with serve(container) as url:
        served.url = url
        yield Desk(served, tokens["crew"])
    container.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A guarded page at 1366×768 signed in to nothing yet (each test signs in to the desk)."""
    with guarded_page(browser, viewport={"width": 1366, "height": 768}) as (opened, _):
        yield opened


def signed_in(page: Any, url: str, token: str) -> None:
    """Open a session for the page's browser context with the token (the sign-in cookie)."""
    opened = page.context.request.post(url + "/api/v1/session", data={"token": token})
    assert opened.ok, opened.text()


def incident_id(desk: Desk) -> str:
    (incident,) = desk.served.container.response.incidents.find(principal=SYSTEM)
    return incident.id


def test_the_wall_and_an_incident_with_its_tasks_and_timeline(
    desk: Desk, page: Any, shots: Any
) -> None:
    signed_in(page, desk.served.url, desk.served.token)
    page.goto(desk.served.url + "/#/incidents")
    cards = page.locator("#incident-wall li.card")
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("data-response", "III")
    expect(cards.first).to_contain_text("Flood response: District D11")
    expect(cards.first).to_contain_text("tasks 0/2 done")
    shots(page, "incident-board")
    cards.first.locator("button").click()
    detail = page.locator("#incident-detail")
    expect(detail).to_be_visible()
    expect(detail.locator(".unit-tasks[data-unit='D11-FLOOD']")).to_contain_text(
        "Inspect the levees"
    )
    expect(detail.locator(".unit-tasks[data-unit='P1-CP']")).to_contain_text("Prepare shelters")
    expect(detail.locator("#incident-timeline li")).to_have_count(4)
    expect(detail.locator("#incident-timeline")).to_contain_text("activated")
    with page.expect_download() as downloaded:
        detail.locator("#report-pdf").click()
    pdf = Path(downloaded.value.path())
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert downloaded.value.suggested_filename.endswith(".pdf")
    shots(page, "incident-detail")


def test_upgrade_and_stand_down_are_confirmed_with_a_reason(desk: Desk, page: Any) -> None:
    signed_in(page, desk.served.url, desk.served.token)
    ident = incident_id(desk)
    page.goto(desk.served.url + f"/#/incidents/{ident}")
    form = page.locator("#activate-form")
    form.locator("select[name='level']").select_option("red")
    form.get_by_role("button", name="Activate").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Activate flood at red?")
    page.locator("#confirm-ok").click()
    expect(page.locator("#confirm-error")).to_have_text("A reason is needed.")  # not without one
    page.fill("#confirm-reason", "levee breach reported")
    page.locator("#confirm-ok").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#incident-detail h3")).to_contain_text("Level I")
    expect(page.locator(".unit-tasks[data-unit='D11-FLOOD']")).to_contain_text(
        "Evacuate the riverside"
    )
    page.locator("#stand-down").click()
    page.fill("#confirm-reason", "river back in its bed")
    page.locator("#confirm-cancel-open").check()
    page.locator("#confirm-ok").click()
    expect(page.locator("#incident-detail dl")).to_contain_text("stabilised")
    stored = desk.served.container.response.incidents.get(ident, principal=SYSTEM)
    assert stored.state.value == "stabilised"
    trail = desk.served.container.response.incidents.timeline(ident, principal=SYSTEM)
    assert [(r.actor, r.reason) for r in trail if r.kind == "incident.stood_down"] == [
        ("duty", "river back in its bed")
    ]


def test_a_unit_works_its_own_tasks(desk: Desk, page: Any, shots: Any) -> None:
    signed_in(page, desk.served.url, desk.crew)
    page.goto(desk.served.url + "/#/tasks")
    tasks = page.locator("#my-tasks li.task")
    expect(tasks).to_have_count(1)  # the crew's unit has one task; the province's is not shown
    task = tasks.first
    expect(task).to_contain_text("Inspect the levees")
    expect(task).to_contain_text("north bank")
    task.get_by_role("button", name="Accept").click()
    expect(page.locator("#my-tasks li.task").first).to_have_attribute("data-state", "accepted")
    task = page.locator("#my-tasks li.task").first
    task.locator("input[name='reason']").fill("levees hold")
    task.get_by_role("button", name="Done").click()
    expect(page.locator("#my-tasks")).to_contain_text("Nothing to do.")
    done = desk.served.container.response.tasks.find(
        principal=SYSTEM, unit="D11-FLOOD", open_only=False
    )
    assert [(t.state.value, t.outcome) for t in done] == [("done", "levees hold")]
    shots(page, "my-tasks")


def test_the_scorecard_and_its_csv(desk: Desk, page: Any) -> None:
    signed_in(page, desk.served.url, desk.served.token)
    page.goto(desk.served.url + "/#/scorecard")
    page.fill("#sc-start", "2025-12-31")
    page.fill("#sc-end", "2026-01-02")
    page.get_by_role("button", name="Show").click()
    rows = page.locator("#scorecard tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#scorecard tbody tr[data-unit='D11-FLOOD']")).to_contain_text("0/1")
    with page.expect_download() as downloaded:
        page.locator("#scorecard-csv").click()
    text = Path(downloaded.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("unit,domain,warnings_received")
    assert len(text.splitlines()) == 3
