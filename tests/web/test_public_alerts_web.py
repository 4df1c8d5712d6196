"""Public alerts in a real browser (Debian's Chromium via Playwright), offline: a duty officer
drafts from a warning and submits, is refused approving their own alert, a supervisor approves
it; the public page shows it on a phone with its map, and keeps showing it without a network."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.cap_support import read_independently
from tests.conftest import BENCHDATA
from tests.web.conftest import Guard, T, _guarded, guarded_page, serve
from tocsin.adapters.config_yaml import dump_yaml
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import Principal, system_principal
from tocsin.core.observations import ObservationBatch
from tocsin.core.users import Role
from tocsin.services.access import TokenRequest
from tocsin.services.publication import Choices
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import small_cap_config, write_small_config

pytestmark = pytest.mark.browser
SYSTEM = system_principal("test")


@dataclass
class Desk:
    """The dashboard served with a red flood warning, and two duty officers' tokens."""

    url: str
    container: Container
    duty: str
    supervisor: str


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    config = write_small_config(tmp_path / "config")
    (config / "cap.yaml").write_text(dump_yaml(small_cap_config()), encoding="utf-8")
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 't.db'}", config_dir=config, benchdata=BENCHDATA
    )
    container = build(settings, clock=FakeClock())
    tokens = []
    for name in ("duty", "supervisor"):
        container.admin.add_user(name, Role.DUTY_OFFICER, unit="NAT", actor="test")
        tokens.append(container.access.issue(name, TokenRequest("test"), actor="test")[1])
    ids = container.rules.ids
    container.ingest.ingest_batch(
        ObservationBatch(
            np.array([ids["D11.river_level"]], dtype=np.int64),
            np.array([T], dtype=np.int64),
            np.array([5.5], dtype=np.float64),
        )
    )
    with serve(container) as url:
        yield Desk(url, container, tokens[0], tokens[1])
    container.close()


def test_a_duty_officer_drafts_and_a_supervisor_approves_in_the_dashboard(
    desk: Desk, browser: Any, shots: Any
) -> None:
    desk_view = {"width": 1366, "height": 900}
    with guarded_page(browser, sign_in=(desk.url, desk.duty), viewport=desk_view) as (page, _):
        page.goto(desk.url + "/#/cap")
        expect(page.locator("#cap-warning option")).to_have_count(2)  # by hand, and the warning
        page.locator("#cap-warning").select_option(index=1)
        page.get_by_role("button", name="Draft").click()
        detail = page.locator("#cap-detail")
        expect(detail).to_have_attribute("data-state", "draft")
        expect(detail.locator(".cap-info")).to_have_count(2)  # en-GB and fr-FR
        expect(detail).to_contain_text("Vigilance rouge")
        expect(detail.locator(".cap-valid")).to_be_visible()
        detail.locator("summary", has_text="CAP XML").click()
        expect(detail.locator("pre")).to_contain_text("<severity>Extreme</severity>")
        shots(page, "public-alert-draft")
        detail.get_by_role("button", name="Submit for approval").click()
        expect(detail).to_have_attribute("data-state", "submitted")
        detail.get_by_role("button", name="Approve and publish").click()
        expect(page.locator("#toasts")).to_contain_text("second person")
        expect(detail).to_have_attribute("data-state", "submitted")
        identifier = page.evaluate("location.hash").split("/")[-1]
    with guarded_page(browser, sign_in=(desk.url, desk.supervisor), viewport=desk_view) as (
        page,
        _,
    ):
        page.goto(f"{desk.url}/#/cap/{identifier}")
        detail = page.locator("#cap-detail")
        expect(detail).to_have_attribute("data-state", "submitted")
        detail.get_by_role("button", name="Approve and publish").click()
        expect(detail).to_have_attribute("data-state", "published")
        expect(page.locator("#cap-public li")).to_have_count(1)
        shots(page, "public-alert-published")
    (published,) = desk.container.cap.views.active()
    assert (published.approved_by, published.authors) == ("supervisor", ("duty",))
    assert published.xml is not None
    read_independently(published.xml)


def test_the_public_page_reads_on_a_phone_with_a_map_and_offline(
    desk: Desk, browser: Any, shots: Any
) -> None:
    alerts = desk.container.cap.alerts
    access = desk.container.access
    people: dict[str, Principal] = {
        u.name: access.principal(u) for u, _ in desk.container.admin.users()
    }
    (warning,) = desk.container.warnings.find(principal=SYSTEM)
    draft = alerts.draft_from_warning(warning.id, principal=people["duty"], choices=Choices())
    alerts.submit(draft.identifier, principal=people["duty"])
    alerts.approve(draft.identifier, principal=people["supervisor"])
    phone: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True}
    with guarded_page(browser, **phone) as (page, _):
        page.goto(desk.url + "/cap/")
        card = page.locator("article.alert")
        expect(card).to_have_count(1)
        expect(card).to_contain_text("Red (level I)")
        expect(card).to_contain_text("Follow the advice")
        expect(page.locator("#map")).to_have_attribute("data-areas", "1")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing wider than the phone
        assert page.context.cookies() == []  # nothing to track anyone with
        shots(page, "public-page-phone")
        page.get_by_role("link", name="fr-FR").click()
        expect(card).to_contain_text("Vigilance rouge")
    context = browser.new_context(service_workers="allow", **phone)
    guard = Guard()
    _guarded(context, guard)
    try:
        page = context.new_page()
        page.goto(desk.url + "/cap/")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.reload()  # now under the worker, which keeps a copy
        expect(page.locator("article.alert")).to_have_count(1)
        context.set_offline(True)
        page.reload()
        expect(page.locator("article.alert")).to_have_count(1)
        expect(page.locator("#offline")).to_be_visible()
    finally:
        context.close()
    assert guard.blocked == []
