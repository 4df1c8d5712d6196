"""The dashboard in a storm (issue 22), in a real browser: 10,000 grid cells red at once.

The board shows a page of warnings at a time and pages through all of them; the map shows the
nation's provinces with their counts (aggregated on the server) and drills down to a district's
300 cells; and when 3,000 more warnings change at once, the live stream sends the browser a few
summaries, not 3,000 events, and the page reloads its views a few times, not 3,000.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.web.conftest import Served, T, guarded_page, serve
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.users import Role
from tocsin.services.access import TokenRequest
from tocsin.testing.grid import Grid, write_grid_config

pytestmark = pytest.mark.browser

GRID = Grid(cells=10_000)
PAGE = 200  # the board's page (board.js)
WARNINGS = "/api/v1/warnings?"
# counts every server-sent event the page receives, whatever listens to it
COUNT_EVENTS = """
window.__events = 0;
const Plain = window.EventSource;
window.EventSource = class extends Plain {
  constructor(...args) {
    super(...args);
    for (const t of ["warnings", "silences", "resync"]) {
      this.addEventListener(t, () => window.__events++);
    }
  }
};
"""


def _post_levels(served: Served, cells: range, value: float, at: int) -> dict[str, Any]:
    body = {
        "observations": [
            {"indicator": GRID.indicator(i), "time": at, "value": value} for i in cells
        ]
    }
    response = httpx.post(
        served.url + "/api/v1/observations",
        json=body,
        headers={"Authorization": f"Bearer {served.token}"},
        timeout=300,
    )
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture(scope="module")
def storm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The 10,000-cell grid on SQLite, served, every cell red through the ingest API."""
    work = tmp_path_factory.mktemp("storm")
    config = write_grid_config(work / "config", GRID)
    container = build(
        Settings(
            database_url=f"sqlite:///{work / 'tocsin.db'}",
            config_dir=config,
            background_workers=False,
            env="dev",  # built before each test's environment: a development deployment
        )
    )
    container.admin.add_user("duty", Role.DUTY_OFFICER, unit="NAT", actor="test")
    token = container.access.issue("duty", TokenRequest("test"), actor="test")[1]
    with serve(container) as url:
        served = Served(url, container, token)
        answer = _post_levels(served, range(GRID.cells), 5.5, T)
        assert answer["warnings_changed"] == GRID.cells
        yield served
    container.close()


@pytest.fixture
def page(browser: Any, storm: Served) -> Iterator[Any]:
    """A guarded page at 1366×768, signed in to the storm's server as its duty officer."""
    with guarded_page(
        browser, sign_in=(storm.url, storm.token), viewport={"width": 1366, "height": 768}
    ) as (page, _):
        yield page


def test_the_board_pages_through_ten_thousand_open_warnings(storm: Served, page: Any) -> None:
    page.goto(storm.url + "/#/board")
    rows = page.locator("#board tbody tr")
    expect(rows).to_have_count(PAGE)
    expect(page.locator("#summary")).to_have_attribute("data-open", str(GRID.cells))
    expect(page.locator("#board-count")).to_have_text("warnings 1–200 of more")
    first = rows.nth(0).get_attribute("data-id")
    page.get_by_role("button", name="Next →").click()
    expect(page.locator("#board-pager")).to_have_attribute("data-offset", str(PAGE))
    expect(page.locator("#board-count")).to_have_text("warnings 201–400 of more")
    expect(rows).to_have_count(PAGE)
    assert rows.nth(0).get_attribute("data-id") != first
    page.get_by_role("button", name="← Previous").click()
    expect(page.locator("#board-pager")).to_have_attribute("data-offset", "0")
    expect(rows.nth(0)).to_have_attribute("data-id", str(first))
    # a filter narrows to one district's 300 cells: two pages, the second holds 100
    expect(page.locator("body")).to_have_attribute("data-ready", "board")  # names known
    with page.expect_response(lambda r: "region=D001" in r.url):
        page.fill("#f-region", "D001")
    expect(page.locator("#board-count")).to_have_text("warnings 1–200 of more")
    page.get_by_role("button", name="Next →").click()
    expect(page.locator("#board-count")).to_have_text("warnings 201–300")
    expect(page.get_by_role("button", name="Next →")).to_be_disabled()
    assert {r.get_attribute("data-level") for r in rows.all()} == {"red"}


def test_the_map_shows_counts_by_province_and_drills_down_to_the_cells(
    storm: Served, page: Any
) -> None:
    page.goto(storm.url + "/")
    expect(page.locator("#map")).to_have_attribute("data-regions", str(GRID.provinces))
    expect(page.locator("path.region-P01")).to_have_class(
        "region region-P01 lvl-red leaflet-interactive"
    )
    per_province = GRID.per_district * GRID.districts_per_province
    expect(page.locator("#region-list button[data-code='P01'] .n")).to_have_text(str(per_province))
    page.locator("#region-list button[data-code='P01']").click()
    expect(page.locator("#map")).to_have_attribute("data-focus", "P01")
    page.locator("#region-list button[data-code='D001']").click()
    expect(page.locator("#map")).to_have_attribute("data-regions", str(GRID.per_district))
    expect(page.locator("path.lvl-red")).to_have_count(GRID.per_district)


def test_a_storm_of_changes_reaches_the_browser_as_a_few_summaries(
    storm: Served, browser: Any
) -> None:
    reloads: list[str] = []
    try:
        with guarded_page(
            browser, sign_in=(storm.url, storm.token), viewport={"width": 1366, "height": 768}
        ) as (page, _):
            page.add_init_script(COUNT_EVENTS)
            page.on("request", lambda r: reloads.append(r.url) if WARNINGS in r.url else None)
            page.goto(storm.url + "/#/board")
            expect(page.locator("#board tbody tr")).to_have_count(PAGE)
            # the stream opens once the first view and the catalogue (10,000 regions and
            # indicators) are in: seconds on a loaded machine
            expect(page.locator("body")).to_have_attribute("data-live", "open", timeout=60_000)
            before = len(reloads)
            lifted = 3_000
            answer = _post_levels(storm, range(lifted), 1.0, T + 600)
            assert answer["warnings_changed"] == lifted
            # the board catches up without a reload: 3,000 fewer open
            open_now = str(GRID.cells - lifted)
            expect(page.locator("#summary")).to_have_attribute("data-open", open_now)
            expect(page.locator(".toast", has_text="warnings changed")).not_to_have_count(0)
            events = int(page.evaluate("window.__events"))
            assert 1 <= events <= 20, events  # a few summaries, not 3,000 events
            assert len(reloads) - before <= 20, reloads[before:]
            assert page.locator(".toast").count() <= 3
            expect(page.locator("#board tbody tr")).to_have_count(PAGE)
    finally:
        _post_levels(storm, range(3_000), 5.5, T + 1200)  # the other tests see 10,000 again
