"""The API reference page and the level table in a real browser, with nothing but 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Served
from tocsin.core.levels import LEVEL_STYLES, LEVELS, NO_LEVEL_COLOUR, Level

pytestmark = pytest.mark.browser


def _rgb(colour: str) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def test_the_api_reference_loads_offline_and_lists_every_operation(
    served: Served, page: Any, shots: Any
) -> None:
    doc = page.request.get(served.url + "/openapi.json").json()
    operations = sum(len(item) for item in doc["paths"].values())
    page.goto(served.url + "/docs")  # the guard fails the test on any request off 127.0.0.1
    expect(page.locator(".opblock")).to_have_count(operations)
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/observations")).to_have_count(1)
    expect(page.locator("button.authorize")).to_be_visible()  # the bearer scheme is declared
    expect(page.locator(".info .title")).to_contain_text("Tocsin")
    shots(page, "api-docs")


def test_the_dashboard_takes_ranks_and_colours_from_the_server(served: Served, page: Any) -> None:
    page.goto(served.url + "/")
    expect(page.locator("path.region-P1")).to_have_class(
        "region region-P1 lvl-red leaflet-interactive"
    )
    module = page.evaluate(
        "async () => { const m = await import('/static/js/format.js');"
        " return {levels: m.LEVELS, rank: m.RANK, colours: m.COLOURS, none: m.NONE_COLOUR}; }"
    )
    assert module["levels"] == [lv.value for lv in reversed(LEVELS)]
    assert module["rank"] == {lv.value: LEVEL_STYLES[lv].rank for lv in LEVELS}
    assert module["colours"] == {lv.value: LEVEL_STYLES[lv].colour for lv in LEVELS}
    assert module["none"] == NO_LEVEL_COLOUR
    red = LEVEL_STYLES[Level.RED]
    fill = page.locator("path.region-P1").evaluate("e => e.getAttribute('fill')")
    assert fill == red.colour
    badge = page.locator("#summary .badge.lvl-red")
    expect(badge).to_have_css("background-color", _rgb(red.colour))
    expect(badge).to_have_css("color", _rgb(red.text_colour))
    yellow = LEVEL_STYLES[Level.YELLOW]
    expect(page.locator("#summary .badge.lvl-yellow")).to_have_css(
        "color", _rgb(yellow.text_colour)
    )
