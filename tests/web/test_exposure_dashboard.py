"""The exposure view in a real browser: known exploited by due date, the cascade on the map."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import guarded_page, serve
from tocsin.adapters.vulnerability_feeds import parse_feed
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.exposure.advisories import Feed
from tocsin.core.users import Role
from tocsin.services.access import TokenRequest
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import exposure_config, write_small_config

pytestmark = pytest.mark.browser
FIXTURES = Path(__file__).parent.parent / "fixtures" / "exposure"


@pytest.fixture
def exposed(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The exposure scenario with the three feeds imported, served: its URL and a duty
    officer's token (its own database: one process owns a database's rules)."""
    config = write_small_config(tmp_path / "config", **exposure_config())
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'exposed.db'}", config_dir=config)
    container = build(settings, clock=FakeClock())
    container.admin.add_user("duty", Role.DUTY_OFFICER, unit="NAT", actor="test")
    token = container.access.issue("duty", TokenRequest("test"), actor="test")[1]
    for feed in Feed:
        text = (FIXTURES / f"{feed.value}.json").read_text(encoding="utf-8")
        advisories = parse_feed(feed, text, where=feed.value)
        container.exposure.import_advisories(
            advisories, principal=system_principal("test"), where=feed.value
        )
    with serve(container) as url:
        yield url, token
    container.close()


@pytest.fixture
def page(browser: Any, exposed: tuple[str, str]) -> Iterator[Any]:
    """A guarded page at 1366×768 signed in to the exposure scenario."""
    with guarded_page(browser, sign_in=exposed, viewport={"width": 1366, "height": 768}) as (
        opened,
        _,
    ):
        yield opened


def test_known_exploited_by_due_date_and_the_cascade_drawn(
    exposed: tuple[str, str], page: Any, shots: Any
) -> None:
    page.goto(exposed[0] + "/#/exposure")
    rows = page.locator("#kev-list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-advisory", "CVE-2021-41773")
    expect(rows.nth(1)).to_have_attribute("data-advisory", "CVE-2099-0001")
    expect(rows.nth(0)).to_contain_text("2021-11-17")
    expect(page.locator("#exposure-assets tr[data-asset='SUB']")).to_contain_text("HSP WTR")
    page.locator("#kev-list tbody tr").nth(1).get_by_role("link", name="SUB").click()
    expect(page.locator("#exposure-map")).to_have_attribute("data-drawn", "3")
    # the substation exposed, the water works and the hospital lost with it, as points and words
    expect(page.locator("path.cascade-asset")).to_have_count(3)
    expect(page.locator("path.cascade-exposed.asset-SUB")).to_have_count(1)
    expect(page.locator("path.cascade-failed.asset-HSP")).to_have_count(1)
    expect(page.locator("path.cascade-edge")).to_have_count(3)  # SUB→WTR, SUB→HSP, WTR→HSP
    expect(page.locator("path.cascade-region")).to_have_count(2)  # D11 and D12
    expect(page.locator("#cascade-list li[data-asset='HSP']")).to_contain_text("lost with it")
    expect(page.locator("#cascade-title")).to_have_text("If Substation is lost")
    shots(page, "exposure")
    page.keyboard.press("1")
    expect(page.locator("#view-map")).to_be_visible()
    page.keyboard.press("9")
    expect(page.locator("#view-exposure")).to_be_visible()


def test_the_cyber_model_is_a_live_model_of_the_risk_view(
    exposed: tuple[str, str], page: Any, shots: Any
) -> None:
    """The risk view offers the cyber exposure model beside the configured one (none here),
    computed from the exposure now: the substation's district first, its tree explained."""
    page.goto(exposed[0] + "/#/risk")
    expect(page.locator("#risk-empty")).to_contain_text("no risk model configured")
    page.locator("#risk-model").select_option("cyber_exposure")
    expect(page.locator("#risk-model-name")).to_have_text(
        "Cyber exposure of critical infrastructure"
    )
    rows = page.locator("#risk-body table.risk-ranking tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("D11")
    expect(rows.nth(1)).to_contain_text("D12")
    rows.nth(0).get_by_role("link").click()
    expect(page.locator("#risk-body h3")).to_contain_text(
        "Cyber exposure of critical infrastructure"
    )
    expect(page.locator("#risk-body .risk-tree")).to_contain_text("CY_EXPLOITED")
    expect(page.locator("#risk-body .risk-tree")).to_contain_text("Dependent assets at risk")
    shots(page, "risk-cyber")
