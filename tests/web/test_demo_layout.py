"""Layout an operator notices, measured on the demo scenario: the board and the map on a phone,
level badges never clipped, toasts never over a button, map labels never on top of each other,
warning markers on the series. Bounding boxes come from the real browser."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Demo, guarded_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True}
DESK = {"viewport": {"width": 1366, "height": 768}}

# [header text, header left, header right, cell left, cell right] of every visible column
COLUMNS_JS = """() => {
  const t = document.getElementById('board');
  const shown = (el) => getComputedStyle(el).display !== 'none';
  const heads = [...t.querySelectorAll('thead th')].filter(shown);
  return [...t.querySelectorAll('tbody tr')].map((tr) => {
    const cells = [...tr.children].filter(shown);
    return heads.map((h, i) => {
      const a = h.getBoundingClientRect(), b = cells[i] ? cells[i].getBoundingClientRect() : null;
      return [h.textContent.trim(), a.left, a.right, b ? b.left : null, b ? b.right : null];
    });
  });
}"""
BOXES_JS = """(selector) => [...document.querySelectorAll(selector)]
  .filter((e) => e.offsetParent !== null)
  .map((e) => e.getBoundingClientRect())
  .map((b) => [b.left, b.top, b.right, b.bottom])"""


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_the_phone_board_keeps_every_header_over_its_cells(
    demo: Demo, browser: Any, shots: Any
) -> None:
    with guarded_page(browser, sign_in=(demo.url, demo.token), **PHONE) as (page, _):
        page.goto(demo.url + "/#/board")
        expect(page.locator("#board tbody tr").first).to_be_visible()
        # the page of warnings is drawn before the catalogue; measure once the names are in
        expect(page.locator("body")).to_have_attribute("data-ready", "board")
        rows = page.evaluate(COLUMNS_JS)
        assert rows
        for row in rows:
            assert [c[0] for c in row] == ["Level", "Region", "What", "Actions"]
            for _, head_left, head_right, cell_left, cell_right in row:
                assert cell_left is not None
                assert abs(head_left - cell_left) < 1
                assert abs(head_right - cell_right) < 1
        # nothing wider than the screen: neither the page nor the table's own scroller
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.evaluate("document.querySelector('.table-scroll').scrollWidth") <= 390
        # what the hidden columns said is still there: the state and the age of each warning
        first = page.locator("#board tbody tr").first
        expect(first.locator(".show-narrow").first).to_have_text("active")
        expect(first).to_contain_text("raised ")
        shots(page, "demo-phone-board")


def test_the_phone_map_shows_active_warnings_on_the_first_screen(
    demo: Demo, browser: Any, shots: Any
) -> None:
    with guarded_page(browser, sign_in=(demo.url, demo.token), **PHONE) as (page, _):
        page.goto(demo.url + "/#/map")
        expect(page.locator("#focus-warnings li a").first).to_be_visible()
        first = page.locator("#focus-warnings li").first.bounding_box()
        assert first is not None
        assert first["y"] + first["height"] <= 844  # before any scrolling
        expect(page.locator("#focus-note")).to_have_text(
            re.compile(r"^World · \d+ active warnings?, here and in the regions below$")
        )
        # 180 nations scroll inside their own list: the page is a few screens, not 6,000 px
        assert page.evaluate("document.documentElement.scrollHeight") < 3 * 844
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shots(page, "demo-phone-map")


def test_level_badges_in_the_map_panel_are_never_clipped(demo: Demo, browser: Any) -> None:
    with guarded_page(browser, sign_in=(demo.url, demo.token), **DESK) as (page, _):
        page.goto(demo.url + "/#/map/ITA")
        badges = page.locator("#focus-warnings .badge")
        expect(badges.first).to_be_visible()
        clipped = page.evaluate(
            "[...document.querySelectorAll('#focus-warnings .badge')]"
            ".filter((b) => b.scrollWidth > b.clientWidth).map((b) => b.textContent)"
        )
        assert clipped == []
        texts = badges.all_text_contents()
        assert set(texts) <= {"RED", "ORANGE", "YELLOW", "BLUE"}


@pytest.mark.parametrize("screen", [DESK, PHONE], ids=["desk", "phone"])
def test_toasts_never_cover_an_acknowledge_button(
    demo: Demo, browser: Any, screen: dict[str, Any]
) -> None:
    with guarded_page(browser, sign_in=(demo.url, demo.token), **screen) as (page, _):
        page.goto(demo.url + "/")
        page.evaluate(f"localStorage.setItem('tocsin.token', {demo.token!r})")
        page.goto(demo.url + "/#/board")
        buttons = page.locator("#board button.ack")
        expect(buttons.first).to_be_visible()
        expect(page.locator("body")).to_have_attribute("data-ready", "board")  # names in
        before = buttons.count()
        buttons.last.click()  # acknowledges the last row: a toast says so
        toast = page.locator("#toasts .toast").first
        expect(toast).to_contain_text("Acknowledged")
        expect(buttons).to_have_count(before - 1)
        assert (
            page.evaluate("getComputedStyle(document.getElementById('toasts')).pointerEvents")
            == "none"
        )
        toasts = page.evaluate(BOXES_JS, "#toasts .toast")
        acks = page.evaluate(BOXES_JS, "#board button.ack")
        assert toasts
        assert acks
        assert not [(t, a) for t in toasts for a in acks if _overlap(t, a)]


def test_map_labels_do_not_pile_up_at_world_zoom(demo: Demo, browser: Any, shots: Any) -> None:
    with guarded_page(browser, sign_in=(demo.url, demo.token), **DESK) as (page, _):
        page.goto(demo.url + "/#/map")
        page.get_by_label("Risk class").check()
        expect(page.locator("#map-legend")).to_contain_text("Very High", timeout=20_000)
        expect(page.locator(".lvl-tip").first).to_be_visible()
        page.wait_for_load_state("networkidle")
        labels = page.evaluate(BOXES_JS, ".lvl-tip")
        assert len(labels) >= 10
        expect(page.locator("#map")).to_have_attribute("data-labels", str(len(labels)))
        piled = [(a, b) for i, a in enumerate(labels) for b in labels[i + 1 :] if _overlap(a, b)]
        assert piled == []
        shots(page, "demo-map-risk-labels")


def test_warning_markers_sit_on_the_series_not_on_the_axis(demo: Demo, browser: Any) -> None:
    with guarded_page(browser, sign_in=(demo.url, demo.token), **DESK) as (page, _):
        page.goto(demo.url + "/#/indicator/hospital.db_cpu")
        expect(page.locator("#chart")).to_have_attribute(  # the first scores compile the detector
            "data-indicator", "hospital.db_cpu", timeout=120_000
        )
        found = page.evaluate(
            """() => {
              const el = document.getElementById('chart');
              const axis = el._fullLayout.yaxis.range;
              const raised = el.data.filter((t) => /^warning (raised|upgraded)/.test(t.name));
              const series = el.data[0];
              return [axis, raised.flatMap((t) => t.y), raised.flatMap((t) => t.x.map(String)),
                      series.y, series.x.map((d) => new Date(d).getTime())];
            }"""
        )
        (axis_low, axis_high), marker_y, _, series_y, _ = found
        span = axis_high - axis_low
        assert marker_y
        # a higher-is-worse indicator's raises and upgrades happen on high values: each marker
        # is drawn well above the bottom of the axis, at a value the series takes
        assert all(y > axis_low + 0.05 * span for y in marker_y)
        assert set(marker_y) <= set(series_y)
