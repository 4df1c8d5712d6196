"""Every text from configuration or people is shown as text: a browser with the content security
policy switched off visits every view of a scenario whose every name, unit, reason and title is
an HTML payload, and no dialog fires and no payload element appears."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import expect

from tests.web.conftest import Served, T, guarded_page, serve
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.users import Role
from tocsin.services.access import TokenRequest
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import small_config, write_small_config

pytestmark = pytest.mark.browser

PAYLOAD = "<img src=x onerror=alert(1)>"
DEFAULT_DOMAINS = Path(__file__).parents[2] / "src" / "tocsin" / "defaults" / "domains.yaml"


def poison_names(docs: dict[str, Any]) -> dict[str, Any]:
    """The scenario's documents with every region, indicator, unit and domain name a payload."""
    for region in docs["regions.yaml"]["regions"]:
        region["name"] = f"{PAYLOAD} {region['code']}"
    for indicator in docs["indicators.yaml"]["indicators"]:
        indicator["name"] = f"{PAYLOAD} {indicator['code']}"
        indicator["unit"] = PAYLOAD
    for unit in docs["units.yaml"]["units"]:
        unit["name"] = PAYLOAD
    domains = yaml.safe_load(DEFAULT_DOMAINS.read_text(encoding="utf-8"))
    for domain in domains["domains"]:
        domain["name"] = f"{PAYLOAD} {domain['code']}"
    docs["domains.yaml"] = domains
    return docs


def _poisoned(folder: Path) -> Path:
    return write_small_config(folder, **poison_names(small_config()))


@pytest.fixture
def poisoned(tmp_path: Path) -> Iterator[Served]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'x.db'}", config_dir=_poisoned(tmp_path / "config")
    )
    container = build(settings, clock=FakeClock())
    container.admin.add_user("duty", Role.DUTY_OFFICER, unit="NAT", actor="test")
    token = container.access.issue("duty", TokenRequest("test"), actor="test")[1]
    result = Served("", container, token)
    result.ingest(
        [("D11.river_level", T, 5.5), ("D21.reservoir", T, 25.0), ("P1.rainfall", T, 45.0)]
    )
    with serve(container) as url:
        result.url = url
        _people_write_payloads(url, token)
        yield result
    container.close()


def _people_write_payloads(url: str, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=auth) as client:
        warnings = client.get("/api/v1/warnings").json()
        ends = "2026-01-02T00:00:00Z"
        silence = {"region": "D21", "ends_at": ends, "reason": PAYLOAD}
        assert client.post("/api/v1/silences", json=silence).status_code == 201
        broad = {"region": "N", "ends_at": ends, "reason": PAYLOAD}  # awaits a second user
        assert client.post("/api/v1/silences", json=broad).json()["state"] == "awaiting_approval"
        first = warnings[0]["id"]
        ack = client.post(f"/api/v1/warnings/{first}/acknowledge", json={"reason": PAYLOAD})
        assert ack.status_code == 200
        alert = {
            "labels": {
                "alertname": PAYLOAD,
                "region": "D12",
                "domain": "natural.flood",
                "level": "orange",
            },
            "annotations": {"summary": PAYLOAD},
        }
        assert client.post("/api/v2/alerts", json=[alert]).status_code == 200
        event = {
            "source": "x",
            "external_id": "1",
            "occurred_at": "2026-01-01T00:00:00Z",
            "region": "D11",
            "domain": "natural.flood",
            "severity": "red",
            "title": PAYLOAD,
            "description": PAYLOAD,
        }
        assert client.post("/api/v1/events", json={"events": [event]}).status_code == 202


def test_no_view_runs_a_payload_with_the_csp_switched_off(poisoned: Served, browser: Any) -> None:
    dialogs: list[str] = []
    with guarded_page(
        browser,
        sign_in=(poisoned.url, poisoned.token),
        bypass_csp=True,
        viewport={"width": 1366, "height": 768},
    ) as (page, _):

        def dialog(d: Any) -> None:
            dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)
        page.goto(poisoned.url + "/")
        expect(page.locator("#map")).to_have_attribute("data-regions", "2")
        page.locator("path.region-P1").hover()  # the tooltip
        expect(page.locator(".leaflet-tooltip", has_text=PAYLOAD).first).to_be_visible()
        page.locator("path.region-P1").click()
        expect(page.locator("#map")).to_have_attribute("data-focus", "P1")
        expect(page.locator("#region-list")).to_contain_text(PAYLOAD)  # shown, as text
        page.goto(poisoned.url + "/#/board")
        expect(page.locator("#board tbody tr")).to_have_count(4)
        expect(page.locator("#board")).to_contain_text(PAYLOAD)
        page.locator("#board tbody tr").first.click()
        expect(page.locator("#detail .history li").first).to_be_visible()
        expect(page.locator("#detail")).to_contain_text(PAYLOAD)
        page.locator("#silences summary").click()
        expect(page.locator("#silences")).to_contain_text(PAYLOAD)
        expect(page.locator("#silences").get_by_role("button", name="Approve")).to_be_visible()
        page.goto(poisoned.url + "/#/indicator/D11.river_level")
        expect(page.locator("#chart")).to_have_attribute("data-indicator", "D11.river_level")
        expect(page.locator("#indicator-title")).to_have_text(f"{PAYLOAD} D11.river_level")
        expect(page.locator("#chart")).to_contain_text(PAYLOAD)  # plotly's legend, as text
        page.locator("#indicator-filter").fill("D21")
        page.goto(poisoned.url + "/#/risk/P1")
        expect(page.locator("body")).to_have_attribute("data-ready", "risk")
        page.wait_for_timeout(300)  # a late onerror would have fired by now
        assert page.locator("img[src='x']").count() == 0
    assert dialogs == []
