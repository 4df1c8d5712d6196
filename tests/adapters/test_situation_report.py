"""A situation report's PDF read back with Debian's poppler-utils: its text (pdftotext), its
pictures (pdfimages) and its first page drawn (pdftoppm), checked against what happened; and
the HTML page it shares its pictures and rows with."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.incidents.model import Link, LinkKind
from tocsin.core.levels import LEVEL_STYLES, NO_LEVEL_COLOUR, Level
from tocsin.services.ingest import RawObservations
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import small_plans, write_small_config

SYSTEM = system_principal("test")
MIN = timedelta(minutes=1)


@dataclass
class Report:
    """A rendered report: the facts, the PDF on disk, the HTML page."""

    facts: dict[str, Any]
    pdf: Path
    html: str


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """An orange flood incident in D11 an hour old: the river series, a task overdue, a
    public alert linked."""
    work = tmp_path_factory.mktemp("sitrep")
    config = write_small_config(work / "cfg", **{"plans.yaml": small_plans()})
    clock = FakeClock()
    c: Container = build(Settings(database_url="memory://", config_dir=config), clock=clock)
    start = int(clock.now().timestamp())
    levels = [3.2, 3.6, 4.1, 4.4, 4.6, 4.5, 4.7]
    for i, value in enumerate(levels):
        clock.advance(10 * MIN)
        c.ingest.ingest(
            RawObservations(
                ["D11.river_level"], np.array([start + 600 * (i + 1)]), np.array([value])
            ),
            principal=SYSTEM,
        )
        c.response.responder.tick(clock.now())
    (incident,) = c.response.incidents.find(principal=SYSTEM)
    c.response.incidents.link(
        incident.id,
        principal=SYSTEM,
        links=[Link(LinkKind.PUBLIC_ALERT, "cap-2026-0042")],
        reason="public alert issued",
    )
    facts = c.response.situation.incident_facts(incident.id, principal=SYSTEM)
    pdf = work / "report.pdf"
    pdf.write_bytes(c.response.renderer.pdf(facts))
    html = c.response.renderer.html(facts)
    c.close()
    return Report(facts, pdf, html)


def text_of(pdf: Path) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    )
    return re.sub(r"[ \t]+", " ", out.stdout)


def test_the_text_says_what_happened(report: Report) -> None:
    text = text_of(report.pdf)
    assert "Situation report: Flood response: District D11" in text
    assert "Response level III" in text
    assert "Lead unit P1-CP" in text
    assert "Plan flood (at orange)" in text
    for heading in (
        "Affected regions",
        "Warnings by level",
        "Key indicators",
        "Tasks by unit",
        "Public alerts issued",
        "Public reports",
        "Latest on the timeline",
    ):
        assert heading in text, heading
    assert re.search(r"ORANGE D11 natural\.flood active", text)
    assert "River level at D11" in text
    # orange at 00:30: the levees were due for acceptance at 00:40; at 01:10 they are overdue
    assert "D11-FLOOD Inspect the levees assigned 2026-01-01 00:40 UTC overdue" in text
    assert "P1-CP Prepare shelters assigned 2026-01-01 00:45 UTC overdue" in text
    assert "cap-2026-0042" in text
    assert "incident.linked" in text
    assert "task.escalated" in text


def test_the_pictures_are_there_and_drawn_in_the_level_colours(
    report: Report, tmp_path: Path
) -> None:
    listing = subprocess.run(
        ["pdfimages", "-list", str(report.pdf)], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    assert len(listing) == 4  # map, warnings by level, the river chart, tasks by unit
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "60",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            str(report.pdf),
            str(tmp_path / "p"),
        ],
        check=True,
    )
    (page,) = tmp_path.glob("p-*1.png")
    colours = colour_counts(Image.open(page).convert("RGB"))
    orange = _rgb(LEVEL_STYLES[Level.ORANGE].colour)
    grey = _rgb(NO_LEVEL_COLOUR)
    assert _near(colours, orange) > 200  # D11 filled orange on the map (and its level bar)
    assert _near(colours, grey) > 200  # D12, beside it, without a warning
    assert _near(colours, _rgb(LEVEL_STYLES[Level.RED].colour)) < _near(colours, orange)


def colour_counts(image: Image.Image) -> dict[tuple[int, int, int], int]:
    """How many pixels of each colour."""
    out: dict[tuple[int, int, int], int] = {}
    for count, colour in image.getcolors(maxcolors=1 << 24) or []:
        assert isinstance(colour, tuple)
        rgb = (int(colour[0]), int(colour[1]), int(colour[2]))
        out[rgb] = out.get(rgb, 0) + count
    return out


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _near(colours: dict[tuple[int, int, int], int], target: tuple[int, int, int]) -> int:
    """Pixels within a small distance of a colour (rendering smooths edges)."""
    return sum(
        n
        for c, n in colours.items()
        if sum(abs(a - b) for a, b in zip(c, target, strict=True)) < 24
    )


def test_the_html_page_says_the_same_and_runs_no_script(report: Report) -> None:
    page = report.html
    assert "<script" not in page
    for name in ("map", "levels", "indicator-0", "tasks"):
        assert f'id="fig-{name}"' in page
    assert "cap-2026-0042" in page
    assert "Prepare shelters" in page
    assert page.count('class="overdue"') == 2


def test_facts_hold_the_series_and_the_counts(report: Report) -> None:
    facts = report.facts
    assert facts["by_level"]["orange"] == 1
    (series,) = facts["indicators"]
    assert series["values"][-1] == 4.7
    assert len(series["values"]) == 7
    assert series["thresholds"] == {"blue": 2.0, "yellow": 3.0, "orange": 4.0, "red": 5.0}
    assert facts["by_unit"]["P1-CP"] == {"assigned": 1, "overdue": 1}
