"""The operations dashboard in a real browser (Debian's Chromium via Playwright), offline."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.web.conftest import Served, T, guarded_page, serve, small_container
from tocsin.core.access import system_principal
from tocsin.core.warnings.selectors import Selector
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import gauges_with_detector, small_config

SYSTEM = system_principal("test")

pytestmark = pytest.mark.browser


def _regions() -> list[dict[str, Any]]:
    regions: list[dict[str, Any]] = small_config()["regions.yaml"]["regions"]
    return regions


def _children(parent: str) -> list[str]:
    return [r["code"] for r in _regions() if r.get("parent") == parent]


def test_the_map_draws_every_region_with_its_level_in_colour_and_text(
    served: Served, page: Any, shots: Any
) -> None:
    page.goto(served.url + "/")
    top = _children("N")  # the single root's children are the first view
    expect(page.locator("#map")).to_have_attribute("data-regions", str(len(top)))
    for code in top:
        expect(page.locator(f"path.region-{code}")).to_have_count(1)
    # P1 holds the red river warning (D11) and the orange rainfall; P2 the yellow reservoir
    expect(page.locator("path.region-P1")).to_have_class(
        "region region-P1 lvl-red leaflet-interactive"
    )
    expect(page.locator("path.region-P2")).to_have_class(
        "region region-P2 lvl-yellow leaflet-interactive"
    )
    expect(page.locator(".lvl-tip", has_text="RED")).to_have_count(1)
    expect(page.locator(".lvl-tip", has_text="YELLOW")).to_have_count(1)
    expect(page.locator("#region-list button[data-code='P1']")).to_contain_text("RED")
    shots(page, "map")


def test_clicking_a_region_drills_down_to_its_children_and_warnings(
    served: Served, page: Any, shots: Any
) -> None:
    page.goto(served.url + "/")
    page.locator("path.region-P1").click()
    expect(page.locator("#map")).to_have_attribute("data-focus", "P1")
    kids = _children("P1")
    expect(page.locator("#map")).to_have_attribute("data-regions", str(len(kids)))
    for code in kids:
        expect(page.locator(f"path.region-{code}")).to_have_count(1)
    expect(page.locator("path.region-P2")).to_have_count(0)
    expect(page.locator("path.region-D11")).to_have_class(
        "region region-D11 lvl-red leaflet-interactive"
    )
    expect(page.locator("#crumbs")).to_contain_text("Nation")
    # the warnings of P1's subtree (river in D11, rainfall in P1), not P2's reservoir
    warnings = page.locator("#focus-warnings li")
    expect(warnings).to_have_count(2)
    expect(page.locator("#focus-warnings")).not_to_contain_text("Reservoir")
    shots(page, "map-drilldown")
    page.keyboard.press("u")
    expect(page.locator("#map")).to_have_attribute("data-focus", "N")


def test_the_page_signs_in_once_and_acknowledging_updates_the_board(
    served: Served, browser: Any, shots: Any
) -> None:
    with guarded_page(browser, viewport={"width": 1366, "height": 768}) as (page, _):
        page.goto(served.url + "/#/board")
        dialog = page.locator("#sign-in-dialog")
        expect(dialog).to_be_visible()  # reads are private: the page asks to sign in
        page.fill("#sign-in-user", "duty")
        page.fill("#sign-in-password", "not the password")
        dialog.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.locator("#sign-in-error")).to_contain_text("not right")
        page.fill("#sign-in-user", "")
        page.fill("#sign-in-password", "")
        page.fill("#sign-in-token", served.token)
        dialog.get_by_role("button", name="Sign in", exact=True).click()
        rows = page.locator("#board tbody tr")
        expect(rows).to_have_count(3)
        # the session is an HttpOnly cookie: the page's scripts cannot read it
        assert "tocsin_session" not in page.evaluate("document.cookie")
        assert page.evaluate("JSON.stringify(localStorage)") == "{}"
        expect(rows.nth(0)).to_have_attribute("data-level", "red")  # most severe first
        expect(rows.nth(2)).to_have_attribute("data-level", "yellow")
        red = page.locator("#board tbody tr[data-level='red']")
        red.get_by_role("button", name="Acknowledge").click()
        expect(red).to_have_attribute("data-state", "acknowledged")
        expect(red.get_by_role("button", name="Acknowledge")).to_have_count(0)
        stored = served.container.warnings.find(principal=SYSTEM, levels=("red",))
        assert [w.state.value for w in stored] == ["acknowledged"]
        assert stored[0].acknowledged_by == "duty"
        # signed in once: the next acknowledgement does not ask again
        page.locator("#board tbody tr[data-level='yellow']").get_by_role(
            "button", name="Acknowledge"
        ).click()
        expect(page.locator("#board tbody tr[data-level='yellow']")).to_have_attribute(
            "data-state", "acknowledged"
        )
        expect(dialog).to_be_hidden()
        expect(page.locator("#session-button")).to_have_text("Sign out duty")
        shots(page, "board")


def test_a_warning_detail_shows_explanation_and_history(
    served: Served, page: Any, shots: Any
) -> None:
    page.goto(served.url + "/#/board")
    page.locator("#board tbody tr[data-level='red']").click()
    detail = page.locator("#detail")
    expect(detail).to_be_visible()
    expect(detail).to_contain_text("above the red threshold")
    expect(detail.locator(".history li")).to_have_count(1)
    expect(detail).to_contain_text("raised")
    expect(detail.locator("#silence-form")).to_be_visible()
    shots(page, "board-detail")


def test_one_reading_over_threshold_and_detector_is_one_row_with_both_causes(
    tmp_path: Path, browser: Any, shots: Any
) -> None:
    container, token = small_container(tmp_path, gauges_with_detector())
    assert isinstance(container.clock, FakeClock)
    container.clock.set(datetime.fromtimestamp(T + 600 * 30, UTC))  # the last reading is now
    values = 2.0 + 0.05 * np.random.default_rng(3).standard_normal(31)
    values[30] = 4.0  # orange by its threshold, yellow by the detector
    served = Served("", container, token)
    served.ingest([("D11.river_level", T + 600 * i, float(v)) for i, v in enumerate(values)])
    viewport = {"width": 1366, "height": 768}
    try:
        with (
            serve(container) as url,
            guarded_page(browser, sign_in=(url, token), viewport=viewport) as (page, _),
        ):
            page.goto(url + "/#/board")
            rows = page.locator("#board tbody tr")
            expect(rows).to_have_count(1)
            expect(rows.nth(0)).to_have_attribute("data-level", "orange")
            expect(rows.nth(0)).to_contain_text("threshold + detector")
            rows.nth(0).click()
            causes = page.locator("#detail ul.causes li")
            expect(causes).to_have_count(2)
            expect(causes.filter(has_text="above the orange threshold 3.5")).to_have_count(1)
            expect(causes.filter(has_text="robust_z score")).to_have_count(1)
            expect(page.locator("#detail .history li")).to_contain_text("detector: yellow")
            shots(page, "board-detail-causes")
    finally:
        container.close()


def test_a_new_warning_appears_live_without_reloading(served: Served, page: Any) -> None:
    page.goto(served.url + "/#/board")
    expect(page.locator("#board tbody tr")).to_have_count(3)
    expect(page.locator("body")).to_have_attribute("data-live", "open")
    page.evaluate("window.__sameDocument = true")
    assert isinstance(served.container.clock, FakeClock)
    served.container.clock.set(datetime.fromtimestamp(T + 600 * 3, UTC))  # admits the readings
    body = {
        "observations": [
            {"indicator": "D12.river_level", "time": T + 600 * k, "value": 4.5} for k in range(4)
        ]
    }
    response = httpx.post(
        served.url + "/api/v1/observations",
        json=body,
        headers={"Authorization": f"Bearer {served.token}"},
    )
    assert response.status_code == 202
    assert response.json()["warnings_changed"] >= 1
    row = page.locator("#board tbody tr", has_text="D12.river_level")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-level", "orange")
    expect(page.locator("#summary")).to_have_attribute("data-open", "4")
    assert page.evaluate("window.__sameDocument") is True  # no reload happened


def test_the_board_filters_by_level_domain_and_region(served: Served, page: Any) -> None:
    page.goto(served.url + "/#/board")
    rows = page.locator("#board tbody tr")
    expect(rows).to_have_count(3)
    page.locator("input[name='level'][value='red']").check()
    expect(rows).to_have_count(1)
    page.locator("input[name='level'][value='red']").uncheck()
    expect(rows).to_have_count(3)
    page.select_option("#f-domain", "supply.water")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_have_attribute("data-level", "yellow")
    page.select_option("#f-domain", "")
    page.fill("#f-region", "P1")
    expect(rows).to_have_count(2)


def test_the_indicator_chart_shows_series_thresholds_and_warning_moments(
    served: Served, page: Any, shots: Any
) -> None:
    later = [4.0, 3.0, 1.0]  # down through orange and yellow, then back to normal
    assert isinstance(served.container.clock, FakeClock)
    served.container.clock.set(datetime.fromtimestamp(T + 600 * len(later), UTC))
    served.ingest([("D11.river_level", T + 600 * (k + 1), v) for k, v in enumerate(later)])
    found = served.container.warnings.find(principal=SYSTEM, open_only=False, limit=100)
    (warning,) = [w for w in found if w.subject == "D11.river_level"]
    history = served.container.warnings.history(warning.id, principal=SYSTEM)
    page.goto(served.url + "/#/indicator/D11.river_level")
    # plotly.js (4.8 MB) loads with the first chart: seconds on a loaded machine
    chart = page.locator("#chart")
    expect(chart).to_have_attribute("data-indicator", "D11.river_level", timeout=30_000)
    expect(page.locator("#chart .main-svg").first).to_be_visible()
    # the value line, four thresholds, and raised/downgraded/lifted markers are legend entries
    legend = page.locator("#chart .legend .traces")
    expect(legend.filter(has_text="red threshold")).to_have_count(1)
    expect(legend.filter(has_text="warning raised")).to_have_count(1)
    expect(legend.filter(has_text="warning lifted")).to_have_count(1)
    expect(legend.filter(has_text="detector score")).to_have_count(1)
    expect(page.locator("#chart-note")).to_contain_text("anomaly score")
    kinds = [r.kind for r in history]
    assert (kinds[0], kinds[-1]) == ("warning.raised", "warning.lifted")
    expect(page.locator("#moments li")).to_have_count(len(history))
    shots(page, "indicator")


def test_without_a_risk_model_the_risk_view_says_so_and_shows_no_numbers(
    served: Served, page: Any, shots: Any
) -> None:
    page.goto(served.url + "/#/risk/N")
    empty = page.locator("#risk-body #risk-empty")
    expect(empty).to_contain_text("No risk model loaded")
    expect(page.locator("#risk-body .risk-node")).to_have_count(0)
    page.goto(served.url + "/#/map")
    page.get_by_label("Risk class").check()
    expect(page.locator("#map-legend")).to_contain_text("no risk model configured")
    expect(page.locator("path.region")).to_have_count(2)
    shots(page, "risk-none")


def test_the_keyboard_reaches_every_view_and_acts(served: Served, page: Any) -> None:
    page.goto(served.url + "/")
    expect(page.locator("#map")).to_have_attribute("data-regions", "2")
    page.keyboard.press("2")
    expect(page.locator("body")).to_have_attribute("data-ready", "board")
    expect(page.locator("#board tbody tr")).to_have_count(3)
    page.keyboard.press("j")
    first = page.locator("#board tbody tr").nth(0)
    expect(first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#detail")).to_be_visible()
    page.keyboard.press("a")
    expect(first).to_have_attribute("data-state", "acknowledged")
    page.keyboard.press("Escape")
    expect(page.locator("#detail")).to_be_hidden()
    page.keyboard.press("3")
    expect(page.locator("body")).to_have_attribute("data-ready", "indicator")
    page.keyboard.press("4")
    expect(page.locator("body")).to_have_attribute("data-ready", "risk")
    page.keyboard.press("1")
    expect(page.locator("body")).to_have_attribute("data-ready", "map")
    page.locator("#region-list button[data-code='P1']").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#map")).to_have_attribute("data-focus", "P1")


def test_the_dashboard_is_usable_on_a_phone(served: Served, browser: Any, shots: Any) -> None:
    with guarded_page(
        browser,
        sign_in=(served.url, served.token),
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    ) as (page, _):
        page.goto(served.url + "/")
        expect(page.locator("#map")).to_have_attribute("data-regions", "2")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "the page scrolls sideways on a phone"
        shots(page, "phone-map")
        page.goto(served.url + "/#/board")
        expect(page.locator("#board tbody tr")).to_have_count(3)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shots(page, "phone-board")


def test_a_request_to_another_host_fails_the_guard(served: Served, browser: Any) -> None:
    with (  # noqa: PT012
        pytest.raises(AssertionError, match=r"requests left 127\.0\.0\.1"),
        guarded_page(browser, sign_in=(served.url, served.token)) as (page, _),
    ):
        page.goto(served.url + "/")
        expect(page.locator("#map")).to_have_attribute("data-regions", "2")
        with contextlib.suppress(PlaywrightError):
            page.goto("http://192.0.2.1/probe")


def test_a_second_user_approves_or_refuses_a_broad_silence_from_the_strip(
    served: Served, page: Any
) -> None:
    auth = {"Authorization": f"Bearer {served.token}"}
    now = served.container.clock.now()
    made = [
        served.container.silences.create(
            Selector("N", None, frozenset(), ()),
            principal=system_principal("ana"),
            reason=reason,
            ends_at=now + timedelta(days=2),
        )
        for reason in ("national drill", "quiet month")
    ]
    page.goto(served.url + "/#/board")
    panel = page.locator("#silences")
    expect(panel.locator("summary")).to_contain_text("Silences (2)")
    panel.locator("summary").click()
    drill = panel.locator(f"li[data-id='{made[0].id}']")
    expect(drill).to_contain_text("needs a second user (wide_region, all_levels_long)")
    drill.get_by_role("button", name="Approve").click()
    expect(panel.locator(f"li[data-id='{made[0].id}']")).to_have_attribute("data-state", "active")
    month = panel.locator(f"li[data-id='{made[1].id}']")
    month.get_by_label("Why refuse").fill("a month is too long")
    month.get_by_role("button", name="Refuse").click()
    expect(panel.locator(f"li[data-id='{made[1].id}']")).to_have_count(0)
    states = {
        s["id"]: (s["state"], s["approval"]["decided_by"], s["approval"]["note"])
        for s in httpx.get(
            served.url + "/api/v1/silences", params={"state": "all"}, headers=auth
        ).json()
    }
    assert states == {
        made[0].id: ("active", "duty", ""),
        made[1].id: ("refused", "duty", "a month is too long"),
    }


def test_silencing_a_warning_records_owner_reason_and_expiry(
    served: Served, page: Any, shots: Any
) -> None:
    auth = {"Authorization": f"Bearer {served.token}"}
    page.goto(served.url + "/#/board")
    page.locator("#board tbody tr[data-level='orange']").click()
    form = page.locator("#silence-form")
    form.get_by_label("Reason").fill("rain gauge maintenance")
    form.get_by_label("Expires after").select_option("24")
    form.get_by_role("button", name="Silence").click()
    expect(form.locator("[role=status]")).to_contain_text("Silenced by duty")
    (silence,) = httpx.get(served.url + "/api/v1/silences", headers=auth).json()
    assert silence["created_by"] == "duty"
    assert silence["reason"] == "rain gauge maintenance"
    assert silence["selector"]["region"] == "P1"
    assert silence["selector"]["domain"] == "natural.flood"
    starts, ends = (datetime.fromisoformat(silence[k]) for k in ("starts_at", "ends_at"))
    assert timedelta(hours=23) < ends - starts <= timedelta(hours=24, minutes=1)
    panel = page.locator("#silences")
    expect(panel.locator("summary")).to_contain_text("Silences (1)")
    panel.locator("summary").click()
    shots(page, "board-silence")
    panel.get_by_role("button", name="Expire").click()
    expect(panel.locator("summary")).not_to_contain_text("Silences (1)", timeout=15_000)
    assert httpx.get(served.url + "/api/v1/silences", headers=auth).json() == []
