"""The dashboard on the real demo scenario (world countries, Italy's provinces, NAB series)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import expect

from tests.web.conftest import Demo, guarded_page
from tocsin.demo.sources import countries

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _regions(config: Path) -> list[dict[str, Any]]:
    regions: list[dict[str, Any]] = yaml.safe_load((config / "regions.yaml").read_text())["regions"]
    return regions


def test_the_demo_map_draws_every_country_and_drills_into_italy(
    demo: Demo, browser: Any, shots: Any
) -> None:
    url, config = demo.url, demo.config
    regions = _regions(config)
    nations = [r["code"] for r in regions if r.get("parent") == "WORLD"]
    geo = countries()
    assert len(nations) == sum(1 for f in geo["features"] if str(f["id"]).isalpha())
    with guarded_page(
        browser, sign_in=(demo.url, demo.token), viewport={"width": 1366, "height": 768}
    ) as (page, _):
        page.goto(url + "/")
        expect(page.locator("#map")).to_have_attribute("data-regions", str(len(nations)))
        expect(page.locator("path.region")).to_have_count(len(nations))
        expect(page.locator("path.region-ITA")).not_to_have_class(re.compile(r"\blvl-none\b"))
        shots(page, "demo-map")
        page.locator("path.region-ITA").click()
        provinces = [r["code"] for r in regions if r.get("parent") == "ITA"]
        expect(page.locator("#map")).to_have_attribute("data-focus", "ITA")
        expect(page.locator("path.region")).to_have_count(len(provinces))
        shots(page, "demo-map-italy")
        page.goto(url + "/#/board")
        expect(page.locator("#board tbody tr").first).to_be_visible()
        page.locator("#board tbody tr").first.click()
        expect(page.locator("#detail .history li").first).to_be_visible()
        shots(page, "demo-board")
        page.goto(url + "/#/indicator/hospital.db_cpu")
        expect(page.locator("#chart")).to_have_attribute("data-indicator", "hospital.db_cpu")
        expect(page.locator("#moments li").first).to_be_visible()
        expect(page.locator("#chart-note")).to_contain_text("anomaly score", timeout=20_000)
        shots(page, "demo-indicator")


def test_the_demo_risk_view_explains_a_country_and_colours_the_map(
    demo: Demo, browser: Any, shots: Any
) -> None:
    url = demo.url
    with guarded_page(
        browser, sign_in=(demo.url, demo.token), viewport={"width": 1366, "height": 768}
    ) as (page, _):
        page.goto(url + "/#/risk/ITA")
        tree = page.locator("#risk-body .risk-tree")
        expect(tree).to_contain_text("INFORM Risk")
        expect(tree).to_contain_text("Hazard & Exposure")
        expect(tree).to_contain_text("Vulnerability")
        expect(tree).to_contain_text("Lack of Coping Capacity")
        shots(page, "demo-risk")
        page.goto(url + "/#/map")
        page.get_by_label("Risk class").check()
        expect(page.locator("#map")).to_have_attribute("data-mode", "risk")
        expect(page.locator("#map-legend")).to_contain_text("Very High")
        # INFORM 2023 publishes Somalia as 8.7, "Very High"; Italy as 2.6, "Low"
        badge = "#region-list button[data-code='{}'] .badge"
        expect(page.locator(badge.format("SOM"))).to_have_text("Very High")
        expect(page.locator(badge.format("ITA"))).to_have_text("Low")
        shots(page, "demo-map-risk")


def test_the_demo_on_a_phone(demo: Demo, browser: Any, shots: Any) -> None:
    url = demo.url
    with guarded_page(
        browser,
        sign_in=(demo.url, demo.token),
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
    ) as (page, _):
        page.goto(url + "/#/map/ITA")
        expect(page.locator("#map")).to_have_attribute("data-focus", "ITA")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shots(page, "demo-phone")
